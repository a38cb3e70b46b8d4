"""The cyclic garbage collector paused while the generator builds what stays alive: its modules, the spec, the render.

Importing the generator, loading a spec and rendering allocate objects that almost all live to the end of the process
(the import alone some 75,000: modules, classes, functions, pydantic's validators). The collector's passes over them
free almost nothing: with it running, a generation of the default app spent 65-75 ms of CPU in it (gen-0 passes every
700 allocations and gen-1 passes during the import, then a full pass while the spec loads: docs/performance.md).

`paused()` turns it off for a block and leaves it as it found it. At the end, what the block allocated is handed to the
oldest generation as it is (`gc.freeze()` then `gc.unfreeze()`: two list splices, no pass; not when a caller froze
objects of its own, which stay frozen), so the next young pass does not walk all of it at once and the full passes
come as rarely as before. The collector only decides when unreachable cycles are freed: what the program computes is
the same, and a cycle left by the block (an exception's traceback) is freed by a later pass."""
from __future__ import annotations

import gc


class paused:   # noqa: N801 - used as `with collector.paused():`, like a function
    """`with paused(): ...`: no collection inside the block (nested blocks included)."""

    __slots__ = ("collecting",)

    def __enter__(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *_exc: object) -> None:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if self.collecting:
            gc.enable()
