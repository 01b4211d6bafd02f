"""The one decoder of image files: the CLI, the engine and the window see the same pixels.

Pillow opens the file; the size in its header is checked before any pixel is decoded; EXIF
orientation is applied; an embedded colour profile is converted to sRGB; every Pillow mode
(palette, grey, CMYK, 16-bit, float, premultiplied) becomes 8-bit RGB, or RGBA when the image
carries transparency. Every problem becomes one FileError naming the file.

numpy and Pillow only (no torch, no Qt), so every layer may use it.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FileError

if TYPE_CHECKING:
    from PIL import Image

MAX_PIXELS = 100_000_000
"""Largest image decoded unless the caller allows more (100 megapixels)."""

_WIDE_GREY = ("I", "I;16", "I;16L", "I;16B", "I;16N")
_WITH_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")  # not LAB, whose "A" is a colour axis


def decode_image(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | Image.Image,
    *,
    max_pixels: int = MAX_PIXELS,
    max_side: int | None = None,
) -> np.ndarray:
    """A path, the file's bytes or a PIL image -> HxWx3 (HxWx4 with transparency) uint8 sRGB.

    `max_pixels` and `max_side` are the caller's limits (the window's are QImage's), checked
    from the header before decoding.
    """
    from PIL import Image  # imported on first use: the window's first frame does not wait

    if isinstance(source, Image.Image):
        return _decode_opened(source, "The image", max_pixels, max_side)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise FileError("The image data is empty (0 bytes).")
        return _decode_file(io.BytesIO(data), "The image data", max_pixels, max_side)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = f'"{path.name or path}"'
        try:
            if not path.exists():
                raise FileError(f"{name} does not exist.")
            if path.is_dir():
                raise FileError(f"{name} is a folder, not an image file.")
            if path.stat().st_size == 0:
                raise FileError(f"{name} is empty (0 bytes).")
            with open(path, "rb") as f:
                return _decode_file(f, name, max_pixels, max_side)
        except PermissionError as exc:
            raise FileError(f"{name} cannot be read (permission denied).") from exc
        except OSError as exc:  # e.g. an I/O error of a failing disk while opening
            raise FileError(f"{name} cannot be read ({exc.strerror or exc}).") from exc
    raise FileError(f"Cannot read an image from a {type(source).__name__}.")


def check_header_size(
    width: int, height: int, name: str, max_pixels: int = MAX_PIXELS, max_side: int | None = None
) -> None:
    """FileError for an image with no pixels or more than the limits allow."""
    if width < 1 or height < 1:
        raise FileError(f"{name} has no pixels ({width}x{height}).")
    if max_side is not None and max(width, height) > max_side:
        raise FileError(f"{name} is {width}x{height} pixels; rfedit opens at most {max_side} "
                        "pixels per side.")
    if width * height > max_pixels:
        raise FileError(
            f"{name} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); the "
            f"limit is {max_pixels / 1e6:.0f} megapixels."
        )


def _decode_file(fp: Any, name: str, max_pixels: int, max_side: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our limit applies
            with Image.open(fp) as im:
                return _decode_opened(im, name, max_pixels, max_side)
    except FileError:
        raise
    except Image.DecompressionBombError as exc:
        raise FileError(f"{name} is too large to open safely ({exc}).") from exc
    except UnidentifiedImageError as exc:
        raise FileError(f"{name} is not an image, or not in a format rfedit reads.") from exc
    except Exception as exc:  # noqa: BLE001  (decoders raise many kinds; all mean a bad file)
        raise FileError(f"{name} is truncated or damaged ({exc}).") from exc


def _decode_opened(im: Image.Image, name: str, max_pixels: int, max_side: int | None) -> np.ndarray:
    check_header_size(im.width, im.height, name, max_pixels, max_side)
    try:
        im.load()  # decode everything now: a truncated file fails here
        return to_array(to_srgb(_oriented(im)))
    except MemoryError as exc:
        raise FileError(f"Not enough memory to open {name}.") from exc
    except Exception as exc:  # noqa: BLE001
        raise FileError(f"{name} is truncated or damaged ({exc}).") from exc


def _oriented(im: Image.Image) -> Image.Image:
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:  # noqa: BLE001  (broken EXIF: keep the pixels as stored)
        return im


def to_srgb(im: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (a phone's Display P3, a print CMYK), so colours match
    what other programs show. Images without one are taken to be sRGB; a profile Pillow cannot
    read is not worth refusing the picture for, so its pixels are kept as stored."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(src) or "").lower().replace(" ", ""):
            return im
        alpha = im.getchannel("A") if im.mode == "RGBA" else None
        base = im.convert("RGB") if alpha is not None else im
        out = ImageCms.profileToProfile(base, src, ImageCms.createProfile("sRGB"),
                                        outputMode="RGB")
        if out is None:
            return im
        if alpha is not None:
            out.putalpha(alpha)
        return out
    except Exception:  # noqa: BLE001
        return im


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(values, 0.0, 255.0) + 0.5).astype(np.uint8)


def to_array(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> HxWx3 uint8 RGB, or HxWx4 straight RGBA when it has transparency.

    Greys wider than 8 bits are scaled, not clipped (Pillow's own convert() turns most of a
    16-bit image white): 16-bit and 32-bit integer greys map 0..65535 to 0..255. Float greys
    in [0, 1] are scaled by 255, others taken as 0..255; NaN is black, infinities clip.
    """
    mode = im.mode
    if mode in _WIDE_GREY or mode == "F":
        v = np.asarray(im, dtype=np.float64)
        if mode == "F":
            finite = v[np.isfinite(v)]
            top = float(finite.max()) if finite.size else 0.0
            v = np.where(np.isnan(v), 0.0, v) * (255.0 if top <= 1.0 else 1.0)
        else:
            v = v / 257.0
        grey = _to_uint8(v)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if mode == "La":  # premultiplied grey: Pillow un-premultiplies only towards LA
        im, mode = im.convert("LA"), "LA"
    if mode in _WITH_ALPHA or "transparency" in im.info:
        return np.array(im.convert("RGBA"), dtype=np.uint8)
    return np.array(im if mode == "RGB" else im.convert("RGB"), dtype=np.uint8)


def with_alpha(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 or HxWx4 uint8 -> HxWx4 (opaque where there was no alpha)."""
    if pixels.shape[2] == 4:
        return pixels
    alpha = np.full(pixels.shape[:2] + (1,), 255, np.uint8)
    return np.concatenate([pixels, alpha], axis=2)
