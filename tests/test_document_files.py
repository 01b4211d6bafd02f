"""The document's writers (project saves, exports, autosaves) go through the one atomic writer:
a full disk loses nothing, and a killed save's temporaries go at the next save or open."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor

from rfedit_desktop.document import Document, DocumentError, export_image, load_ora
from rfedit_desktop.document.autosave import AutosaveSession
from rfedit_desktop.document.image_io import new_image
from rfedit_desktop.files.atomic import STALE_AFTER_SECONDS

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def photo_document(side: int = 96) -> Document:
    doc = Document(side, side)
    rgb = np.ascontiguousarray(skdata.astronaut()[::512 // side, ::512 // side][:side, :side])
    from rfedit_desktop.document.image_io import array_to_qimage

    doc.add_layer("photo", image=array_to_qimage(rgb), undoable=False)
    return doc


def _leftover(folder: Path, name: str) -> Path:
    p = folder / name
    p.write_bytes(b"\0" * 1000)
    t = time.time() - STALE_AFTER_SECONDS - 60
    os.utime(p, (t, t))
    return p


@pytest.mark.parametrize("name", ["art.ora", "art.jpg", "art.webp", "art.png"])
def test_full_disk_keeps_the_old_file(small_disk, name):
    doc = photo_document()
    p = small_disk.path / name
    old = b"the artist's previous file" * 20
    p.write_bytes(old)
    small_disk.fill()
    with pytest.raises(DocumentError, match=rf'"{name}".*disk is full'):
        if name.endswith(".ora"):
            doc.save(p)
        else:
            export_image(doc, p)
    assert p.read_bytes() == old
    assert sorted(x.name for x in small_disk.path.iterdir()) == [name, "filler"]


def test_failed_project_save_leaves_the_document_modified(small_disk):
    doc = photo_document()
    doc.add_layer("more", image=new_image(96, 96, QColor(0, 0, 255, 80)))
    assert doc.modified
    small_disk.fill()
    with pytest.raises(DocumentError):
        doc.save(small_disk.path / "new.ora")
    assert doc.modified and not (small_disk.path / "new.ora").exists()


def test_exports_and_saves_get_ordinary_permissions(tmp_path):
    umask = os.umask(0o22)
    os.umask(umask)
    doc = photo_document(32)
    for name in ("a.png", "a.jpg", "a.webp"):
        export_image(doc, tmp_path / name)
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
    doc.save(tmp_path / "a.ora")
    assert (tmp_path / "a.ora").stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(tmp_path / "a.ora", 0o600)  # the artist made it private
    doc.save(tmp_path / "a.ora")
    assert (tmp_path / "a.ora").stat().st_mode & 0o777 == 0o600


def test_killed_saves_leftovers_go_at_the_next_save(tmp_path):
    doc = photo_document(32)
    doc.save(tmp_path / "art.ora")
    stale = [_leftover(tmp_path, ".art.ora.rfedit-0badf00d.tmp"),
             _leftover(tmp_path, ".art.ora.ab12_xyz.tmp")]  # a previous version's name
    other = _leftover(tmp_path, ".other.ora.rfedit-0badf00d.tmp")
    doc.save(tmp_path / "art.ora")
    assert not any(p.exists() for p in stale) and other.exists()


def test_killed_saves_leftovers_go_at_the_next_open(tmp_path):
    photo_document(32).save(tmp_path / "art.ora")
    stale = _leftover(tmp_path, ".art.ora.rfedit-0badf00d.tmp")
    fresh = tmp_path / ".art.ora.rfedit-00c0ffee.tmp"  # perhaps another rfedit saving now
    fresh.write_bytes(b"\0")
    back = load_ora(tmp_path / "art.ora")
    assert (back.width, back.height) == (32, 32)
    assert not stale.exists() and fresh.exists()


def test_autosave_on_a_full_disk_keeps_the_previous_autosave(small_disk):
    session = AutosaveSession(folder=small_disk.path)
    session.write(Document(4, 4))  # a small project: room for it and its marker
    before = session.ora_path.read_bytes()
    small_disk.fill()
    with pytest.raises(DocumentError, match="disk is full"):
        session.write(photo_document(64))
    assert session.ora_path.read_bytes() == before
    back = load_ora(session.ora_path)
    assert (back.width, back.height) == (4, 4)
