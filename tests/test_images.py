"""Image loading, sizes, masks and parameter PNGs, including every kind of bad file."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from rfedit_desktop.engine import images
from rfedit_desktop.errors import EditError


def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def jpeg_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=95, **kw)
    return buf.getvalue()


def noise_image(h=48, w=64, mode="RGB", seed=0) -> Image.Image:
    a = np.random.default_rng(seed).integers(0, 256, (h, w, len(mode)), dtype=np.uint8)
    return Image.fromarray(a)  # RGB or RGBA from the channel count


def fake_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; no real pixel data follows."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) \
        + chunk(b"IEND", b"")


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


def test_exif_orientation_six_rotates(tmp_path):
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = (255, 0, 0)  # left half red
    a[:, 20:] = (0, 0, 255)  # right half blue
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    p = tmp_path / "rot.jpg"
    p.write_bytes(jpeg_bytes(im, exif=exif.tobytes()))
    got = images.load_image(p)
    assert got.shape == (40, 20, 3)
    top, bottom = got[5, 10].astype(int), got[35, 10].astype(int)
    assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_jpeg_becomes_rgb():
    im = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    got = images.load_image(jpeg_bytes(im))
    assert got.shape == (16, 16, 3)
    r, g, b = got[8, 8].astype(int)
    assert r > 220 and g < 40 and b < 40


def test_sixteen_bit_png_scales_to_eight_bits():
    a = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    im = Image.fromarray(a)
    assert im.mode.startswith("I;16")
    got = images.load_image(png_bytes(im))
    assert got.shape == (1, 4, 3)
    assert got[0, :, 0].tolist() == [0, 1, 128, 255]


@pytest.mark.parametrize("color_type,channels", [(2, 3), (6, 4)])
def test_sixteen_bit_colour_png(color_type, channels):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixel = [65535, 0, 32896, 30000][:channels]
    row = b"\0" + np.array([pixel] * 4, dtype=">u2").tobytes()
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 2, 16, color_type, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(row * 2)) + chunk(b"IEND", b""))
    got = images.load_image(png)
    assert got.shape == (2, 4, channels)
    assert got[1, 3].tolist() == [255, 0, 128, 117][:channels]


def test_colour_profiles(monkeypatch):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    renamed = srgb.replace(b"s\0R\0G\0B", b"x\0R\0G\0B")  # same maths, other name
    calls = []
    real = ImageCms.profileToProfile
    monkeypatch.setattr(ImageCms, "profileToProfile",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    a = np.asarray(noise_image(8, 8))
    for icc, converted in ((srgb, 0), (renamed, 1), (b"garbage", 0)):
        calls.clear()
        got = images.load_image(png_bytes(Image.fromarray(a), icc_profile=icc))
        assert len(calls) == converted
        assert np.abs(got.astype(int) - a).max() <= 2  # sRGB to sRGB changes nothing
    rgba = np.asarray(noise_image(8, 8, "RGBA"))
    got = images.load_image(png_bytes(Image.fromarray(rgba), icc_profile=renamed))
    assert got.shape == (8, 8, 4) and np.array_equal(got[..., 3], rgba[..., 3])


def test_palette_png_with_transparency_gets_alpha():
    im = Image.new("P", (8, 4), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.paste(1, (4, 0, 8, 4))
    got = images.load_image(png_bytes(im, transparency=0))
    assert got.shape == (4, 8, 4)
    assert got[0, 0, 3] == 0 and got[0, 6].tolist() == [0, 255, 0, 255]
    opaque = images.load_image(png_bytes(im))
    assert opaque.shape == (4, 8, 3) and opaque[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize(
    "mode,value,expected",
    [("L", 77, [77, 77, 77]), ("1", 1, [255, 255, 255]), ("I", 65535, [255, 255, 255]),
     ("F", 0.5, [128, 128, 128]), ("F", 200.0, [200, 200, 200])],
)
def test_other_modes(mode, value, expected):
    got = images.load_image(Image.new(mode, (3, 2), value))
    assert got.shape == (2, 3, 3) and got[1, 2].tolist() == expected


def test_la_and_ycbcr_modes():
    la = images.load_image(png_bytes(Image.new("LA", (2, 2), (90, 40))))
    assert la[0, 0].tolist() == [90, 90, 90, 40]
    ycc = images.load_image(Image.new("RGB", (2, 2), (10, 200, 30)).convert("YCbCr"))
    assert ycc.shape == (2, 2, 3) and abs(int(ycc[0, 0, 1]) - 200) < 4


# -- bad input ---------------------------------------------------------------------------------
def test_missing_empty_and_folder(tmp_path):
    with pytest.raises(EditError, match="not found"):
        images.load_image(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(EditError, match="empty"):
        images.load_image(tmp_path / "empty.png")
    with pytest.raises(EditError, match="Not a file"):
        images.load_image(tmp_path)
    with pytest.raises(EditError, match="empty"):
        images.load_image(b"")


def test_text_file_named_png(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not a picture\n")
    with pytest.raises(EditError, match="not an image"):
        images.load_image(p)


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files(tmp_path, fmt, keep):
    im = noise_image(96, 96)
    data = png_bytes(im) if fmt == "png" else jpeg_bytes(im)
    p = tmp_path / f"cut.{fmt}"
    p.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(EditError, match="truncated or damaged"):
        images.load_image(p)


def test_absurd_sizes_rejected_from_header():
    t = time.perf_counter()
    with pytest.raises(EditError, match="megapixels|too large"):
        images.load_image(fake_png_header(50_000, 50_000))
    with pytest.raises(EditError, match="megapixels"):
        images.load_image(fake_png_header(12_000, 9_000))  # 108 MP: our own limit
    assert time.perf_counter() - t < 2.0  # nothing was decoded


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


def test_prepare_mask_from_file(tmp_path):
    p = tmp_path / "m.png"
    Image.new("L", (6, 4), 255).save(p)
    assert (images.prepare_mask(p, 4, 6) == 1).all()
    with pytest.raises(EditError, match="not found"):
        images.prepare_mask(tmp_path / "none.png", 4, 6)
    (tmp_path / "bad.png").write_text("no")
    with pytest.raises(EditError, match="could not be read"):
        images.prepare_mask(tmp_path / "bad.png", 4, 6)


@pytest.mark.parametrize(
    "mask,match",
    [(np.full((4, 4), 1.5, np.float32), r"\[0, 1\]"), (np.full((4, 4), np.nan), r"\[0, 1\]"),
     (np.zeros((4, 4, 3), np.uint8), "HxW"), (np.zeros((4, 4), np.int32), "bool, uint8"),
     ("x" * 3, "not found"), (3.0, "Cannot use")],
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
def test_save_png_round_trip(tmp_path):
    rgb = np.asarray(noise_image(8, 12))
    params = {"prompt": "a café at night ☕", "steps": 28, "eta": 0.9, "window": [0, 0.25],
              "seed": 7, "has_mask": False}
    p = tmp_path / "out.png"
    assert images.save_png(rgb, p, params) == p
    assert images.read_png_params(p) == params
    with Image.open(p) as im:
        assert np.array_equal(np.asarray(im), rgb)
        assert "steps: 28" in im.text["parameters"]
        assert "prompt: a café at night ☕" in im.text["parameters"]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.png"]  # no temporary leftovers
    rgba = np.asarray(noise_image(8, 12, "RGBA"))
    images.save_png(rgba, p, {"a": 1})  # replaces the file atomically
    assert images.read_png_params(p) == {"a": 1}
    assert images.load_image(p).shape == (8, 12, 4)


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
        images.save_png(np.zeros((4, 4, 3), np.uint8), tmp_path / "no" / "x.png", {})
    with pytest.raises(EditError, match="uint8"):
        images.save_png(np.zeros((4, 4, 3), np.float32), tmp_path / "x.png", {})
    assert not (tmp_path / "x.png").exists()


def test_images_module_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; import rfedit_desktop.engine.images; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
