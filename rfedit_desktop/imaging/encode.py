"""Pixels to the bytes of an image file, in memory: every writer then stores them atomically.

Encoding into memory first matters: Pillow's encoders ignore a short write, so an image saved
straight into a file on a full disk is silently truncated. `files.atomic_write` checks that
every byte landed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..errors import FileError

WRITE_FORMATS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
    ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
}
"""The file types rfedit writes, by suffix."""

_NO_ALPHA = ("JPEG", "BMP")


def format_for(path: str | os.PathLike[str], allowed: dict[str, str] = WRITE_FORMATS) -> str:
    """The Pillow format named by `path`'s suffix; FileError for a type rfedit does not write."""
    path = Path(path)
    fmt = allowed.get(path.suffix.lower())
    if fmt is None:
        kinds = ", ".join(sorted(allowed))
        raise FileError(f'Cannot write "{path.name}": give a file name ending in one of {kinds}.')
    return fmt


def encode_image(
    pixels: np.ndarray,
    fmt: str,
    *,
    quality: int | None = None,
    png_text: dict[str, str] | None = None,
    compress_level: int = 6,
) -> bytes:
    """HxWx3 or HxWx4 uint8 pixels as the bytes of a `fmt` file ("PNG", "JPEG", ...).

    JPEG and BMP have no alpha: give them RGB (flatten on a background first). `png_text`
    becomes PNG text chunks; `quality` applies to JPEG and WebP (Pillow's default if None).
    """
    from PIL import Image, PngImagePlugin  # on first use: start-up does not wait for Pillow

    a = np.ascontiguousarray(pixels)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected HxWx3 or HxWx4 uint8 pixels, got {a.dtype} {a.shape}")
    if fmt in _NO_ALPHA and a.shape[2] == 4:
        raise ValueError(f"{fmt} has no alpha channel: flatten the pixels first")
    kwargs: dict = {}
    if fmt == "PNG":
        kwargs["compress_level"] = compress_level
        if png_text:
            info = PngImagePlugin.PngInfo()
            for key, value in png_text.items():
                info.add_text(key, value)
            kwargs["pnginfo"] = info
    elif fmt in ("JPEG", "WEBP") and quality is not None:
        kwargs["quality"] = int(quality)
    buf = io.BytesIO()
    try:
        Image.fromarray(a).save(buf, format=fmt, **kwargs)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (an encoder refusing these pixels)
        raise FileError(f"Could not encode the image as {fmt} ({exc}).") from exc
    return buf.getvalue()
