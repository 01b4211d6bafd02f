"""Undo history: memory budget for stroke tiles, undo limit, pruning of dropped commands."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from rfedit_desktop.document import BrushSettings, Document, Stroke


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def stroke(doc, layer, y, color=None):
    s = Stroke(doc, BrushSettings(size=8, color=color or QColor(0, 0, 0), hardness=1.0))
    s.begin(layer, QPointF(5, y))
    s.move(QPointF(250, y))
    return s.end()


def test_budget_spills_old_strokes_and_undo_still_exact():
    doc = Document.new(256, 256)
    bg = doc.layers[0]
    doc.set_memory_budget(140_000)  # room for 2 strokes of 4 tiles (64 KiB each)
    states = [bg.rgba(straight=False)]
    colors = [QColor(255, 0, 0), QColor(0, 255, 0), QColor(0, 0, 255), QColor(9, 9, 9)]
    cmds = []
    for i in range(8):
        cmds.append(stroke(doc, bg, 10 + i * 30, colors[i % 4]))
        states.append(bg.rgba(straight=False))
    budget = doc.history_budget
    assert budget.ram_bytes() <= 140_000
    assert budget.spilled_bytes > 0
    assert budget.stored_bytes() == sum(c.nbytes() for c in cmds) >= 8 * 4 * 64 * 64 * 4
    assert any(c.tiles.spilled for c in cmds)
    for i in range(8, 0, -1):
        doc.undo_stack.undo()
        assert np.array_equal(bg.rgba(straight=False), states[i - 1]), i
    for i in range(1, 9):
        doc.undo_stack.redo()
        assert np.array_equal(bg.rgba(straight=False), states[i]), i
    assert budget.ram_bytes() <= 140_000


def test_dropped_redo_branch_is_forgotten_by_the_budget():
    doc = Document.new(256, 64)
    bg = doc.layers[0]
    stroke(doc, bg, 20)
    stroke(doc, bg, 40)
    assert doc.history_budget.stored_bytes() == 2 * 4 * 64 * 64 * 4
    doc.undo_stack.undo()
    stroke(doc, bg, 50)  # pushing discards the undone stroke's command
    assert doc.history_budget.stored_bytes() == 2 * 4 * 64 * 64 * 4


def test_undo_limit_drops_the_oldest_steps():
    doc = Document(64, 64, undo_limit=3)
    la = doc.add_layer("a", undoable=False)
    for i in range(5):
        doc.set_layer_opacity(la, i / 10, merge=False)
    assert doc.undo_stack.count() == 3
    assert doc.set_undo_limit(10) is False  # Qt: only on an empty stack
    doc.undo_stack.clear()
    assert doc.set_undo_limit(10) is True and doc.undo_stack.undoLimit() == 10


def test_undo_limit_releases_stroke_memory():
    doc = Document.new(256, 64, undo_limit=2)
    for y in (10, 20, 30, 40):
        stroke(doc, doc.layers[0], y)
    assert doc.undo_stack.count() == 2
    assert doc.history_budget.stored_bytes() == 2 * 4 * 64 * 64 * 4


def test_obsolete_merge_back_to_start_removes_the_entry():
    doc = Document.new(8, 8)
    la = doc.layers[0]
    doc.set_layer_opacity(la, 0.5)
    doc.set_layer_opacity(la, 1.0)  # dragged back to where it started
    assert doc.undo_stack.count() == 0
    assert not doc.modified
