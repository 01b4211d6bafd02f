"""Layer groups: compositing as a unit (OpenRaster's isolation rule) against the W3C reference,
group and ungroup as one undo step each, moving into and out of groups, and .ora files with
nested stacks (round trip and a file written as Krita writes it)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from blend_reference import composite, random_premultiplied
from PIL import Image

from rfedit_desktop.document import BLEND_MODES, Document, DocumentError, load_ora
from rfedit_desktop.document.image_io import array_to_qimage, qimage_to_array, unpremultiply


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def layer_from(doc, name, pixels, **kw):
    return doc.add_layer(name, image=array_to_qimage(pixels, premultiplied=True), **kw)


def picture(doc) -> np.ndarray:
    return qimage_to_array(doc.composite(), straight=False).astype(np.float64)


def three_layer_doc(rng, shape=(20, 30)):
    doc = Document(shape[1], shape[0])
    bg = random_premultiplied(rng, shape)
    bg[..., 3] = 255
    a = random_premultiplied(rng, shape)
    b = random_premultiplied(rng, shape)
    layer_from(doc, "bg", bg, undoable=False)
    la = layer_from(doc, "a", a, undoable=False)
    lb = layer_from(doc, "b", b, undoable=False)
    return doc, (bg, a, b), (la, lb)


def test_half_opaque_group_composites_as_a_unit():
    rng = np.random.default_rng(1)
    doc, (bg, a, b), (la, lb) = three_layer_doc(rng)
    group = doc.group_layers([la, lb], "g")
    doc.set_layer_opacity(group, 0.5)
    unit = composite(composite(np.zeros_like(a), a, "normal").round().astype(np.uint8),
                     b, "normal")
    want = composite(bg, unit.round().astype(np.uint8), "normal", 0.5)
    got = picture(doc)
    assert np.abs(got - want).max() <= 2.0
    # not the same as each layer at 50 % on its own (what flattening the group gave)
    separate = composite(composite(bg, a, "normal", 0.5).round().astype(np.uint8),
                         b, "normal", 0.5)
    assert np.abs(got - separate).max() > 20


@pytest.mark.parametrize("mode", ["multiply", "color-dodge", "luminosity"])
def test_group_blend_mode_applies_to_the_unit(mode):
    rng = np.random.default_rng(2)
    doc, (bg, a, b), (la, lb) = three_layer_doc(rng)
    doc.set_layer_blend_mode(lb, "screen")
    group = doc.group_layers([la, lb])
    doc.set_layer_blend_mode(group, mode)
    doc.set_layer_opacity(group, 0.8)
    inner = composite(composite(np.zeros_like(a), a, "normal").round().astype(np.uint8),
                      b, "screen")
    want = composite(bg, inner.round().astype(np.uint8), mode, 0.8)
    assert np.abs(picture(doc) - want).max() <= 2.0


def test_normal_opaque_group_passes_through_unless_isolated():
    rng = np.random.default_rng(3)
    doc, (bg, a, b), (la, lb) = three_layer_doc(rng)
    doc.set_layer_blend_mode(lb, "difference")
    flat = picture(doc)
    group = doc.group_layers([la, lb])
    assert np.array_equal(picture(doc), flat), "pass-through: the same picture"
    doc.set_group_isolated(group, True)
    # isolated: "b" takes the difference with "a" only, not with the background
    inner = composite(composite(np.zeros_like(a), a, "normal").round().astype(np.uint8),
                      b, "difference")
    want = composite(bg, inner.round().astype(np.uint8), "normal")
    assert np.abs(picture(doc) - want).max() <= 2.0
    assert np.abs(picture(doc) - flat).max() > 20


def test_group_and_ungroup_are_one_undo_step_each():
    rng = np.random.default_rng(4)
    doc, _, (la, lb) = three_layer_doc(rng)
    bg = doc.layers[0]
    before = picture(doc)
    count = doc.undo_stack.count()
    group = doc.group_layers([la, lb], "pair")
    assert doc.undo_stack.count() == count + 1
    assert [n.name for n in doc.root.children] == ["bg", "pair"]
    assert group.children == [la, lb] and la.parent is group
    assert doc.layers == [bg, la, lb] and doc.active_node is group
    doc.set_layer_opacity(group, 0.3)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert [n.name for n in doc.root.children] == ["bg", "a", "b"] and la.parent is doc.root
    assert np.array_equal(picture(doc), before)
    doc.undo_stack.redo()
    children = doc.ungroup(group)
    assert children == [la, lb] and [n.name for n in doc.root.children] == ["bg", "a", "b"]
    assert doc.layer_by_id(group.id) is None
    doc.undo_stack.undo()
    assert doc.root.children[1] is group and group.children == [la, lb]


def test_grouping_keeps_the_place_and_refuses_what_cannot_be_grouped():
    doc = Document.new(8, 8)
    a, b, c = (doc.add_layer(n) for n in "abc")
    group = doc.group_layers([a, c])
    assert [n.name for n in doc.root.children] == ["Background", "b", group.name]
    assert group.children == [a, c]
    mask = doc.add_mask_layer()
    with pytest.raises(DocumentError, match="mask"):
        doc.group_layers([mask])
    with pytest.raises(DocumentError, match="same group"):
        doc.group_layers([a, b])
    with pytest.raises(DocumentError, match="inside itself"):
        doc.move_layer(group, 0, group)
    with pytest.raises(DocumentError, match="not in a group"):
        doc.ungroup(b)


def test_nested_groups_move_in_and_out_and_undo():
    doc = Document.new(8, 8)
    a = doc.add_layer("a")
    outer = doc.group_layers([a], "outer")
    inner = doc.group_layers([a], "inner")
    assert inner.parent is outer and a.parent is inner
    b = doc.add_layer("b", parent=doc.root, index=0)
    doc.move_layer(b, 0, inner)  # drag b into the inner group, below a
    assert inner.children == [b, a]
    doc.move_layer(a, len(doc.root.children), doc.root)  # drag a out to the top
    assert doc.root.children[-1] is a and inner.children == [b]
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert inner.children == [a] and b.parent is doc.root
    doc.delete_layer(outer)
    assert [la.name for la in doc.layers] == ["b", "Background"]
    assert doc.layer_by_id(a.id) is None
    doc.undo_stack.undo()
    assert a.parent is inner and inner.parent is outer


# ------------------------------------------------------------------ OpenRaster
def test_groups_every_mode_and_offsets_survive_an_ora_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    doc = Document(24, 16)
    layer_from(doc, "bg", np.full((16, 24, 4), 200, np.uint8), undoable=False)
    modes = list(BLEND_MODES)
    for i, mode in enumerate(modes):
        la = layer_from(doc, f"m {mode}", random_premultiplied(rng, (6, 9)), undoable=False)
        doc.set_layer_offset(la, i, -2 + i % 5)
        doc.set_layer_blend_mode(la, mode)
        doc.set_layer_opacity(la, 0.25 + 0.04 * i)
    layers = doc.layers[1:]
    outer = doc.group_layers(layers[:8], "outer")
    inner = doc.group_layers(layers[2:5], "inner")
    doc.set_layer_blend_mode(inner, "exclusion")
    doc.set_layer_opacity(outer, 0.6)
    doc.set_group_isolated(inner, True)
    doc.set_layer_visible(layers[9], False)
    path = tmp_path / "groups.ora"
    doc.save(path)
    back = load_ora(path)

    def shape(node):
        if node.is_group:
            return (node.name, node.blend_mode, round(node.opacity, 4), node.isolated,
                    node.visible, [shape(c) for c in node.children])
        return (node.name, node.blend_mode, round(node.opacity, 4), node.x, node.y, node.visible)

    assert [shape(n) for n in back.root.children] == [shape(n) for n in doc.root.children]
    assert np.array_equal(picture(back), picture(doc))
    # other programs see spec values only; rfedit's own mode is in its namespace
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("stack.xml"))
    ns = "{https://rfedit.app/ns/1}"
    stacks = {el.get("name"): el for el in root.iter("stack")}
    assert stacks["inner"].get("composite-op") == "svg:difference"
    assert stacks["inner"].get(ns + "composite-op") == "svg:exclusion"
    assert stacks["inner"].get("isolation") == "isolate"
    assert stacks["outer"].get("isolation") == "auto"
    assert [el.get("name") for el in stacks["outer"]][0] == layers[7].name  # top first


def png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def test_nested_groups_as_krita_writes_them_open_correctly(tmp_path):
    rng = np.random.default_rng(7)
    bg = random_premultiplied(rng, (10, 12))
    bg[..., 3] = 255
    a = random_premultiplied(rng, (6, 8))
    b = random_premultiplied(rng, (10, 12))
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE image>
<image w="12" h="10" version="0.0.6" xres="72" yres="72" name="krita">
 <stack>
  <stack name="Group 1" x="0" y="0" visibility="visible" opacity="0.5"
         composite-op="svg:multiply" isolation="isolate">
   <layer src="data/layer3.png" name="b" x="0" y="0" visibility="visible" opacity="1"
          composite-op="svg:screen"/>
   <stack name="Group 2" visibility="hidden" opacity="1" composite-op="svg:src-over"
          isolation="auto">
    <layer src="data/layer2.png" name="hidden" x="0" y="0" opacity="1"
           composite-op="svg:src-over" visibility="visible"/>
   </stack>
   <layer src="data/layer1.png" name="a" x="3" y="2" visibility="visible" opacity="0.75"
          composite-op="svg:src-over"/>
  </stack>
  <layer src="data/layer0.png" name="Background" x="0" y="0" visibility="visible"
         opacity="1" composite-op="svg:src-over"/>
 </stack>
</image>"""
    path = tmp_path / "krita.ora"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "image/openraster")
        zf.writestr("stack.xml", xml)
        zf.writestr("data/layer0.png", png(unpremultiply(bg)))
        zf.writestr("data/layer1.png", png(unpremultiply(a)))
        zf.writestr("data/layer2.png", png(np.full((10, 12, 4), 255, np.uint8)))
        zf.writestr("data/layer3.png", png(unpremultiply(b)))
    doc = load_ora(path)
    assert doc.load_warnings == []
    background, group1 = doc.root.children
    assert group1.is_group and group1.name == "Group 1"
    assert (group1.opacity, group1.blend_mode, group1.isolated) == (0.5, "multiply", True)
    la, group2, lb = group1.children
    assert (la.name, la.x, la.y, la.opacity) == ("a", 3, 2, 0.75)
    assert group2.is_group and not group2.visible and group2.children[0].name == "hidden"
    assert (lb.name, lb.blend_mode) == ("b", "screen")
    # the picture: (a at 75 %, then b screened) as a unit, multiplied at 50 % over the
    # background; the hidden group adds nothing. Pixels compared via the files' own PNGs.
    a_doc = np.zeros((10, 12, 4), np.uint8)
    a_doc[2:8, 3:11] = qimage_to_array(la.image, straight=False)
    b_doc = qimage_to_array(lb.image, straight=False)
    bg_doc = qimage_to_array(background.image, straight=False)
    unit = composite(np.zeros_like(a_doc), a_doc, "normal", 0.75).round().astype(np.uint8)
    unit = composite(unit, b_doc, "screen").round().astype(np.uint8)
    want = composite(bg_doc, unit, "multiply", 0.5)
    assert np.abs(picture(doc) - want).max() <= 2.0


def test_thumbnail_is_never_upscaled(tmp_path):
    small = Document.new(40, 30)
    small.save(tmp_path / "small.ora")
    big = Document.new(600, 300)
    big.save(tmp_path / "big.ora")
    with zipfile.ZipFile(tmp_path / "small.ora") as zf:
        assert Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png"))).size == (40, 30)
    with zipfile.ZipFile(tmp_path / "big.ora") as zf:
        assert Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png"))).size == (256, 128)


def test_a_group_reads_as_its_own_picture():
    rng = np.random.default_rng(8)
    doc, (bg, a, b), (la, lb) = three_layer_doc(rng)
    group = doc.group_layers([la, lb])
    doc.set_layer_opacity(group, 0.5)
    unit = composite(composite(np.zeros_like(a), a, "normal").round().astype(np.uint8),
                     b, "normal").round().astype(np.uint8)
    want = composite(np.zeros_like(a), unit, "normal", 0.5)
    got = doc.layer_array(group, straight=False).astype(np.float64)
    assert np.abs(got - want).max() <= 2.0
    with pytest.raises(DocumentError, match="group"):
        doc.index_of(group)


def test_duplicate_and_flatten_handle_groups():
    rng = np.random.default_rng(10)
    doc, _, (la, lb) = three_layer_doc(rng)
    group = doc.group_layers([la, lb], "g")
    doc.set_layer_opacity(group, 0.5)
    before = picture(doc)
    dup = doc.duplicate_layer(group)
    assert dup.is_group and [c.name for c in dup.children] == ["a", "b"]
    assert all(c.parent is dup for c in dup.children) and dup.children[0] is not la
    doc.undo_stack.undo()
    assert np.array_equal(picture(doc), before)
    flat = doc.flatten()
    assert doc.root.children == [flat] and np.abs(picture(doc) - before).max() <= 1
    with pytest.raises(DocumentError):
        doc.layer(la)  # flattened away: no longer part of the document
    doc.undo_stack.undo()
    assert doc.layer(la) is la and la.parent is group
