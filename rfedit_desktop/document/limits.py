"""Size limits that keep a hostile or broken file from exhausting memory.

One place so the image reader, the OpenRaster reader and new-document dialogs agree.
"""

from __future__ import annotations

MAX_SIDE = 32_000
"""Largest width or height of a document or layer (QImage handles up to 32767)."""

MAX_PIXELS = 150_000_000
"""Largest width x height of one image (about 600 MB as premultiplied ARGB32)."""

MAX_ORA_UNCOMPRESSED = 4 * 1024**3
"""Largest total of declared uncompressed sizes in an OpenRaster zip."""

MAX_MEMBER_BYTES = 1024**3
"""Largest single member we read out of a zip; reading stops past it."""

MAX_RATIO = 100
"""Largest compression ratio of a zip member over 1 MB: PNGs hardly compress and stack.xml is
small, so a member that shrinks 100:1 is a zip bomb, not a picture."""


def check_size(width: int, height: int, what: str) -> None:
    """Raise DocumentError when an image of this size is empty or too large to open safely."""
    from .errors import DocumentError

    if width <= 0 or height <= 0:
        raise DocumentError(f"{what} has an empty size ({width}x{height}).")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise DocumentError(
            f"{what} is {width}x{height} pixels, larger than rfedit opens "
            f"(at most {MAX_SIDE} per side and {MAX_PIXELS // 1_000_000} megapixels)."
        )
