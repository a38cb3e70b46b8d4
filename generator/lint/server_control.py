"""`python -m generator lint-server stop|status`: the control commands, sent to every lint server of this user
(generator/lint/server.py)."""
from __future__ import annotations

import json
from typing import Any

from generator.lint.server import Failed, connect, directory


def control(command: str) -> list[dict[str, Any]]:
    """Sends `command` ("stop" or "status") to every server of this user (any key); their answers. A socket nobody
    listens on any more is removed."""
    folder = directory()
    answers = []
    for path in sorted(folder.glob("*.sock")):
        try:
            sock = connect(path)
        except ConnectionRefusedError:
            path.unlink(missing_ok=True)
            continue
        except (OSError, Failed):
            continue
        try:
            sock.settimeout(10)
            with sock.makefile("rwb") as stream:
                stream.write(json.dumps({"control": command}).encode() + b"\n")
                stream.flush()
                line = stream.readline()
            answers.append({"socket": str(path), **json.loads(line)})
        except (OSError, ValueError):
            continue
        finally:
            sock.close()
    return answers
