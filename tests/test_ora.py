"""OpenRaster files: round trip, the spec's layout, files from other programs, hostile files,
and atomic saving."""

from __future__ import annotations

import io
import os
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from rfedit_desktop.document import (
    BrushSettings,
    Document,
    DocumentError,
    Stroke,
    load_ora,
    save_ora,
)
from rfedit_desktop.document import ora as ora_mod
from rfedit_desktop.document.image_io import new_image, qimage_to_array


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def rich_document() -> Document:
    doc = Document.new(40, 30, background=QColor(250, 240, 230))
    a = doc.add_layer("soft ink")
    s = Stroke(doc, BrushSettings(size=9, hardness=0.2, opacity=0.6, color=QColor(20, 90, 200)))
    s.begin(a, QPointF(3, 3), 0.3)
    s.move(QPointF(37, 25), 1.0)
    s.end()
    doc.set_layer_opacity(a, 0.55)
    doc.set_layer_blend_mode(a, "multiply")
    b = doc.add_layer("offset", image=new_image(10, 8, QColor(255, 0, 0, 90)), x=-3, y=12)
    doc.set_layer_blend_mode(b, "screen")
    doc.set_layer_alpha_locked(b, True)
    hidden = doc.add_layer("hidden", image=new_image(40, 30, QColor(0, 255, 0, 255)))
    doc.set_layer_visible(hidden, False)
    mask = doc.add_mask_layer()
    s = Stroke(doc, BrushSettings(size=12))
    s.begin(mask, QPointF(20, 15))
    s.end()
    doc.apply_edit(
        np.full((30, 40, 3), 128, np.uint8),
        {"prompt": "a grey fog", "seed": 42, "eta": 0.9, "steps": 28},
    )
    doc.set_active_layer(a)
    doc.extra_files["latents-abc.safetensors"] = b"\x00\x01binary"
    return doc


def test_round_trip_keeps_every_property_and_pixel(tmp_path):
    doc = rich_document()
    path = tmp_path / "pic.ora"
    doc.save(path)
    assert not doc.modified and doc.file_path == str(path)
    back = load_ora(path)
    assert back.size() == doc.size()
    assert [la.properties() for la in back.layers] == [la.properties() for la in doc.layers]
    for la, lb in zip(doc.layers, back.layers, strict=True):
        assert np.array_equal(la.rgba(straight=False), lb.rgba(straight=False)), la.name
    assert back.edit_history == doc.edit_history
    assert back.edit_history[0]["metadata"]["seed"] == 42
    assert back.extra_files == doc.extra_files
    assert back.active_layer.name == "soft ink"
    assert back.mask_layer is not None and back.mask_layer.kind == "mask"
    assert np.array_equal(qimage_to_array(back.composite()), qimage_to_array(doc.composite()))
    assert not back.modified and back.file_path == str(path) and back.load_warnings == []


def test_written_file_follows_the_spec(tmp_path):
    doc = rich_document()
    path = tmp_path / "spec.ora"
    save_ora(doc, path)
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype"
        assert first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"image/openraster"
        raw = path.read_bytes()
        assert raw[30:38] == b"mimetype" and raw[38:54] == b"image/openraster"  # no extra field
        root = ET.fromstring(zf.read("stack.xml"))
        assert root.tag == "image" and root.get("version") == "0.0.6"
        assert (root.get("w"), root.get("h")) == ("40", "30")
        layers = root.find("stack").findall("layer")
        names = [el.get("name") for el in layers]
        assert names == [la.name for la in reversed(doc.layers)]  # top first
        for el in layers:
            assert el.get("composite-op").startswith("svg:")
            assert el.get("visibility") in ("visible", "hidden")
            float(el.get("opacity"))
            im = Image.open(io.BytesIO(zf.read(el.get("src"))))
            assert im.mode == "RGBA" and im.format == "PNG"
        ns = "{https://rfedit.app/ns/1}"
        mask_el = [el for el in layers if el.get(ns + "kind") == "mask"]
        assert len(mask_el) == 1 and mask_el[0].get("visibility") == "hidden"
        assert root.get(ns + "history") == "data/rfedit/history.json"
        assert "data/rfedit/history.json" in zf.namelist()
        thumb = Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png")))
        assert thumb.size == (40, 30)  # a small picture is its own thumbnail, not blown up
        merged = Image.open(io.BytesIO(zf.read("mergedimage.png")))
        assert merged.size == (40, 30)
        assert np.array_equal(np.asarray(merged.convert("RGBA")), qimage_to_array(doc.composite()))


def test_thumbnail_of_a_large_document_is_at_most_256(tmp_path):
    doc = Document.new(600, 300)
    save_ora(doc, tmp_path / "big.ora")
    with zipfile.ZipFile(tmp_path / "big.ora") as zf:
        assert Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png"))).size == (256, 128)


def hand_made(path, stack_xml: str, files: dict[str, bytes], mimetype=True):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if mimetype:
            zf.writestr("mimetype", "image/openraster", compress_type=zipfile.ZIP_STORED)
        zf.writestr("stack.xml", stack_xml)
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_file_written_by_another_program_opens(tmp_path):
    red = np.zeros((4, 5, 4), np.uint8)
    red[...] = (255, 0, 0, 255)
    half = np.zeros((2, 2, 4), np.uint8)
    half[...] = (0, 0, 255, 128)
    xml = """<?xml version="1.0"?>
<image w="8" h="6">
  <stack>
    <layer src="data/b.png" name="top" x="1" y="2" opacity="0.5" composite-op="svg:multiply"/>
    <stack name="group" opacity="0.5" x="1">
      <layer src="data/c.png" name="in group" visibility="hidden"/>
    </stack>
    <layer src="data/a.png" name="bottom"/>
  </stack>
</image>"""
    path = hand_made(
        tmp_path / "other.ora",
        xml,
        {"data/a.png": png(red), "data/b.png": png(half), "data/c.png": png(red)},
    )
    doc = load_ora(path)
    assert [la.name for la in doc.layers] == ["bottom", "in group", "top"]
    bottom, grouped, top = doc.layers
    assert (top.x, top.y, top.opacity, top.blend_mode) == (1, 2, 0.5, "multiply")
    assert (grouped.x, grouped.opacity, grouped.visible) == (1, 1.0, False)
    group = grouped.parent
    assert group.is_group and (group.name, group.opacity) == ("group", 0.5)
    assert [n.name for n in doc.root.children] == ["bottom", "group", "top"]
    assert bottom.rgba()[0, 0].tolist() == [255, 0, 0, 255] and bottom.visible
    assert doc.size().width() == 8 and doc.edit_history == [] and doc.mask_layer is None
    assert doc.composite().pixelColor(7, 5).alpha() == 0  # outside the 5x4 bottom layer


def test_unknown_blend_mode_falls_back_to_normal_with_a_warning(tmp_path):
    xml = '<image w="2" h="2"><stack><layer src="a.png" composite-op="krita:burn"/></stack></image>'
    path = hand_made(tmp_path / "burn.ora", xml, {"a.png": png(np.zeros((2, 2, 4), np.uint8))})
    doc = load_ora(path)
    assert doc.layers[0].blend_mode == "normal"
    assert any("krita:burn" in w for w in doc.load_warnings)


# ------------------------------------------------------------------ hostile and broken files
def big_png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    out = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
    out += struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 100)
    out += (
        struct.pack(">I", len(idat))
        + b"IDAT"
        + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    )
    return out + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


GOOD_XML = '<image w="2" h="2"><stack><layer src="data/a.png" name="a"/></stack></image>'


def bad_files(tmp_path):
    ok_png = png(np.zeros((2, 2, 4), np.uint8))
    cases = {}
    p = tmp_path / "notzip.ora"
    p.write_bytes(b"this is not a zip file at all")
    cases["not a zip"] = p
    good = hand_made(tmp_path / "good.ora", GOOD_XML, {"data/a.png": ok_png})
    p = tmp_path / "truncated.ora"
    p.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    cases["truncated"] = p
    cases["no stack.xml"] = hand_made(tmp_path / "nostack.ora", "", {})
    with zipfile.ZipFile(cases["no stack.xml"], "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        zf.writestr("data/a.png", ok_png)
    cases["bad xml"] = hand_made(tmp_path / "badxml.ora", "<image w='2' h='2'><stack>", {})
    cases["wrong mimetype"] = tmp_path / "mime.ora"
    with zipfile.ZipFile(cases["wrong mimetype"], "w") as zf:
        zf.writestr("mimetype", "application/zip")
        zf.writestr("stack.xml", GOOD_XML)
    xml = '<image w="2" h="2"><stack><layer src="../../etc/evil.png"/></stack></image>'
    cases["src escapes"] = hand_made(tmp_path / "escape.ora", xml, {"data/a.png": ok_png})
    cases["entry escapes"] = hand_made(
        tmp_path / "entry.ora", GOOD_XML, {"data/a.png": ok_png, "../evil.txt": b"x"}
    )
    cases["absolute entry"] = hand_made(
        tmp_path / "abs.ora", GOOD_XML, {"data/a.png": ok_png, "/etc/evil.txt": b"x"}
    )
    cases["missing layer file"] = hand_made(tmp_path / "missing.ora", GOOD_XML, {})
    cases["huge png header"] = hand_made(
        tmp_path / "huge.ora", GOOD_XML, {"data/a.png": big_png_header(50_000, 50_000)}
    )
    huge_xml = '<image w="50000" h="50000"><stack/></image>'
    cases["huge canvas"] = hand_made(tmp_path / "hugecanvas.ora", huge_xml, {})
    cases["zip bomb"] = hand_made(
        tmp_path / "bomb.ora", GOOD_XML, {"data/a.png": ok_png, "data/pad.bin": b"\0" * 20_000_000}
    )
    cases["damaged png"] = hand_made(
        tmp_path / "dmg.ora", GOOD_XML, {"data/a.png": ok_png[:40] + b"garbage" * 10}
    )
    cases["not a png"] = hand_made(tmp_path / "jpg.ora", GOOD_XML, {"data/a.png": b"GIF89a..."})
    bad_hist = (
        '<image xmlns:r="https://rfedit.app/ns/1" r:history="data/rfedit/h.json" w="2" h="2">'
        '<stack><layer src="data/a.png"/></stack></image>'
    )
    cases["bad history"] = hand_made(
        tmp_path / "hist.ora", bad_hist, {"data/a.png": ok_png, "data/rfedit/h.json": b"{oops"}
    )
    cases["bad number"] = hand_made(
        tmp_path / "num.ora",
        '<image w="2" h="2"><stack><layer src="data/a.png" x="nan"/></stack></image>',
        {"data/a.png": ok_png},
    )
    cases["a folder"] = tmp_path
    cases["does not exist"] = tmp_path / "nope.ora"
    return cases


def test_every_bad_file_gives_a_clear_error_and_leaves_the_open_document_alone(tmp_path):
    open_doc = rich_document()
    before = [la.rgba(straight=False) for la in open_doc.layers]
    props = [la.properties() for la in open_doc.layers]
    for what, path in bad_files(tmp_path).items():
        with pytest.raises(DocumentError) as info:
            load_ora(path)
        msg = str(info.value)
        assert msg and "Traceback" not in msg, what
        assert path.name in msg or what in ("truncated",), (what, msg)
    assert [la.properties() for la in open_doc.layers] == props
    for arr, la in zip(before, open_doc.layers, strict=True):
        assert np.array_equal(arr, la.rgba(straight=False))


def test_member_read_stops_past_the_limit(tmp_path, monkeypatch):
    path = hand_made(
        tmp_path / "limit.ora",
        GOOD_XML,
        {"data/a.png": png(np.random.default_rng(0).integers(0, 255, (64, 64, 4), np.uint8))},
    )
    monkeypatch.setattr(ora_mod, "MAX_MEMBER_BYTES", 100)
    with pytest.raises(DocumentError, match="more data|larger"):
        load_ora(path)


def test_the_good_hand_made_file_opens(tmp_path):
    ok_png = png(np.full((2, 2, 4), 200, np.uint8))
    doc = load_ora(hand_made(tmp_path / "good.ora", GOOD_XML, {"data/a.png": ok_png}))
    assert doc.layers[0].rgba()[0, 0].tolist() == [200, 200, 200, 200]


# ------------------------------------------------------------------ saving safely
def test_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    doc = rich_document()
    path = tmp_path / "keep.ora"
    doc.save(path)
    original = path.read_bytes()
    doc.rename_layer(doc.layers[1], "changed")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(DocumentError, match="keep.ora"):
        doc.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert doc.modified  # still unsaved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.ora"]  # no temp file left

    def broken_write(*a, **k):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(ora_mod, "_png_bytes", broken_write)
    with pytest.raises(RuntimeError):
        save_ora(doc, path)
    assert path.read_bytes() == original


def test_save_to_a_folder_fails_cleanly(tmp_path):
    doc = Document.new(4, 4)
    folder = tmp_path / "a folder.ora"
    folder.mkdir()
    (folder / "inside.txt").write_text("keep me")
    with pytest.raises(DocumentError, match="folder"):
        doc.save(folder)
    assert (folder / "inside.txt").read_text() == "keep me"
    with pytest.raises(DocumentError):
        Document.new(4, 4).save()  # no file name yet
    with pytest.raises(DocumentError):
        doc.save(tmp_path / "no such dir" / "x.ora")


def test_far_away_offset_is_refused(tmp_path):
    xml = '<image w="2" h="2"><stack><layer src="data/a.png" x="1e300"/></stack></image>'
    path = hand_made(tmp_path / "far.ora", xml, {"data/a.png": png(np.zeros((2, 2, 4), np.uint8))})
    with pytest.raises(DocumentError, match="far"):
        load_ora(path)


def test_randomly_damaged_files_never_raise_anything_but_document_error(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    doc = Document.new(6, 5)
    doc.add_mask_layer()
    good = ora_mod.ora_bytes(doc)
    target = tmp_path / "fuzz.ora"

    @settings(
        max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(
        st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)), max_size=8),
        st.integers(20, len(good)),
    )
    def check(flips, cut):
        data = bytearray(good[:cut])
        for pos, val in flips:
            if pos < len(data):
                data[pos] = val
        target.write_bytes(bytes(data))
        try:
            back = load_ora(target)
        except DocumentError:
            return
        assert back.width == 6 and back.height == 5

    check()


def test_too_many_pixels_in_total_is_refused_before_decoding(tmp_path, monkeypatch):
    layer = png(np.zeros((10, 10, 4), np.uint8))
    xml = (
        '<image w="10" h="10"><stack>'
        + "".join(f'<layer src="data/{i}.png"/>' for i in range(5))
        + "</stack></image>"
    )
    path = hand_made(tmp_path / "many.ora", xml, {f"data/{i}.png": layer for i in range(5)})
    monkeypatch.setattr(ora_mod, "MAX_TOTAL_PIXELS", 450)
    decoded = []
    monkeypatch.setattr(ora_mod, "_decode_png", lambda *a: decoded.append(a))
    with pytest.raises(DocumentError, match="too large"):
        load_ora(path)
    assert decoded == []
    monkeypatch.setattr(ora_mod, "MAX_LAYERS", 3)
    with pytest.raises(DocumentError, match="5 layers"):
        load_ora(path)


def test_layer_ids_stay_unique_when_a_file_mixes_stored_and_missing_ids(tmp_path):
    from rfedit_desktop.document.layer import next_layer_id

    future = next_layer_id() + 1  # the id the first id-less layer would be given
    ns = 'xmlns:r="https://rfedit.app/ns/1"'
    xml = (
        f'<image {ns} w="2" h="2"><stack>'
        f'<layer src="data/a.png" r:id="{future}"/><layer src="data/a.png" r:id="{future}"/>'
        '<layer src="data/a.png"/></stack></image>'
    )
    ok_png = png(np.zeros((2, 2, 4), np.uint8))
    doc = load_ora(hand_made(tmp_path / "ids.ora", xml, {"data/a.png": ok_png}))
    ids = [la.id for la in doc.layers]
    assert len(set(ids)) == 3 and future in ids


# ------------------------------------------------------------------ one member, many layers
def padded_png(pad_bytes: int) -> bytes:
    """A 4x4 PNG with a private chunk of sparse random padding (deflates about 19:1)."""
    data = png(np.full((4, 4, 4), 200, np.uint8))
    rng = np.random.default_rng(1)
    pad = (rng.integers(1, 256, pad_bytes, dtype=np.uint8)
           * (rng.random(pad_bytes) < 0.015)).astype(np.uint8).tobytes()
    chunk = struct.pack(">I", len(pad)) + b"paDd" + pad
    chunk += struct.pack(">I", zlib.crc32(b"paDd" + pad) & 0xFFFFFFFF)
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def shared_member_file(path, layers: int, pad_bytes: int):
    xml = ('<image w="4" h="4"><stack>'
           + "".join(f'<layer name="L{i}" src="data/pad.png"/>' for i in range(layers))
           + "</stack></image>")
    return hand_made(path, xml, {"data/pad.png": padded_png(pad_bytes)})


def test_a_member_named_by_many_layers_is_read_once_within_bounded_memory(tmp_path,
                                                                        monkeypatch):
    import tracemalloc

    member = 3 * 1024**2
    path = shared_member_file(tmp_path / "shared.ora", 40, member)
    opened = []
    real_open = zipfile.ZipFile.open

    def counting_open(self, name, *a, **k):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    tracemalloc.start()
    try:
        doc = load_ora(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(doc.layers) == 40
    assert opened.count("data/pad.png") == 1
    assert peak < 4 * member  # the member's bytes once, not once per layer

    # the layers share the decoded pixels until one is painted on
    first, second = doc.layers[0], doc.layers[1]
    s = Stroke(doc, BrushSettings(size=3, color=QColor(0, 0, 255)))
    s.begin(first, QPointF(2, 2))
    s.end()
    assert not np.array_equal(first.rgba(), second.rgba())
    assert second.rgba()[2, 2].tolist() == [200, 200, 200, 200]


def test_every_reference_counts_against_the_unpacked_size_cap(tmp_path, monkeypatch):
    member = 1024**2
    path = shared_member_file(tmp_path / "many.ora", 40, member)
    # the member's declared size fits easily; forty references to it do not
    monkeypatch.setattr(ora_mod, "MAX_ORA_UNCOMPRESSED", 20 * member)
    decoded = []
    monkeypatch.setattr(ora_mod, "_decode_png", lambda *a: decoded.append(a))
    with pytest.raises(DocumentError, match="unpacks to more data"):
        load_ora(path)
    assert decoded == []
    monkeypatch.undo()
    monkeypatch.setattr(ora_mod, "MAX_ORA_UNCOMPRESSED", 20 * member)
    assert len(load_ora(shared_member_file(tmp_path / "few.ora", 15, member)).layers) == 15


def test_out_of_memory_while_saving_is_one_clear_error_and_the_old_file_stays(tmp_path,
                                                                             monkeypatch):
    doc = rich_document()
    path = tmp_path / "big.ora"
    doc.save(path)
    original = path.read_bytes()

    def no_memory(*a, **k):
        raise MemoryError

    monkeypatch.setattr(ora_mod, "_png_bytes", no_memory)
    with pytest.raises(DocumentError, match="memory.*big.ora"):
        save_ora(doc, path)
    with pytest.raises(DocumentError, match="memory"):
        doc.save(path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.ora"]
