"""The one image decoder (`imaging.decode`): every kind of file, read the same by the CLI's path
(`engine.images.load_image`) and the window's (`document.read_image_array`)."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from rfedit_desktop.document import DocumentError, read_image_array
from rfedit_desktop.engine import images
from rfedit_desktop.errors import EditError, FileError
from rfedit_desktop.imaging.decode import decode_image, to_array, with_alpha

skdata = pytest.importorskip("skimage.data")


def read_both(path: Path) -> np.ndarray:
    """The pixels of `path` by the CLI's path, asserted equal to the window's."""
    cli = images.load_image(path)
    gui = read_image_array(path)
    assert gui.shape == cli.shape[:2] + (4,)
    assert np.array_equal(with_alpha(cli), gui), "the CLI and the window read different pixels"
    return cli


def refused_by_both(path: Path, match: str) -> None:
    with pytest.raises(EditError, match=match):
        images.load_image(path)
    with pytest.raises(DocumentError, match=match):
        read_image_array(path)


def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def fake_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; no real pixel data follows."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 16)) + _chunk(b"IEND", b""))


def linear_rgb_profile() -> bytes:
    """A minimal ICC v2 display profile: sRGB's primaries with a linear (gamma 1) curve, so a
    stored 128 means half the light, which sRGB encodes as about 188."""
    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    name = b"rfedit test linear RGB"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(name) + 1) + name + b"\0"
            + struct.pack(">IIHB", 0, 0, 0, 0) + b"\0" * 67)
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 256) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)), (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
            (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (struct.pack(">I", offset + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28
              + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


# -- the cases where the two copies of the decoder disagreed ------------------------------------
def test_sixteen_bit_tiff_photo(tmp_path):
    camera = skdata.camera().astype(np.uint16) * 257 + 128  # a real 16-bit grey photo
    Image.fromarray(camera).save(tmp_path / "deep.tif")
    assert Image.open(tmp_path / "deep.tif").mode == "I;16"
    got = read_both(tmp_path / "deep.tif")
    want = np.floor(camera / 257.0 + 0.5).astype(np.uint8)
    assert got.shape == camera.shape + (3,) and np.array_equal(got[..., 1], want)


def test_32_bit_integer_tiff_is_read_as_16_bit_range(tmp_path):
    """Mode "I": the old window copy guessed 8-bit for dark images, the CLI divided by 257."""
    values = (skdata.camera()[:64, :64].astype(np.int32) * 257)  # full 16-bit range
    dark = values // 8  # a dark exposure: every value is still above 255
    for name, arr in (("full.tif", values), ("dark.tif", dark), ("tiny.tif", values // 300)):
        Image.fromarray(arr).save(tmp_path / name)
        assert Image.open(tmp_path / name).mode == "I"
        got = read_both(tmp_path / name)
        assert np.array_equal(got[..., 0], np.floor(arr / 257.0 + 0.5).astype(np.uint8))


def test_float_tiff_with_nan_and_infinities(tmp_path):
    grey = skdata.camera()[:64, :64].astype(np.float32) / 255.0  # a float image in [0, 1]
    grey[0, 0], grey[0, 1], grey[0, 2] = np.nan, np.inf, -np.inf
    Image.fromarray(grey).save(tmp_path / "float.tif")
    assert Image.open(tmp_path / "float.tif").mode == "F"
    got = read_both(tmp_path / "float.tif")
    assert got[0, 0].tolist() == [0, 0, 0]  # NaN is black
    assert got[0, 1].tolist() == [255, 255, 255] and got[0, 2].tolist() == [0, 0, 0]
    rest = grey[1:]
    assert np.array_equal(got[1:, :, 0], np.floor(rest * 255 + 0.5).astype(np.uint8))
    # a float image in 0..255 is taken as it is
    Image.fromarray((grey[1:] * 200).astype(np.float32)).save(tmp_path / "wide.tif")
    assert np.abs(read_both(tmp_path / "wide.tif")[..., 0].astype(int)
                  - grey[1:] * 200).max() <= 1


def test_rgb_png_with_a_transparent_colour_key(tmp_path):
    """tRNS on an RGB PNG: the old CLI copy dropped the transparency."""
    rgb = skdata.chelsea()[:40, :60].copy()
    rgb[:10, :10] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "key.png", transparency=(1, 2, 3))
    got = read_both(tmp_path / "key.png")
    assert got.shape == (40, 60, 4)
    assert (got[:10, :10, 3] == 0).all() and (got[20:, 20:, 3] == 255).all()


# -- every other kind of file -----------------------------------------------------------------
def test_cmyk_jpeg(tmp_path):
    photo = Image.fromarray(skdata.coffee()).resize((80, 60)).convert("CMYK")
    photo.paste((0, 255, 255, 0), (0, 0, 16, 16))  # pure red in CMYK
    photo.save(tmp_path / "print.jpg", quality=95)
    assert Image.open(tmp_path / "print.jpg").mode == "CMYK"
    got = read_both(tmp_path / "print.jpg")
    assert got.shape == (60, 80, 3)
    r, g, b = got[8, 8].astype(int)
    assert r > 220 and g < 40 and b < 40


def test_palette_png_with_transparency(tmp_path):
    im = Image.fromarray(skdata.astronaut()).resize((64, 64)).quantize(16)
    index = im.getpixel((0, 0))
    im.save(tmp_path / "pal.png", transparency=index)
    got = read_both(tmp_path / "pal.png")
    assert got.shape == (64, 64, 4)
    assert got[0, 0, 3] == 0
    assert ((got[..., 3] == 0) == (np.asarray(im) == index)).all()
    im.save(tmp_path / "opaque.png")
    assert read_both(tmp_path / "opaque.png").shape == (64, 64, 3)


@pytest.mark.parametrize(("orientation", "turn"), [(3, 2), (6, -1), (8, 1)])
def test_exif_rotated_jpeg_photo(tmp_path, orientation, turn):
    photo = skdata.astronaut()[::4, ::4].copy()  # 128x128
    photo = photo[:, :96]  # not square, so a rotation shows in the shape
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(photo).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    got = read_both(tmp_path / "phone.jpg")
    stored = np.asarray(Image.open(tmp_path / "phone.jpg"))  # as the pixels lie in the file
    assert np.array_equal(got, np.rot90(stored, turn))


def test_broken_exif_keeps_the_pixels(tmp_path):
    photo = skdata.rocket()[::4, ::4].copy()
    Image.fromarray(photo).save(tmp_path / "odd.jpg", exif=b"Exif\0\0garbage", quality=95)
    assert read_both(tmp_path / "odd.jpg").shape == photo.shape


def test_icc_profile_is_converted_to_srgb(tmp_path):
    photo = skdata.coffee()[::8, ::8].copy()
    photo[0, 0] = (128, 64, 255)
    Image.fromarray(photo).save(tmp_path / "linear.png", icc_profile=linear_rgb_profile())
    got = read_both(tmp_path / "linear.png")
    assert np.abs(got[0, 0].astype(int) - (188, 137, 255)).max() <= 2  # sRGB of linear light
    assert (got.astype(int) >= photo.astype(int) - 1).all()  # linear -> sRGB only brightens
    rgba = np.dstack([photo, np.full(photo.shape[:2], 99, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "alpha.png", icc_profile=linear_rgb_profile())
    got = read_both(tmp_path / "alpha.png")
    assert got.shape[2] == 4 and (got[..., 3] == 99).all() and got[0, 0, 0] > 180


def test_srgb_and_broken_profiles_keep_the_pixels(tmp_path, monkeypatch):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    calls = []
    real = ImageCms.profileToProfile
    monkeypatch.setattr(ImageCms, "profileToProfile",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    photo = skdata.chelsea()[::8, ::8].copy()
    for name, icc in (("srgb.png", srgb), ("broken.png", b"not a profile")):
        Image.fromarray(photo).save(tmp_path / name, icc_profile=icc)
        assert np.array_equal(read_both(tmp_path / name), photo)
    assert calls == []  # an sRGB profile is not converted to itself


def test_sixteen_bit_colour_png(tmp_path):
    for color_type, channels in ((2, 3), (6, 4)):
        pixel = [65535, 0, 32896, 30000][:channels]
        row = b"\0" + np.array([pixel] * 4, dtype=">u2").tobytes()
        png = (b"\x89PNG\r\n\x1a\n"
               + _chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 2, 16, color_type, 0, 0, 0))
               + _chunk(b"IDAT", zlib.compress(row * 2)) + _chunk(b"IEND", b""))
        (tmp_path / "c.png").write_bytes(png)
        got = read_both(tmp_path / "c.png")
        assert got.shape == (2, 4, channels)
        assert got[1, 3].tolist() == [255, 0, 128, 117][:channels]


def test_lab_tiff_is_converted_not_copied(tmp_path):
    Image.new("LAB", (4, 4), (128, 128, 128)).save(tmp_path / "lab.tif")
    got = read_both(tmp_path / "lab.tif")
    assert got.shape == (4, 4, 3)  # the "A" of LAB is a colour axis, not alpha
    assert np.abs(got.astype(int) - 119).max() <= 2  # L* 50 is a mid grey


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [("L", 77, [77, 77, 77]), ("1", 1, [255, 255, 255]), ("I", 65535, [255, 255, 255]),
     ("F", 0.5, [128, 128, 128]), ("F", 200.0, [200, 200, 200]),
     ("LA", (90, 40), [90, 90, 90, 40]), ("La", (45, 128), [90, 90, 90, 128]),
     ("RGBa", (50, 50, 50, 128), [100, 100, 100, 128])],
)
def test_every_mode(mode, value, expected):
    got = to_array(Image.new(mode, (3, 2), value))
    assert got.shape == (2, 3, len(expected))
    assert np.abs(got[1, 2].astype(int) - expected).max() <= 1


def test_sources_path_bytes_and_pil_agree(tmp_path):
    photo = skdata.astronaut()[::8, ::8].copy()
    p = tmp_path / "a.png"
    p.write_bytes(png_bytes(Image.fromarray(photo)))
    for source in (p, str(p), p.read_bytes(), bytearray(p.read_bytes()), Image.open(p)):
        assert np.array_equal(decode_image(source), photo)


# -- bad files ---------------------------------------------------------------------------------
def test_truncated_files_name_the_file(tmp_path):
    photo = Image.fromarray(skdata.astronaut())
    for fmt, keep in (("png", 0.5), ("jpeg", 0.5), ("png", 0.9), ("tiff", 0.5)):
        buf = io.BytesIO()
        photo.save(buf, format=fmt)
        data = buf.getvalue()
        (tmp_path / f"cut.{fmt}").write_bytes(data[: int(len(data) * keep)])
        refused_by_both(tmp_path / f"cut.{fmt}", rf'"cut\.{fmt}" is truncated or damaged')


def test_missing_empty_folder_and_text_files(tmp_path):
    refused_by_both(tmp_path / "nope.png", '"nope.png" does not exist')
    (tmp_path / "empty.png").write_bytes(b"")
    refused_by_both(tmp_path / "empty.png", r"empty \(0 bytes\)")
    (tmp_path / "dir.png").mkdir()
    refused_by_both(tmp_path / "dir.png", "is a folder")
    (tmp_path / "notes.png").write_text("this is not a picture\n")
    refused_by_both(tmp_path / "notes.png", "not an image")
    with pytest.raises(FileError, match="empty"):
        decode_image(b"")


def test_absurd_sizes_refused_from_the_header(tmp_path):
    t = time.perf_counter()
    (tmp_path / "bomb.png").write_bytes(fake_png_header(50_000, 50_000))
    refused_by_both(tmp_path / "bomb.png", "too large|megapixels|per side")
    (tmp_path / "big.png").write_bytes(fake_png_header(12_000, 9_000))  # 108 MP
    with pytest.raises(FileError, match="megapixels"):
        decode_image(tmp_path / "big.png")  # the default (the engine's) limit
    with pytest.raises(FileError, match="per side"):
        decode_image(fake_png_header(40_000, 10), max_side=32_000)
    assert time.perf_counter() - t < 5.0  # nothing was decoded


def test_unreadable_file(tmp_path, monkeypatch):
    p = tmp_path / "locked.png"
    p.write_bytes(png_bytes(Image.new("RGB", (2, 2))))

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)
    refused_by_both(p, "permission denied")
