"""Pixels in and out: numpy <-> QImage conversions and ordinary image files.

Layers are QImage ARGB32_Premultiplied (what QPainter composites fastest). In memory that
format is one 32-bit word per pixel, so its *byte* order depends on the machine: B, G, R, A on
little-endian. Everything handed to other code (the engine, Pillow, files) is straight-alpha
RGBA in byte order R, G, B, A. The conversions below are exact: premultiply(unpremultiply(p))
gives back p for every valid premultiplied pixel, so a save/load round trip loses nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from ..errors import FileError
from ..files.atomic import atomic_write
from ..imaging.decode import decode_image, with_alpha
from ..imaging.encode import encode_image
from .errors import DocumentError
from .limits import MAX_PIXELS, MAX_SIDE, check_size

FORMAT = QImage.Format.Format_ARGB32_Premultiplied
"""The one pixel format of every layer and composite tile."""

# Index of R, G, B, A inside a pixel's 4 bytes for FORMAT on this machine.
if sys.byteorder == "little":
    NATIVE_RGBA: tuple[int, int, int, int] = (2, 1, 0, 3)
else:  # pragma: no cover - no big-endian machine in CI
    NATIVE_RGBA = (1, 2, 3, 0)

EXPORT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
OPEN_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


def new_image(width: int, height: int, fill: QColor | None = None) -> QImage:
    """A layer-format image, transparent unless `fill` is given."""
    img = QImage(width, height, FORMAT)
    if img.isNull():
        raise DocumentError(f"Not enough memory for a {width}x{height} image.")
    if fill is None:
        img.fill(0)
    else:
        img.fill(fill)
    return img


def fit_smoothly(image: QImage, side: int) -> QImage:
    """`image` fitted into side × side, smooth, for a thumbnail: a 12-megapixel photo is first
    sampled down to four times that (a smooth scale of all its pixels takes ~100 ms)."""
    keep = Qt.AspectRatioMode.KeepAspectRatio
    if max(image.width(), image.height()) > 4 * side:
        image = image.scaled(4 * side, 4 * side, keep, Qt.TransformationMode.FastTransformation)
    return image.scaled(side, side, keep, Qt.TransformationMode.SmoothTransformation)


def native_view(img: QImage) -> np.ndarray:
    """A writable HxWx4 uint8 view of a FORMAT image's pixels, channels in NATIVE_RGBA order.

    Calling this detaches the image from any shallow copy first (QImage.bits()), so writes
    never leak into another QImage. Take a fresh view per operation; do not keep it across
    calls that may replace or copy the image.
    """
    if img.format() != FORMAT:
        raise ValueError(f"expected ARGB32_Premultiplied, got {img.format()}")
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.bits(), dtype=np.uint8, count=h * bpl)
    return buf.reshape(h, bpl)[:, : w * 4].reshape(h, w, 4)


def const_view(img: QImage) -> np.ndarray:
    """A read-only HxWx4 view like `native_view`, without detaching a shared image (no copy
    of pixels that the undo history also holds)."""
    if img.format() != FORMAT:
        raise ValueError(f"expected ARGB32_Premultiplied, got {img.format()}")
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl)
    return buf.reshape(h, bpl)[:, : w * 4].reshape(h, w, 4)


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """Straight RGBA uint8 -> premultiplied RGBA uint8 (round to nearest, exact)."""
    a = rgba[..., 3:4].astype(np.uint32)
    out = np.empty_like(rgba)
    out[..., :3] = (rgba[..., :3].astype(np.uint32) * a + 127) // 255
    out[..., 3] = rgba[..., 3]
    return out


def unpremultiply(rgba: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA uint8 -> straight RGBA uint8 (colour of fully transparent = 0)."""
    a = rgba[..., 3:4].astype(np.uint32)
    safe = np.maximum(a, 1)
    c = (rgba[..., :3].astype(np.uint32) * 255 + safe // 2) // safe
    out = np.empty_like(rgba)
    out[..., :3] = np.where(a > 0, np.minimum(c, 255), 0)
    out[..., 3] = rgba[..., 3]
    return out


def _rgba_view(img: QImage) -> np.ndarray:
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl)
    return buf.reshape(h, bpl)[:, : w * 4].reshape(h, w, 4)


def qimage_to_array(img: QImage, straight: bool = True) -> np.ndarray:
    """A copy of `img` as HxWx4 RGBA uint8, straight alpha unless `straight=False`.

    Qt's SIMD conversion does the unpremultiplying (30x faster than numpy on a 4096x4096
    layer). Its rounding may differ by one from round-to-nearest, but premultiplying the result
    again gives back exactly the original pixels (tested), which is what round trips need.
    """
    if img.isNull():
        return np.zeros((0, 0, 4), np.uint8)
    fmt = QImage.Format.Format_RGBA8888 if straight else QImage.Format.Format_RGBA8888_Premultiplied
    converted = img.convertToFormat(fmt)
    return _rgba_view(converted).copy()


def array_to_qimage(arr: np.ndarray, premultiplied: bool = False) -> QImage:
    """HxW (grey), HxWx3 (opaque) or HxWx4 RGBA uint8 -> a new FORMAT QImage owning its pixels.

    `premultiplied` says whether a 4-channel input is already premultiplied.
    """
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise DocumentError(f"Image pixels must be uint8, got {arr.dtype}.")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise DocumentError(f"Image pixels must be HxW, HxWx3 or HxWx4, got {arr.shape}.")
    h, w = arr.shape[:2]
    check_size(w, h, "The image")
    arr = np.ascontiguousarray(arr)
    if arr.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif premultiplied:
        fmt = QImage.Format.Format_RGBA8888_Premultiplied
    else:
        fmt = QImage.Format.Format_RGBA8888
    wrapped = QImage(arr.data, w, h, w * arr.shape[2], fmt)  # borrows arr's buffer
    img = wrapped.convertToFormat(FORMAT)  # a copy that owns its pixels
    del wrapped
    if img.isNull():
        raise DocumentError(f"Not enough memory for a {w}x{h} image.")
    return img


def color_to_native(color: QColor) -> np.ndarray:
    """A QColor as a premultiplied float32 pixel (4,) in NATIVE_RGBA byte order, 0..255."""
    a = color.alphaF()
    rgba = [color.redF() * a * 255, color.greenF() * a * 255, color.blueF() * a * 255, a * 255]
    out = np.zeros(4, np.float32)
    for i, ch in enumerate(NATIVE_RGBA):
        out[ch] = rgba[i]
    return out


def read_image_array(path: str | Path) -> np.ndarray:
    """Read PNG/JPEG/WebP/TIFF/BMP as HxWx4 straight RGBA uint8, decoded by `imaging.decode`
    exactly as the engine and the CLI decode it (EXIF orientation, colour profile to sRGB,
    16-bit and float greys scaled), within the sizes a layer can hold. Any problem is one
    DocumentError naming the file."""
    try:
        pixels = decode_image(Path(path), max_pixels=MAX_PIXELS, max_side=MAX_SIDE)
    except FileError as e:
        raise DocumentError(str(e)) from e
    return with_alpha(pixels)


def read_image(path: str | Path) -> QImage:
    """An image file as a layer-format QImage (see read_image_array for the checks)."""
    return array_to_qimage(read_image_array(path))


def export_image(
    document,
    path: str | Path,
    quality: int = 92,
    background: QColor | None = None,
) -> None:
    """Write the flattened visible image (no mask) as PNG, JPEG or WebP, chosen by suffix.

    JPEG has no alpha: transparent areas are put on `background` (white when not given).
    Written atomically: a failure leaves any existing file as it was.
    """
    path = Path(path)
    fmt = EXPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DocumentError(f'Cannot export "{path.name}": use a .png, .jpg or .webp file name.')
    rgba = qimage_to_array(document.composite(), straight=True)
    if fmt == "JPEG":
        bg = background or QColor(255, 255, 255)
        a = rgba[..., 3:4].astype(np.float32) / 255
        bgv = np.array([bg.red(), bg.green(), bg.blue()], np.float32)
        rgb = rgba[..., :3].astype(np.float32) * a + bgv * (1 - a)
        pixels = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    else:
        pixels = rgba
    try:
        atomic_write(path, encode_image(pixels, fmt, quality=quality))
    except FileError as e:
        raise DocumentError(str(e)) from e
