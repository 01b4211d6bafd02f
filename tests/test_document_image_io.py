"""Image files in and out: formats, EXIF orientation, broken and oversized files, export."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QColor

from rfedit_desktop.document import (
    Document,
    DocumentError,
    export_image,
    open_image,
    read_image_array,
)
from rfedit_desktop.document.image_io import new_image


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def pattern(w=12, h=8):
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 0] = np.arange(w)[None, :] * 20
    rgba[..., 1] = np.arange(h)[:, None] * 30
    rgba[..., 2] = 77
    rgba[..., 3] = 255
    return rgba


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp", ".jpg"])
def test_open_formats_as_one_layer_document(tmp_path, suffix):
    rgba = pattern()
    path = tmp_path / f"photo{suffix}"
    im = Image.fromarray(rgba, "RGBA")
    if suffix == ".jpg":
        im = im.convert("RGB")
    kwargs = {".webp": {"lossless": True}, ".jpg": {"quality": 100, "subsampling": 0}}.get(
        suffix, {}
    )
    im.save(path, **kwargs)
    doc = open_image(path)
    assert (doc.width, doc.height) == (12, 8) and len(doc.layers) == 1
    assert doc.layers[0].name == "photo" and doc.file_path is None
    assert doc.display_name == path.name
    got = doc.layers[0].rgba()
    tol = 6 if suffix == ".jpg" else 0
    assert np.abs(got.astype(int) - rgba.astype(int)).max() <= tol


def test_straight_alpha_png_keeps_colour_where_opaque_and_alpha_everywhere(tmp_path):
    rgba = pattern()
    rgba[..., 3] = np.linspace(0, 255, 12, dtype=np.uint8)[None, :]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = read_image_array(tmp_path / "a.png")
    assert np.array_equal(got, rgba)  # reading does not premultiply
    doc = open_image(tmp_path / "a.png")
    layer = doc.layers[0].rgba()
    assert np.array_equal(layer[..., 3], rgba[..., 3])
    assert np.array_equal(layer[:, -1], rgba[:, -1])


def png_claiming(w: int, h: int) -> bytes:
    chunk = b"IHDR" + struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )
    return data + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


def test_bad_image_files_give_clear_errors(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(pattern(64, 64)).save(good)
    cases = {
        "truncated.png": good.read_bytes()[:60],
        "garbage.jpg": b"\xff\xd8\xff\xe0 definitely not a jpeg",
        "text.png": b"hello",
        "bomb.png": png_claiming(50_000, 50_000),
        "empty.webp": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DocumentError, match=name.replace(".", r"\.")):
            open_image(tmp_path / name)
    with pytest.raises(DocumentError, match="does not exist"):
        open_image(tmp_path / "missing.png")


def test_import_image_as_layer_is_undoable_and_bad_file_changes_nothing(tmp_path):
    Image.fromarray(pattern(5, 4)).save(tmp_path / "sticker.png")
    doc = Document.new(20, 20)
    layer = doc.import_image_as_layer(tmp_path / "sticker.png")
    assert layer.name == "sticker" and (layer.width, layer.height) == (5, 4)
    assert doc.active_layer is layer
    doc.undo_stack.undo()
    assert layer not in doc.layers
    (tmp_path / "bad.png").write_bytes(b"nope")
    n = doc.undo_stack.count()
    with pytest.raises(DocumentError):
        doc.import_image_as_layer(tmp_path / "bad.png")
    assert doc.undo_stack.count() == n and len(doc.layers) == 1


def test_export_png_jpeg_webp(tmp_path):
    doc = Document(10, 6)
    doc.add_layer("half", image=new_image(10, 6, QColor(255, 0, 0, 128)))
    mask = doc.add_mask_layer()
    doc.set_layer_image(mask, new_image(10, 6, QColor(255, 255, 255)))
    export_image(doc, tmp_path / "out.png")
    png = np.asarray(Image.open(tmp_path / "out.png"))
    assert png.shape == (6, 10, 4) and tuple(png[0, 0]) == (255, 0, 0, 128)  # no mask in it
    export_image(doc, tmp_path / "out.jpg", background=QColor(0, 0, 255))
    jpg = np.asarray(Image.open(tmp_path / "out.jpg")).astype(int)
    assert jpg.shape == (6, 10, 3) and abs(jpg[3, 5, 0] - 128) < 8 and abs(jpg[3, 5, 2] - 127) < 8
    export_image(doc, tmp_path / "out.webp")
    assert Image.open(tmp_path / "out.webp").size == (10, 6)
    with pytest.raises(DocumentError, match="out.gif"):
        export_image(doc, tmp_path / "out.gif")
