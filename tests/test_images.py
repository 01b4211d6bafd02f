"""Image loading, sizes, masks and parameter PNGs, including every kind of bad file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from rfedit_desktop.engine import images
from rfedit_desktop.errors import EditError


def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def noise_image(h=48, w=64, mode="RGB", seed=0) -> Image.Image:
    a = np.random.default_rng(seed).integers(0, 256, (h, w, len(mode)), dtype=np.uint8)
    return Image.fromarray(a)  # RGB or RGBA from the channel count


# -- sources -----------------------------------------------------------------------------------
def test_sources_path_bytes_pil_array_agree(tmp_path):
    im = noise_image()
    p = tmp_path / "a.png"
    p.write_bytes(png_bytes(im))
    expected = np.asarray(im)
    for source in (p, str(p), p.read_bytes(), im, expected):
        got = images.load_image(source)
        assert got.dtype == np.uint8 and got.shape == (48, 64, 3)
        assert np.array_equal(got, expected)
    assert images.load_image(expected) is not expected  # a copy, never the caller's array


def test_rgba_keeps_alpha_and_grey_arrays_expand():
    im = noise_image(mode="RGBA")
    got = images.load_image(png_bytes(im))
    assert got.shape == (48, 64, 4) and np.array_equal(got, np.asarray(im))
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = images.load_image(grey)
    assert out.shape == (3, 4, 3) and np.array_equal(out[..., 1], grey)
    assert images.load_image(grey[..., None]).shape == (3, 4, 3)


def test_bad_arrays_and_types():
    with pytest.raises(EditError, match="uint8"):
        images.load_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(EditError, match="HxWx3"):
        images.load_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(EditError, match="HxWx3"):
        images.load_image(np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(EditError, match="no pixels"):
        images.load_image(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(EditError, match="Cannot read an image from a int"):
        images.load_image(42)


# -- alpha and sizes ---------------------------------------------------------------------------
def test_flatten_alpha_is_exact():
    rgba = np.array([[[200, 100, 0, 0], [200, 100, 0, 255], [200, 100, 0, 128]]], np.uint8)
    out = images.flatten_alpha(rgba, (0, 0, 255))
    assert out.shape == (1, 3, 3)
    assert out[0, 0].tolist() == [0, 0, 255] and out[0, 1].tolist() == [200, 100, 0]
    assert out[0, 2].tolist() == [100, 50, 127]  # (200*128 + 127) // 255 etc.
    rgb = np.zeros((2, 2, 3), np.uint8)
    assert np.array_equal(images.flatten_alpha(rgb), rgb)
    with pytest.raises(EditError, match="Background"):
        images.flatten_alpha(rgba, (0, 0, 300))


@pytest.mark.parametrize(
    "h,w,budget",
    [(1024, 1024, 1_000_000), (3000, 2000, 1_048_576), (768, 1344, 2_000_000),
     (4000, 100, 500_000), (100, 60, 1_000_000), (1, 100_000, 262_144), (5, 5, 1_000_000)],
)
def test_fit_size(h, w, budget):
    fh, fw = images.fit_size(h, w, budget)
    assert fh % 16 == 0 and fw % 16 == 0 and fh >= 16 and fw >= 16
    assert fh * fw <= budget
    if h >= 16 and w >= 16:
        assert fh <= h and fw <= w  # never upscales
        if min(h, w) >= 160:
            assert abs(fh / fw - h / w) / (h / w) < 0.05  # aspect ratio kept


def test_fit_size_values():
    assert images.fit_size(1024, 1024, 1 << 20) == (1024, 1024)
    assert images.fit_size(1024, 1024, 1_000_000) == (992, 992)
    assert images.fit_size(100, 60, 10**6) == (96, 48)
    assert images.fit_size(5, 5, 10**6) == (16, 16)
    assert images.fit_size(512, 512, 10**6, multiple=64) == (512, 512)
    with pytest.raises(EditError, match="budget"):
        images.fit_size(100, 100, 100)


def test_resize_both_signatures_and_masks():
    im = np.full((30, 50, 3), 77, np.uint8)
    a = images.to_model_size(im, (16, 32))
    b = images.to_model_size(im, 16, 32)
    assert a.shape == (16, 32, 3) and np.array_equal(a, b) and (a == 77).all()
    assert images.back_to_size(a, 30, 50).shape == (30, 50, 3)
    assert images.back_to_size(a, (30, 50)).shape == (30, 50, 3)
    rgba = np.zeros((30, 50, 4), np.uint8)
    assert images.to_model_size(rgba, 16, 16).shape == (16, 16, 4)
    mask = np.zeros((30, 50), np.float32)
    mask[:, 25:] = 1.0
    small = images.to_model_size(mask, 16, 32)
    assert small.dtype == np.float32 and small.min() >= 0 and small.max() <= 1
    assert small[:, :10].max() < 0.05 and small[:, 22:].min() > 0.95


# -- masks -------------------------------------------------------------------------------------
def test_prepare_mask_inputs():
    base = np.zeros((4, 6), np.float32)
    base[:, 3:] = 1
    for m in (base > 0.5, (base * 255).astype(np.uint8), base, base[..., None],
              Image.fromarray((base * 255).astype(np.uint8))):
        out = images.prepare_mask(m, 4, 6)
        assert out.dtype == np.float32 and out.shape == (4, 6)
        assert np.array_equal(out, base)
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[:, 3:, 3] = 255
    assert np.array_equal(images.prepare_mask(Image.fromarray(rgba), 4, 6), base)
    big = images.prepare_mask(base, 8, 12)
    assert big.shape == (8, 12) and big[:, :4].max() < 0.05 and big[:, 8:].min() > 0.95


def test_sixteen_bit_and_rotated_mask_files_are_decoded_like_images(tmp_path):
    """A mask file goes through the image decoder: a 16-bit mask is scaled (Pillow's own
    convert("L") clips it to white) and EXIF orientation turns it like its photo."""
    deep = np.zeros((4, 6), np.uint16)
    deep[:, 3:] = 30000  # a 46 % mask in 16 bits
    Image.fromarray(deep).save(tmp_path / "deep.png")
    got = images.prepare_mask(tmp_path / "deep.png", 4, 6)
    assert got[:, :3].max() == 0 and np.allclose(got[:, 3:], 117 / 255)
    top = np.zeros((6, 4), np.uint8)
    top[:3] = 255  # white on top as stored; EXIF 6 turns the top to the right
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(top).save(tmp_path / "rot.jpg", exif=exif, quality=100)
    turned = images.prepare_mask(tmp_path / "rot.jpg", 4, 6)
    assert turned[:, 4:].min() > 0.9 and turned[:, :2].max() < 0.1


def test_prepare_mask_from_file(tmp_path):
    p = tmp_path / "m.png"
    Image.new("L", (6, 4), 255).save(p)
    assert (images.prepare_mask(p, 4, 6) == 1).all()
    with pytest.raises(EditError, match="mask.*does not exist"):
        images.prepare_mask(tmp_path / "none.png", 4, 6)
    (tmp_path / "bad.png").write_text("no")
    with pytest.raises(EditError, match="could not be read"):
        images.prepare_mask(tmp_path / "bad.png", 4, 6)


@pytest.mark.parametrize(
    "mask,match",
    [(np.full((4, 4), 1.5, np.float32), r"\[0, 1\]"), (np.full((4, 4), np.nan), r"\[0, 1\]"),
     (np.zeros((4, 4, 3), np.uint8), "HxW"), (np.zeros((4, 4), np.int32), "bool, uint8"),
     ("x" * 3, "does not exist"), (3.0, "Cannot use")],
)
def test_bad_masks(mask, match):
    with pytest.raises(EditError, match=match):
        images.prepare_mask(mask, 4, 4)


def test_feather():
    m = np.zeros((40, 40), np.float32)
    m[:, 20:] = 1
    assert np.array_equal(images.feather(m, 0), m)
    f = images.feather(m, 6)
    assert f.dtype == np.float32 and f.shape == m.shape
    row = f[20]
    assert np.all(np.diff(row) >= -1e-7)  # a monotone ramp across the edge
    assert row[0] == 0 and row[-1] == 1  # far from the edge nothing changes
    assert 0.3 < row[19] < 0.5 and 0.5 < row[20] < 0.7
    assert f.sum() == pytest.approx(m.sum(), rel=1e-3)
    with pytest.raises(EditError, match="radius"):
        images.feather(m, -1)


# -- PNG parameters ----------------------------------------------------------------------------
def test_save_image_png_round_trip(tmp_path):
    rgb = np.asarray(noise_image(8, 12))
    params = {"prompt": "a café at night ☕", "steps": 28, "eta": 0.9, "window": [0, 0.25],
              "seed": 7, "has_mask": False}
    p = tmp_path / "out.png"
    assert images.save_image(rgb, p, params) == p
    assert images.read_png_params(p) == params
    with Image.open(p) as im:
        assert np.array_equal(np.asarray(im), rgb)
        assert "steps: 28" in im.text["parameters"]
        assert "prompt: a café at night ☕" in im.text["parameters"]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.png"]  # no temporary leftovers
    rgba = np.asarray(noise_image(8, 12, "RGBA"))
    images.save_image(rgba, p, {"a": 1})  # replaces the file atomically
    assert images.read_png_params(p) == {"a": 1}
    assert images.load_image(p).shape == (8, 12, 4)


@pytest.mark.parametrize(("suffix", "fmt"), [(".jpg", "JPEG"), (".webp", "WEBP"),
                                             (".tif", "TIFF"), (".bmp", "BMP")])
def test_save_image_other_formats(tmp_path, suffix, fmt):
    rgba = np.asarray(noise_image(8, 12, "RGBA"))
    p = tmp_path / f"out{suffix}"
    images.save_image(rgba, p, {"a": 1})
    with Image.open(p) as im:
        assert im.format == fmt and im.size == (12, 8)
    assert sorted(x.name for x in tmp_path.iterdir()) == [p.name]
    assert (p.stat().st_mode & 0o777) == 0o666 & ~_umask()  # not mkstemp's 0600


def _umask() -> int:
    import os

    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def test_png_params_errors(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    assert images.read_png_params(plain) == {}
    (tmp_path / "t.png").write_text("text")
    with pytest.raises(EditError, match="Cannot read"):
        images.read_png_params(tmp_path / "t.png")
    with pytest.raises(EditError, match="not found"):
        images.read_png_params(tmp_path / "none.png")
    with pytest.raises(EditError, match="does not exist"):
        images.save_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "no" / "x.png", {})
    with pytest.raises(EditError, match="uint8"):
        images.save_image(np.zeros((4, 4, 3), np.float32), tmp_path / "x.png", {})
    with pytest.raises(EditError, match="ending in one of"):
        images.save_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.gif", {})
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.gif").exists()


def test_images_module_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; import rfedit_desktop.engine.images; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
