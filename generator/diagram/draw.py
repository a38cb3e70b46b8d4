"""Writing the diagram: the SVG, and a PNG rendered from it with cairosvg (the `diagram` extra; it needs the
system's libcairo). The PNG carries the SVG's SHA-256 in a tEXt chunk, so a test can tell that a committed PNG was
rendered from the committed SVG without comparing pixels that differ between cairo versions."""
from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

from generator import atomic_file
from generator.diagram import model, svg
from generator.errors import OutputError, UsageError

PNG_KEY = b"Source-SVG-SHA256"
SCALE = 2          # the PNG at twice the SVG's size: sharp on a high-density screen and in a pull request


def svg_text(templates: Path) -> str:
    try:
        arch = model.read(templates)
    except FileNotFoundError as exc:
        raise UsageError([f"{templates}/: {exc}"]) from None
    return svg.render(arch, source=templates.name)


def write(templates: Path, output: Path, png: bool = True) -> list[Path]:
    if output.suffix != ".svg":
        raise UsageError([f"--output {output}: name an .svg file (the PNG is written beside it)"])
    text = svg_text(templates)
    written = []
    try:
        atomic_file.replace(output, text)
        written.append(output)
        if png:
            target = output.with_suffix(".png")
            atomic_file.replace(target, png_bytes(text))
            written.append(target)
    except OSError as exc:
        raise OutputError(f"{exc.filename or output}: cannot be written ({exc.strerror or exc}); "
                          f"{' and '.join(map(str, written)) or 'nothing'} written") from None
    return written


def png_bytes(text: str) -> bytes:
    try:
        import cairosvg
    except (ImportError, OSError) as exc:       # OSError: the package is there, libcairo is not
        raise UsageError([f"no PNG: cairosvg cannot be loaded ({exc}); pip install 'fargate-stacks[diagram]' (and "
                          "the system's libcairo2), or pass --no-png"]) from None
    raw = cairosvg.svg2png(bytestring=text.encode("utf-8"), scale=SCALE)
    return with_text_chunk(raw, PNG_KEY, hashlib.sha256(text.encode("utf-8")).hexdigest().encode("ascii"))


def with_text_chunk(png: bytes, key: bytes, value: bytes) -> bytes:
    """`png` with a tEXt chunk (key, value) just before IEND."""
    end = png.rindex(b"IEND") - 4
    data = key + b"\0" + value
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:end] + chunk + png[end:]


def text_chunks(png: bytes) -> dict[bytes, bytes]:
    """The tEXt chunks of a PNG."""
    chunks, at = {}, 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"tEXt":
            key, _, value = png[at + 8:at + 8 + length].partition(b"\0")
            chunks[key] = value
        at += 12 + length
    return chunks
