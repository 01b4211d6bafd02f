"""Pixels in and out of the engine: loading, sizes, masks and PNGs with parameters.

numpy and Pillow only (no torch), so the GUI and the CLI may use it before torch loads. Every
problem with a user's file becomes an `EditError` whose message says what is wrong with it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from ..errors import EditError

MAX_PIXELS = 100_000_000
"""Largest image accepted (100 megapixels); checked from the header, before decoding."""

PARAMS_KEY = "rfedit"


# -- loading -----------------------------------------------------------------------------------
def load_image(source: Any) -> np.ndarray:
    """Any image source -> HxWx3 (or HxWx4 with alpha) uint8, EXIF orientation applied.

    `source` is a path, the file's bytes, a PIL image or an array (HxW, HxWx1, HxWx3, HxWx4
    uint8). Palette, grey, CMYK, 16-bit and float modes are converted to 8-bit RGB(A).
    """
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, Image.Image):
        _check_size(source.width, source.height, "image")
        try:
            source.load()
            return _to_array(_to_srgb(_oriented(source)))
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise EditError(f"The image is truncated or damaged ({exc}).") from exc
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise EditError("The image data is empty (0 bytes).")
        return _decode(io.BytesIO(data), "the image data")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise EditError(f"Image file not found: {path}")
        if not path.is_file():
            raise EditError(f"Not a file: {path}")
        if path.stat().st_size == 0:
            raise EditError(f"The image file is empty (0 bytes): {path}")
        try:
            with open(path, "rb") as f:
                return _decode(f, str(path))
        except PermissionError as exc:
            raise EditError(f"No permission to read {path}") from exc
    raise EditError(
        f"Cannot read an image from a {type(source).__name__}; give a path, bytes, "
        "a PIL image or an HxWx3 uint8 array."
    )


def _check_size(width: int, height: int, what: str) -> None:
    if width < 1 or height < 1:
        raise EditError(f"The {what} has no pixels ({width}x{height}).")
    if width * height > MAX_PIXELS:
        raise EditError(
            f"The {what} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels."
        )


def _decode(fp: Any, name: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            # we apply our own, header-based limit below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp) as im:
                _check_size(im.width, im.height, f"image {name}")
                im.load()  # decode everything now: a truncated file fails here
                return _to_array(_to_srgb(_oriented(im)))
    except EditError:
        raise
    except Image.DecompressionBombError as exc:
        raise EditError(f"The image {name} is too large to open safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise EditError(f"{name} is not an image, or its format is not supported.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise EditError(f"The image {name} is truncated or damaged ({exc}).") from exc
    except Exception as exc:  # noqa: BLE001  (decoders raise many kinds; all mean a bad file)
        raise EditError(f"The image {name} could not be decoded ({exc}).") from exc


def _oriented(im: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:  # noqa: BLE001  (broken EXIF: keep the pixels as stored)
        return im


def _to_srgb(im: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (a phone's Display P3, a print CMYK) so colours match
    what other programs show; images without one are taken to be sRGB already."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(src) or "").lower().replace(" ", ""):
            return im
        dst = ImageCms.createProfile("sRGB")
        alpha = im.getchannel("A") if im.mode == "RGBA" else None
        base = im.convert("RGB") if alpha is not None else im
        out = ImageCms.profileToProfile(base, src, dst, outputMode="RGB")
        if out is None:
            return im
        if alpha is not None:
            out.putalpha(alpha)
        return out
    except Exception:  # noqa: BLE001  (a broken profile: use the pixels as stored)
        return im


def _to_array(im: Image.Image) -> np.ndarray:
    """8-bit RGB, or RGBA when the image carries transparency."""
    mode = im.mode
    if mode in ("RGB", "RGBA"):
        out = im
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        wide = np.asarray(im).astype(np.float64)
        grey = np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    elif mode == "F":
        values = np.nan_to_num(np.asarray(im, dtype=np.float64))
        if values.size and values.max() <= 1.0:
            values = values * 255.0  # a float image in [0, 1]
        grey = np.clip(np.round(values), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    elif mode in ("LA", "La", "PA", "RGBa") or (mode == "P" and "transparency" in im.info):
        out = im.convert("RGBA")
    elif mode == "L" and "transparency" in im.info:
        out = im.convert("RGBA")
    else:  # L, 1, P, CMYK, YCbCr, LAB, HSV
        out = im.convert("RGB")
    return np.array(out, dtype=np.uint8)


def _from_array(a: np.ndarray) -> np.ndarray:
    if a.dtype != np.uint8:
        raise EditError(f"Pixel arrays must be uint8 (0-255), got {a.dtype}.")
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise EditError(
            f"Pixel arrays must be HxW, HxWx3 or HxWx4, got shape {tuple(a.shape)}."
        )
    _check_size(a.shape[1], a.shape[0], "image")
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

    Accepts bool, uint8 (0-255) and float ([0, 1]) arrays of shape HxW or HxWx1, a path, or a
    PIL image (converted to grey; an image with alpha uses its alpha). With `exact` a mask of
    another size is refused instead of resized.
    """
    if isinstance(mask, (str, os.PathLike, bytes)):
        mask = _open_mask(mask)
    if isinstance(mask, Image.Image):
        if mask.mode in ("RGBA", "LA", "PA") or "transparency" in mask.info:
            mask = mask.convert("RGBA").getchannel("A")
        a = np.asarray(mask.convert("L"), dtype=np.float32) / 255.0
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


def _open_mask(source: Any) -> Image.Image:
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    elif not Path(source).is_file():
        raise EditError(f"Mask file not found: {source}")
    try:
        with Image.open(source) as im:
            _check_size(im.width, im.height, "mask")
            im.load()
            return im.copy()
    except EditError:
        raise
    except Exception as exc:  # noqa: BLE001  (any decoder failure means a bad mask file)
        raise EditError(f"The mask could not be read ({exc}).") from exc


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


def save_png(rgb: np.ndarray, path: str | os.PathLike[str], params: dict[str, Any]) -> Path:
    """Write a PNG carrying `params` as JSON (chunk `rfedit`) and as text (`parameters`).

    Written to a temporary file in the same folder and renamed, so a crash never leaves half a
    PNG where the user's file was.
    """
    pixels = load_image(rgb)
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMS_KEY, json.dumps(params, sort_keys=True, default=str))
    info.add_text("parameters", _readable(params))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise EditError(f"The folder {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(pixels).save(f, format="PNG", pnginfo=info)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise EditError(f"Could not write {path}: {exc}") from exc
    except BaseException:
        _remove(tmp)
        raise
    return path


def read_png_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parameters `save_png` stored; {} for a PNG without them."""
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


def _remove(p: str) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass
