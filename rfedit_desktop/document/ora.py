"""OpenRaster (.ora, spec 0.0.6) project files: our native format, readable by GIMP, Krita and
MyPaint.

Layout written: `mimetype` (first, stored, "image/openraster"), `stack.xml` (top layer first;
groups as nested <stack> elements with name, opacity, visibility, composite-op and isolation,
as Krita and MyPaint write them), `data/layerN.png` (8-bit straight RGBA),
`Thumbnails/thumbnail.png` (<= 256 px, never upscaled), `mergedimage.png`. rfedit's extras live
under `data/rfedit/` and are named by attributes in the `rfedit` XML namespace, which other
programs ignore: `rfedit:history` on <image> (the AI edit history as JSON), `rfedit:kind="mask"`,
`rfedit:id`, `rfedit:alpha-locked` and `rfedit:overlay-visible` on layers, and
`rfedit:composite-op` where the spec has no value for a blend mode (exclusion: written as
`svg:difference`, read back exactly). The mask layer is written `visibility="hidden"` so another
program does not paint it over the picture.

Reading trusts nothing: members are read by name into memory (never extracted), names with
`..`, absolute paths or drive letters reject the file, declared and actual sizes are capped (zip
bombs; a member named by many layers is read and decoded once but counted once per layer), each
PNG's header size is checked before decoding, and any failure raises one DocumentError before a
Document exists, so a bad file never yields half a document. `read_ora` does the slow part and
may run off the GUI thread; `opening.load_ora` makes the Document of its result.
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from ..errors import FileError
from ..files.atomic import atomic_write, remove_stale_temporaries
from ..imaging.decode import to_array, with_alpha
from .blend import exact_name, from_svg_name, svg_name
from .errors import DocumentError
from .image_io import array_to_qimage, qimage_to_array
from .layer import MASK, PAINT, Layer, LayerGroup
from .limits import MAX_MEMBER_BYTES, MAX_ORA_UNCOMPRESSED, MAX_RATIO, check_size

log = logging.getLogger(__name__)

MIMETYPE = b"image/openraster"
NS = "https://rfedit.app/ns/1"
ORA_VERSION = "0.0.6"
HISTORY_PATH = "data/rfedit/history.json"
EXTRA_DIR = "data/rfedit/extra/"
THUMBNAIL_SIDE = 256
MAX_XML_BYTES = 16 * 1024**2
MAX_JSON_BYTES = 64 * 1024**2
MAX_OFFSET = 1_000_000
MAX_LAYERS = 2000
MAX_TOTAL_PIXELS = 1_000_000_000  # about 4 GB of layers in memory
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_SAFE_EXTRA = re.compile(r"^[A-Za-z0-9._-]{1,100}$")

ET.register_namespace("rfedit", NS)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


# --------------------------------------------------------------------------- writing
def _png_bytes(rgba: np.ndarray, compress_level: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def ora_bytes(doc, compress_level: int = 1) -> bytes:
    """The whole .ora file of `doc` in memory (save_ora writes it atomically)."""
    root = ET.Element("image", {"version": ORA_VERSION, "w": str(doc.width), "h": str(doc.height)})
    root.set("xres", "72")
    root.set("yres", "72")
    stack = ET.SubElement(root, "stack")
    members: list[tuple[str, bytes]] = []
    layers = doc.layers
    # PNG encoding releases the GIL: encode layers in parallel (one big photo = many layers)
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        pngs = list(pool.map(lambda la: _png_bytes(la.rgba(straight=True), compress_level), layers))
    png_of = {
        id(la): (f"data/layer{i}.png", data)
        for i, (la, data) in enumerate(zip(layers, pngs, strict=True))
    }
    members.extend(reversed(list(png_of.values())))  # top first, as before
    _write_children(stack, doc.root, png_of, doc.active_node)
    if doc.edit_history:
        root.set(_q("history"), HISTORY_PATH)
        history = json.dumps(doc.edit_history, ensure_ascii=False, indent=1).encode("utf-8")
        members.append((HISTORY_PATH, history))
    for name, data in sorted(doc.extra_files.items()):
        if not _SAFE_EXTRA.match(name):
            raise DocumentError(f"Extra file name {name!r} is not allowed in a project file.")
        members.append((EXTRA_DIR + name, bytes(data)))
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)

    merged = doc.composite()
    thumb = merged
    if max(merged.width(), merged.height()) > THUMBNAIL_SIDE:  # the spec: never upscale
        thumb = merged.scaled(
            THUMBNAIL_SIDE,
            THUMBNAIL_SIDE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        zf.writestr("stack.xml", xml, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in members:
            # PNGs are already compressed; deflating them again only costs time
            method = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=method)
        zf.writestr(
            "Thumbnails/thumbnail.png",
            _png_bytes(qimage_to_array(thumb), 6),
            compress_type=zipfile.ZIP_STORED,
        )
        zf.writestr(
            "mergedimage.png",
            _png_bytes(qimage_to_array(merged), compress_level),
            compress_type=zipfile.ZIP_STORED,
        )
    return buf.getvalue()


def _common_attrs(node) -> dict[str, str]:
    return {
        "name": node.name,
        "opacity": repr(float(node.opacity)),
        "visibility": "visible" if node.visible and not node.is_mask else "hidden",
        "composite-op": svg_name(node.blend_mode),
    }


def _write_children(stack: ET.Element, group, png_of: dict, active) -> None:
    """`group`'s children as <layer> and nested <stack> elements, top first."""
    for node in reversed(group.children):
        if node.is_group:
            el = ET.SubElement(stack, "stack", _common_attrs(node))
            el.set("isolation", "isolate" if node.isolated else "auto")
            _write_children(el, node, png_of, active)
        else:
            attrs = {"src": png_of[id(node)][0], **_common_attrs(node)}
            attrs["x"], attrs["y"] = str(node.x), str(node.y)
            el = ET.SubElement(stack, "layer", attrs)
            if node.is_mask:
                el.set(_q("kind"), MASK)
                el.set(_q("overlay-visible"), "true" if node.visible else "false")
            if node.alpha_locked:
                el.set(_q("alpha-locked"), "true")
        el.set(_q("id"), str(node.id))
        exact = exact_name(node.blend_mode)
        if exact:
            el.set(_q("composite-op"), exact)
        if node is active:
            el.set("selected", "true")


def save_ora(doc, path: str | Path, compress_level: int = 1) -> None:
    """Write `doc` to `path` atomically (temporary file + rename); a failure leaves the old
    file intact and raises DocumentError. Does not change the document (see Document.save,
    which also marks it clean)."""
    try:
        data = ora_bytes(doc, compress_level)
    except MemoryError as e:
        raise DocumentError(
            f'Not enough memory to save "{Path(path).name}"; the file on disk was not changed.'
        ) from e
    try:
        atomic_write(path, data)
    except FileError as e:
        raise DocumentError(str(e)) from e


# --------------------------------------------------------------------------- reading
def _safe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name:
        return False
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return False
    parts = name.split("/")
    return ".." not in parts


class _Reader:
    """Bounded, name-checked access to the members of an untrusted zip."""

    def __init__(self, zf: zipfile.ZipFile, label: str):
        self.zf = zf
        self.label = label
        infos = zf.infolist()
        total = 0
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not _safe_name(info.filename):
                raise DocumentError(
                    f'"{label}" contains an entry that points outside the file '
                    f"({info.filename!r}); it was not opened."
                )
            total += info.file_size
            if info.file_size > MAX_MEMBER_BYTES or total > MAX_ORA_UNCOMPRESSED:
                raise DocumentError(f'"{label}" unpacks to more data than rfedit accepts.')
            if info.file_size > 1024**2 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise DocumentError(
                    f'"{label}" looks like a zip bomb ({info.filename} is compressed '
                    f"{info.file_size // max(info.compress_size, 1)}:1); it was not opened."
                )
            self.infos[info.filename] = info
        self.unpacked = 0  # bytes handed out so far, every reference of a member counted

    def has(self, name: str) -> bool:
        return name in self.infos

    def count(self, name: str) -> zipfile.ZipInfo:
        """Count one more use of a member against MAX_ORA_UNCOMPRESSED (read or not)."""
        info = self.infos.get(name)
        if info is None:
            raise DocumentError(f'"{self.label}" is missing "{name}".')
        self.unpacked += info.file_size
        if self.unpacked > MAX_ORA_UNCOMPRESSED:
            raise DocumentError(f'"{self.label}" unpacks to more data than rfedit accepts.')
        return info

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The member's bytes; never more than `limit` (default MAX_MEMBER_BYTES) nor than its
        declared size, whatever the compressed stream would produce. Every call counts against
        MAX_ORA_UNCOMPRESSED, so a member named by many layers cannot multiply the cap."""
        info = self.count(name)
        cap = min(MAX_MEMBER_BYTES if limit is None else limit, info.file_size)
        try:
            with self.zf.open(info) as f:
                data = f.read(cap + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as e:
            raise DocumentError(f'"{self.label}" is damaged ({name}: {e}).') from e
        if len(data) > cap:
            raise DocumentError(f'"{self.label}": {name} is larger than it claims or allowed.')
        return data


def _png_size(data: bytes, name: str, label: str) -> tuple[int, int]:
    if len(data) < 24 or not data.startswith(_PNG_SIG) or data[12:16] != b"IHDR":
        raise DocumentError(f'"{label}": {name} is not a PNG image.')
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _decode_png(data: bytes, name: str, label: str):
    from PIL import Image

    w, h = _png_size(data, name, label)
    check_size(w, h, f'"{label}": {name}')
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise DocumentError(f'"{label}": {name} is not a PNG image.')
            im.load()
            arr = with_alpha(to_array(im))  # also scales 16-bit greys instead of clipping them
    except DocumentError:
        raise
    except Exception as e:  # Pillow raises many types for damaged data
        raise DocumentError(f'"{label}": {name} is damaged and cannot be decoded.') from e
    return array_to_qimage(arr)


def _num(el: ET.Element, key: str, default: float, label: str) -> float:
    raw = el.get(key)
    if raw is None or raw.strip() == "":
        return default
    try:
        v = float(raw)
    except ValueError as e:
        raise DocumentError(f'"{label}": stack.xml has a bad {key} value {raw!r}.') from e
    if not np.isfinite(v):
        raise DocumentError(f'"{label}": stack.xml has a bad {key} value {raw!r}.')
    return v


def _walk(
    stack: ET.Element,
    label: str,
    dx: int = 0,
    dy: int = 0,
    depth: int = 0,
) -> list[tuple]:
    """The children of a <stack>, top first: ("layer", element, x, y) or
    ("group", element, children). A group's own x, y (rare) are added to its layers."""
    if depth > 32:
        raise DocumentError(f'"{label}": layer groups are nested too deeply.')
    out: list[tuple] = []
    for el in stack:
        tag = el.tag.rsplit("}", 1)[-1]
        x = dx + int(_num(el, "x", 0, label))
        y = dy + int(_num(el, "y", 0, label))
        if abs(x) > MAX_OFFSET or abs(y) > MAX_OFFSET:
            raise DocumentError(f'"{label}": a layer is placed implausibly far away ({x}, {y}).')
        if tag == "layer":
            out.append(("layer", el, x, y))
        elif tag == "stack":
            out.append(("group", el, _walk(el, label, x, y, depth + 1)))
        # text, filters and unknown elements are ignored
    return out


def _leaves(items: list[tuple]) -> list[tuple]:
    """The ("layer", ...) items of a walked tree, top first."""
    out: list[tuple] = []
    for item in items:
        out.extend(_leaves(item[2]) if item[0] == "group" else [item])
    return out


def _count(items: list[tuple]) -> int:
    return sum(1 + (_count(it[2]) if it[0] == "group" else 0) for it in items)


def _blend(el: ET.Element, warnings: list[str]) -> str:
    blend, known = from_svg_name(el.get("composite-op"), el.get(_q("composite-op")))
    if not known:
        warnings.append(
            f'Layer "{el.get("name", "")}": blend mode {el.get("composite-op")} is not '
            "supported; using normal."
        )
    return blend


def _opacity(el: ET.Element, label: str) -> float:
    return min(max(_num(el, "opacity", 1.0, label), 0.0), 1.0)


def _visible(el: ET.Element) -> bool:
    return el.get("visibility", "visible") != "hidden"


def _nodes(
    items: list[tuple],
    layer_of: dict[int, Layer],
    stored: list[tuple],
    label: str,
    warnings: list[str],
    selected: list,
) -> list:
    """The walked tree as nodes, bottom first, without parents yet: decoded layers (`layer_of`,
    by element) and new groups (with their stored ids appended to `stored`); a selected group
    is appended to `selected`."""
    nodes = []
    for item in reversed(items):
        if item[0] == "layer":
            node = layer_of.get(id(item[1]))
            if node is None:  # skipped: no pixels or not a PNG
                continue
        else:
            el = item[1]
            node = LayerGroup(
                name=el.get("name", "") or "Group",
                visible=_visible(el),
                opacity=_opacity(el, label),
                blend_mode=_blend(el, warnings),
                isolated=el.get("isolation") == "isolate",
            )
            stored.append((node, _stored_id(el)))
            node.children = _nodes(item[2], layer_of, stored, label, warnings, selected)
            for child in node.children:
                child.parent = node
            if el.get("selected") == "true":
                selected.append(node)
        nodes.append(node)
    return nodes


def _stored_id(el: ET.Element) -> int | None:
    """The rfedit:id a file gave a node, if usable (edit history entries refer to layers by
    id; `opening.ora_document` keeps it unless already taken)."""
    raw_id = el.get(_q("id"), "")
    return int(raw_id) if raw_id.isdigit() and len(raw_id) < 12 else None


@dataclass
class OraContents:
    """What an .ora holds, read and checked but not yet a Document (that is built on the GUI
    thread by `opening.load_ora`, so the slow part can run on another thread).

    `top` is the top-level nodes (layers and groups), bottom first, with no parent yet;
    `stored_ids` pairs every node with the rfedit:id the file gave it, if any.
    """

    width: int
    height: int
    top: list[Layer | LayerGroup]
    stored_ids: list[tuple[Layer | LayerGroup, int | None]]
    active: Layer | LayerGroup | None
    history: list[dict]
    extras: dict[str, bytes]
    warnings: list[str]


ProgressFn = Callable[[int, int], None]
"""progress(done, total): called after each layer is decoded."""


def read_ora(path: str | Path, progress: ProgressFn | None = None) -> OraContents:
    """Read and check an .ora. Raises DocumentError for any problem; `warnings` lists what was
    read with a fallback (e.g. unknown blend). Safe to call off the GUI thread."""
    path = Path(path)
    label = path.name
    if not path.exists():
        raise DocumentError(f'"{label}" does not exist.')
    if path.is_dir():
        raise DocumentError(f'"{label}" is a folder, not a file.')
    remove_stale_temporaries(path)  # what killed saves of this project left beside it
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise DocumentError(f'"{label}" is not an OpenRaster file (not a zip archive).') from e
    except (OSError, ValueError, EOFError) as e:
        raise DocumentError(f'"{label}" could not be read ({e}).') from e
    with zf:
        try:
            contents = _read(_Reader(zf, label), label, progress)
        except DocumentError:
            raise
        except MemoryError as e:
            raise DocumentError(f'Not enough memory to open "{label}".') from e
        except Exception as e:  # a hostile file must never escape as a random exception
            log.exception("unexpected error reading %s", path)
            raise DocumentError(f'"{label}" is damaged ({type(e).__name__}: {e}).') from e
    for msg in contents.warnings:
        log.warning("%s: %s", label, msg)
    return contents


def _read(reader: _Reader, label: str, progress: ProgressFn | None) -> OraContents:
    warnings: list[str] = []
    if reader.has("mimetype"):
        mt = reader.read("mimetype", 256).strip()
        if mt != MIMETYPE:
            raise DocumentError(
                f'"{label}" is not an OpenRaster file (mimetype {mt[:40].decode("latin-1")!r}).'
            )
    else:
        warnings.append("The file has no mimetype entry.")
    if not reader.has("stack.xml"):
        raise DocumentError(f'"{label}" is not an OpenRaster file (no stack.xml).')
    try:
        root = ET.fromstring(reader.read("stack.xml", MAX_XML_BYTES))
    except ET.ParseError as e:
        raise DocumentError(f'"{label}": stack.xml is not valid XML ({e}).') from e
    if root.tag != "image":
        raise DocumentError(f'"{label}": stack.xml does not describe an image.')
    w = int(_num(root, "w", 0, label))
    h = int(_num(root, "h", 0, label))
    check_size(w, h, f'"{label}"')
    stack = root.find("stack")
    if stack is None:
        raise DocumentError(f'"{label}": stack.xml has no layer stack.')

    tree = _walk(stack, label)
    entries = _leaves(tree)
    if _count(tree) > MAX_LAYERS:
        raise DocumentError(
            f'"{label}" has {_count(tree)} layers; rfedit opens at most {MAX_LAYERS}.'
        )
    # first pass: read every layer's PNG header, so the total size is known before decoding;
    # layers may share a member, which is read (and below decoded) once
    sources: list[tuple[ET.Element, int, int, float, bool, str]] = []
    blobs: dict[str, bytes] = {}
    total_pixels = 0
    for _, el, x, y in reversed(entries):  # bottom first
        opacity, visible = _opacity(el, label), _visible(el)
        src = el.get("src", "")
        if not src:
            warnings.append(f'Layer "{el.get("name", "")}" has no pixels; skipped.')
            continue
        src = posixpath.normpath(src)
        if not _safe_name(src):
            raise DocumentError(f'"{label}" names a layer file outside the archive ({src!r}).')
        if not src.lower().endswith(".png"):
            warnings.append(f"{src} is not a PNG layer; skipped.")
            continue
        if src in blobs:
            reader.count(src)
        else:
            blobs[src] = reader.read(src)
        data = blobs[src]
        pw, ph = _png_size(data, src, label)
        check_size(pw, ph, f'"{label}": {src}')
        total_pixels += pw * ph
        if total_pixels > MAX_TOTAL_PIXELS:
            raise DocumentError(
                f'"{label}": its layers together are too large to open '
                f"(over {MAX_TOTAL_PIXELS // 1_000_000} megapixels)."
            )
        sources.append((el, x, y, opacity, visible, src))

    layer_of: dict[int, Layer] = {}
    stored: list[tuple] = []
    active: Layer | None = None
    mask_seen = False
    images: dict[str, QImage] = {}
    for done, (el, x, y, opacity, visible, src) in enumerate(sources, 1):
        if src not in images:
            images[src] = _decode_png(blobs.pop(src), src, label)
        blend = _blend(el, warnings)
        kind = el.get(_q("kind"), PAINT)
        if kind not in (PAINT, MASK) or (kind == MASK and mask_seen):
            warnings.append(f"Layer kind {kind!r} read as a paint layer.")
            kind = PAINT
        if kind == MASK:
            mask_seen = True
            visible = el.get(_q("overlay-visible"), "true") == "true"
        layer = Layer(
            name=el.get("name", "") or f"Layer {len(layer_of) + 1}",
            image=QImage(images[src]),  # shared until one of the layers is painted on
            kind=kind,
            visible=visible,
            opacity=opacity,
            blend_mode=blend,
            x=x,
            y=y,
            alpha_locked=el.get(_q("alpha-locked")) == "true",
        )
        stored.append((layer, _stored_id(el)))
        if el.get("selected") == "true":
            active = layer
        layer_of[id(el)] = layer
        if progress is not None:
            progress(done, len(sources))

    history: list[dict] = []
    hpath = root.get(_q("history"))
    if hpath:
        hpath = posixpath.normpath(hpath)
        if not _safe_name(hpath):
            raise DocumentError(f'"{label}" names a history file outside the archive.')
        if reader.has(hpath):
            try:
                history = json.loads(reader.read(hpath, MAX_JSON_BYTES).decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise DocumentError(f'"{label}": the edit history is damaged ({e}).') from e
            if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
                raise DocumentError(f'"{label}": the edit history is not a list of edits.')
        else:
            warnings.append("The edit history file is missing.")
    extras = {}
    for name in reader.infos:
        if name.startswith(EXTRA_DIR) and _SAFE_EXTRA.match(name[len(EXTRA_DIR) :]):
            extras[name[len(EXTRA_DIR) :]] = reader.read(name)

    selected: list = [active] if active is not None else []
    top = _nodes(tree, layer_of, stored, label, warnings, selected)
    active = selected[-1] if selected else None
    return OraContents(w, h, top, stored, active, history, extras, warnings)
