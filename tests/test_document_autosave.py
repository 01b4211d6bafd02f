"""Crash recovery: autosave files, which sessions count as crashed, recover and discard."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from rfedit_desktop import paths
from rfedit_desktop.document import BrushSettings, Document, Stroke
from rfedit_desktop.document.autosave import AutosaveSession, autosave_dir, list_recoverable


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def painted_doc():
    doc = Document.new(30, 20)
    s = Stroke(doc, BrushSettings(size=6, color=QColor(0, 0, 200)))
    s.begin(doc.layers[0], QPointF(2, 2))
    s.move(QPointF(28, 18))
    s.end()
    doc.apply_edit(np.zeros((20, 30, 3), np.uint8), {"prompt": "night"})
    return doc


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_autosave_lives_in_the_data_folder():
    assert autosave_dir() == paths.data_dir() / "autosave"


def test_write_is_not_recoverable_while_the_session_runs_and_discard_cleans(tmp_path):
    session = AutosaveSession(tmp_path)
    doc = painted_doc()
    path = session.write(doc)
    assert path.exists() and doc.modified  # autosave does not mark the work as saved
    assert list_recoverable(tmp_path) == []  # our own pid is alive
    session.discard()
    assert list(tmp_path.iterdir()) == []


def test_crashed_session_is_recoverable_with_its_pixels_and_history(tmp_path):
    doc = painted_doc()
    doc.set_file_path(str(tmp_path / "mine.ora"))
    session = AutosaveSession(tmp_path)
    session.write(doc)
    marker = json.loads(session.marker_path.read_text())
    marker["pid"] = dead_pid()  # as if the process had crashed
    session.marker_path.write_text(json.dumps(marker))
    entries = list_recoverable(tmp_path)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.document_name == "mine.ora" and entry.original_path == str(tmp_path / "mine.ora")
    back = entry.load()
    assert back.modified and back.file_path == str(tmp_path / "mine.ora")
    assert back.edit_history[0]["prompt"] == "night"
    for a, b in zip(doc.layers, back.layers, strict=True):
        assert np.array_equal(a.rgba(straight=False), b.rgba(straight=False))
    entry.discard()
    assert list_recoverable(tmp_path) == []


def test_autosave_without_marker_or_with_broken_marker_is_recoverable(tmp_path):
    session = AutosaveSession(tmp_path, session_id="lost")
    session.write(painted_doc())
    session.marker_path.unlink()
    other = AutosaveSession(tmp_path, session_id="broken")
    other.write(Document.new(4, 4))
    other.marker_path.write_text("{not json")
    ids = sorted(e.session_id for e in list_recoverable(tmp_path))
    assert ids == ["broken", "lost"]


def test_second_write_replaces_the_first(tmp_path):
    session = AutosaveSession(tmp_path)
    doc = Document.new(8, 8)
    session.write(doc)
    doc.add_layer("later")
    session.write(doc)
    assert len(list(tmp_path.glob("*.ora"))) == 1
    session.discard()


def test_stale_marker_without_autosave_is_cleaned_up(tmp_path):
    live = AutosaveSession(tmp_path, session_id="live")
    dead = AutosaveSession(tmp_path, session_id="dead")
    info = json.loads(dead.marker_path.read_text())
    info["pid"] = dead_pid()
    dead.marker_path.write_text(json.dumps(info))
    assert list_recoverable(tmp_path) == []
    assert not dead.marker_path.exists() and live.marker_path.exists()
