"""Pixels in and out of the engine: loading, sizes, masks and PNGs with parameters.

numpy and Pillow only (no torch), so the GUI and the CLI may use it before torch loads. Every
problem with a user's file becomes an `EditError` whose message says what is wrong with it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import EditError
from ..files.atomic import atomic_write
from ..imaging.decode import MAX_PIXELS, check_header_size, decode_image
from ..imaging.encode import encode_image, format_for

PARAMS_KEY = "rfedit"


# -- loading -----------------------------------------------------------------------------------
def load_image(source: Any) -> np.ndarray:
    """Any image source -> HxWx3 (or HxWx4 with alpha) uint8, EXIF orientation applied.

    `source` is a path, the file's bytes or a PIL image (decoded by `imaging.decode`, as the
    window does), or an array (HxW, HxWx1, HxWx3, HxWx4 uint8).
    """
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)):
        return decode_image(source, max_pixels=MAX_PIXELS)
    raise EditError(
        f"Cannot read an image from a {type(source).__name__}; give a path, bytes, "
        "a PIL image or an HxWx3 uint8 array."
    )


def _from_array(a: np.ndarray) -> np.ndarray:
    if a.dtype != np.uint8:
        raise EditError(f"Pixel arrays must be uint8 (0-255), got {a.dtype}.")
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise EditError(
            f"Pixel arrays must be HxW, HxWx3 or HxWx4, got shape {tuple(a.shape)}."
        )
    check_header_size(a.shape[1], a.shape[0], "The image", MAX_PIXELS)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.array(a, dtype=np.uint8, order="C", copy=True)


def flatten_alpha(
    rgba: np.ndarray, background: Sequence[int] = (255, 255, 255)
) -> np.ndarray:
    """Composite RGBA over a solid colour -> RGB (exact integer rounding); RGB passes through."""
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        raise EditError(f"Expected HxWx3 or HxWx4 pixels, got shape {tuple(rgba.shape)}.")
    if rgba.shape[2] == 3:
        return rgba.copy()
    bg = np.asarray(background, dtype=np.int64).reshape(-1)
    if bg.shape != (3,) or (bg < 0).any() or (bg > 255).any():
        raise EditError(f"Background must be three values 0-255, got {background!r}.")
    rgb = rgba[..., :3].astype(np.int64)
    a = rgba[..., 3:4].astype(np.int64)
    out = (rgb * a + bg * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def image_digest(array: np.ndarray) -> str:
    """Content hash of pixels, including shape and dtype (same bytes, other shape: other hash)."""
    a = np.ascontiguousarray(array)
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(a.tobytes())
    return h.hexdigest()


# -- sizes ------------------------------------------------------------------------------------
def fit_size(height: int, width: int, max_pixels: int, multiple: int = 16) -> tuple[int, int]:
    """The model's working size: aspect ratio kept, each side a multiple of `multiple`, area at
    most `max_pixels`.

    Only ever shrinks (each side floors to the multiple), except that a side never goes below
    one `multiple`; very thin images get their long side cut so the area stays in budget.
    """
    if height < 1 or width < 1:
        raise EditError(f"Image size must be positive, got {height}x{width}.")
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    if max_pixels < multiple * multiple:
        raise EditError(
            f"A pixel budget of {max_pixels} is below one {multiple}x{multiple} tile."
        )
    scale = min(1.0, math.sqrt(max_pixels / (height * width)))

    def snap(side: float) -> int:
        return max(multiple, int(side * (1 + 1e-12)) // multiple * multiple)

    h, w = snap(height * scale), snap(width * scale)
    if h * w > max_pixels:  # a side was raised to one multiple: trim the other
        if h == multiple:
            w = max(multiple, max_pixels // h // multiple * multiple)
        else:
            h = max(multiple, max_pixels // w // multiple * multiple)
    return h, w


def _size_arg(size: Any, width: int | None) -> tuple[int, int]:
    if width is not None:
        return int(size), int(width)
    h, w = size
    return int(h), int(w)


def _resize(a: np.ndarray, height: int, width: int) -> np.ndarray:
    if height < 1 or width < 1:
        raise EditError(f"Cannot resize to {height}x{width}.")
    if a.shape[:2] == (height, width):
        return a.copy()
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] in (3, 4):
        im = Image.fromarray(np.ascontiguousarray(a))  # RGB or RGBA from the channel count
        return np.asarray(im.resize((width, height), Image.Resampling.LANCZOS)).copy()
    if a.ndim == 2:  # a mask or any single-channel array: resize in float, no ringing
        lo, hi = float(np.min(a)), float(np.max(a))
        im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32))  # mode F
        out = np.asarray(im.resize((width, height), Image.Resampling.LANCZOS))
        return np.clip(out, lo, hi).astype(a.dtype if a.dtype.kind == "f" else np.float32)
    raise EditError(f"Cannot resize an array of shape {a.shape} and dtype {a.dtype}.")


def to_model_size(rgb: np.ndarray, size: Any, width: int | None = None) -> np.ndarray:
    """Lanczos resize to the model's size: `to_model_size(rgb, (h, w))` or `(rgb, h, w)`.

    Works on HxWx3/4 uint8 pixels and on HxW float masks (clipped to their input range).
    """
    h, w = _size_arg(size, width)
    return _resize(rgb, h, w)


def back_to_size(rgb: np.ndarray, size: Any, width: int | None = None) -> np.ndarray:
    """Lanczos resize of a result back to the input's size: `(rgb, (h, w))` or `(rgb, h, w)`."""
    h, w = _size_arg(size, width)
    return _resize(rgb, h, w)


# -- masks ------------------------------------------------------------------------------------
def prepare_mask(mask: Any, height: int, width: int, exact: bool = False) -> np.ndarray:
    """A user mask -> HxW float32 in [0, 1] at the given size (1 = may change).

    Accepts bool, uint8 (0-255) and float ([0, 1]) arrays of shape HxW or HxWx1, or a path,
    the file's bytes or a PIL image (decoded like any image; an image with alpha gives its
    alpha, any other its grey). With `exact` a mask of
    another size is refused instead of resized.
    """
    if isinstance(mask, (str, os.PathLike, bytes, Image.Image)):
        try:
            a = _mask_values(load_image(mask))
        except EditError as exc:
            raise EditError(f"The mask could not be read: {exc}") from exc
    elif isinstance(mask, np.ndarray):
        a = mask[..., 0] if mask.ndim == 3 and mask.shape[2] == 1 else mask
        if a.ndim != 2:
            raise EditError(f"A mask must be HxW, got shape {tuple(mask.shape)}.")
        if a.dtype == np.bool_:
            a = a.astype(np.float32)
        elif a.dtype == np.uint8:
            a = a.astype(np.float32)
            a /= 255.0
        elif a.dtype.kind == "f":
            a = a.astype(np.float32)
            if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
                raise EditError("A float mask must hold finite values in [0, 1].")
        else:
            raise EditError(f"A mask must be bool, uint8 or float, got {a.dtype}.")
    else:
        raise EditError(f"Cannot use a {type(mask).__name__} as a mask.")
    if a.size == 0:
        raise EditError("The mask is empty.")
    if exact and a.shape != (height, width):
        raise EditError(f"The mask is {a.shape[1]}×{a.shape[0]} pixels but the image is "
                        f"{width}×{height}; give a mask of the image's size.")
    if a.shape == (height, width):
        return a  # a fresh float32 array in [0, 1] from every branch above
    return np.clip(_resize(a, height, width), 0.0, 1.0).astype(np.float32)


def _mask_values(pixels: np.ndarray) -> np.ndarray:
    """A decoded mask image -> HxW float32: its alpha if it has one, else its grey (luma)."""
    if pixels.shape[2] == 4:
        return pixels[..., 3].astype(np.float32) / 255.0
    grey = np.asarray(Image.fromarray(pixels).convert("L"), dtype=np.float32)
    return grey / 255.0


def feather(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """Soften a mask's edges with a Gaussian blur (sigma = radius / 2), float32 in [0, 1]."""
    if radius_px < 0 or not math.isfinite(radius_px):
        raise EditError(f"Feather radius must be >= 0, got {radius_px!r}.")
    m = np.asarray(mask, dtype=np.float32)
    if m.ndim != 2:
        raise EditError(f"A mask must be HxW, got shape {tuple(m.shape)}.")
    if radius_px == 0:
        return m.copy()
    sigma = radius_px / 2.0
    half = max(1, math.ceil(3 * sigma))
    x = np.arange(-half, half + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    out = m.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (half, half)
        padded = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        n = out.shape[axis]
        for k, wk in enumerate(kernel):
            acc += wk * (padded[k : k + n] if axis == 0 else padded[:, k : k + n])
        out = acc
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# -- PNG with parameters ------------------------------------------------------------------------
def _readable(params: dict[str, Any]) -> str:
    lines = []
    for k in sorted(params):
        v = params[k]
        lines.append(f"{k}: {v if isinstance(v, str) else json.dumps(v, default=str)}")
    return "\n".join(lines)


def save_image(pixels: np.ndarray, path: str | os.PathLike[str], params: dict[str, Any]) -> Path:
    """Write a result as PNG, JPEG, WebP, TIFF or BMP (by suffix); a PNG carries `params` as
    JSON (chunk `rfedit`) and as text (`parameters`).

    Encoded in memory, then written by `atomic_write`: a full disk or a crash never leaves half
    a file where the user's file was. FileError (an EditError) says what went wrong.
    """
    fmt = format_for(path)
    rgb = load_image(pixels)
    if fmt in ("JPEG", "BMP"):
        rgb = flatten_alpha(rgb)
    text = None
    if fmt == "PNG":
        text = {PARAMS_KEY: json.dumps(params, sort_keys=True, default=str),
                "parameters": _readable(params)}
    atomic_write(path, encode_image(rgb, fmt, png_text=text))
    return Path(path)


def read_png_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parameters `save_image` stored in a PNG; {} for a PNG without them."""
    try:
        with Image.open(path) as im:
            im.load()
            text = dict(getattr(im, "text", {}) or {})
    except FileNotFoundError as exc:
        raise EditError(f"File not found: {path}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise EditError(f"Cannot read {path}: {exc}") from exc
    raw = text.get(PARAMS_KEY)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EditError(f"The parameters stored in {path} are not valid JSON.") from exc
    return value if isinstance(value, dict) else {}

