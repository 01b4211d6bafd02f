"""The main window: shortcuts, docks, layers panel, files, unsaved-changes prompts, settings."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QColor, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox

from rfedit_desktop.document import BrushSettings, Document, Stroke
from rfedit_desktop.ui.main_window import MainWindow
from rfedit_desktop.ui.tool_state import Tool

SB = QMessageBox.StandardButton


class Dialogs:
    """Stands in for QMessageBox: answers questions from a script and records every box."""

    def __init__(self) -> None:
        self.answers: list = []
        self.shown: list[tuple[str, str, str]] = []

    def question(self, parent, title, text, *args, **kwargs):
        self.shown.append(("question", title, text))
        if not self.answers:
            raise AssertionError(f"unexpected question: {title}: {text}")
        return self.answers.pop(0)

    def record(self, kind):
        def box(parent, title, text, *args, **kwargs):
            self.shown.append((kind, title, text))
            return SB.Ok
        return box


@pytest.fixture(autouse=True)
def own_folders(tmp_path, monkeypatch):
    """Settings and autosaves per test, so no test sees another's tools, layout or crashes."""
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RFEDIT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(autouse=True)
def dialogs(monkeypatch) -> Dialogs:
    d = Dialogs()
    monkeypatch.setattr(QMessageBox, "question", d.question)
    for kind in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, d.record(kind))
    return d


def painted_document(w: int = 48, h: int = 32) -> Document:
    doc = Document.new(w, h)
    top = doc.add_layer("Top", undoable=False)
    s = Stroke(doc, BrushSettings(size=6, color=QColor(10, 200, 30), hardness=1.0))
    s.begin(top, QPointF(4, 16), 1.0)
    s.move(QPointF(44, 16), 1.0)
    s.end()
    doc.undo_stack.clear()
    return doc


@pytest.fixture
def window(qtbot):
    win = MainWindow(restore_state=False, ai=False)
    qtbot.addWidget(win, before_close_func=lambda w: w.discard_changes_and_close())
    win.set_document(painted_document())
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=2000)
    win.canvas.setFocus()
    return win


# ------------------------------------------------------------------------------ shortcuts
def test_tool_letters_switch_tools_on_canvas(qtbot, window) -> None:
    for key, tool in ((Qt.Key.Key_E, Tool.ERASER), (Qt.Key.Key_I, Tool.PICKER),
                      (Qt.Key.Key_M, Tool.MASK), (Qt.Key.Key_B, Tool.BRUSH)):
        qtbot.keyClick(window.canvas, key)
        assert window.tools.tool is tool
        assert window.tool_actions[tool].isChecked()


def test_typing_in_text_fields_does_not_fire_letter_shortcuts(qtbot, window) -> None:
    field = QLineEdit()
    window.add_dock(field, "Prompt", "TestPromptDock")
    fields = [field, window.colour_panel.hex]
    size_before = window.tools.brush.size
    fg, bg = window.tools.foreground, window.tools.background
    for widget in fields:
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=1000)
        widget.clear()
        qtbot.keyClicks(widget, "bemixd[]")
        assert widget.text() == "bemixd[]", "every letter reached the text box"
        assert window.tools.tool is Tool.BRUSH
        assert window.tools.brush.size == size_before
        assert (window.tools.foreground, window.tools.background) == (fg, bg)
    spin = window.tool_options_panel.size.spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=1000)
    qtbot.keyClicks(spin, "e")
    assert window.tools.tool is Tool.BRUSH


def test_swap_and_default_colours(qtbot, window) -> None:
    window.tools.set_foreground(QColor(255, 0, 0))
    window.tools.set_background(QColor(0, 0, 255))
    qtbot.keyClick(window.canvas, Qt.Key.Key_X)
    assert window.tools.foreground == QColor(0, 0, 255)
    assert window.tools.background == QColor(255, 0, 0)
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    assert window.tools.foreground == QColor(0, 0, 0)
    assert window.tools.background == QColor(255, 255, 255)


def test_standard_shortcuts_are_bound(window) -> None:
    def keys(action):
        return {s.toString() for s in action.shortcuts()}

    assert "Ctrl+Z" in keys(window.act_undo)
    assert "Ctrl+Shift+Z" in keys(window.act_redo)
    assert "Ctrl+S" in keys(window.act_save)
    assert "Ctrl+Shift+S" in keys(window.act_save_as)
    assert "Ctrl+O" in keys(window.act_open)
    assert "Ctrl+N" in keys(window.act_new)
    assert "Ctrl+E" in keys(window.act_export)
    assert "Ctrl+0" in keys(window.act_fit)
    assert "Ctrl+1" in keys(window.act_actual)


# ------------------------------------------------------------------------------ docks
def test_view_menu_lists_every_dock_including_added_ones(window) -> None:
    extra = window.add_edit_dock(QLabel("edit panel"))
    strip = window.add_bottom_dock(QLabel("staging"), "Staging")
    titles = [a.text() for a in window.panels_menu.actions() if a.text()]
    for dock in window.docks():
        assert dock.windowTitle() in titles
    assert {"Layers", "History", "Colour", "Tool Options", "Edit", "Staging"} <= set(titles)
    assert window.dockWidgetArea(extra) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.dockWidgetArea(strip) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert extra.geometry().top() < window.layers_dock.geometry().top(), "Edit sits above Layers"
    action = next(a for a in window.panels_menu.actions() if a.text() == "History")
    action.trigger()
    assert window.history_dock.isHidden()
    action.trigger()
    assert not window.history_dock.isHidden()


def test_history_click_goes_back(qtbot, window) -> None:
    doc = window.document
    doc.add_layer("A")
    doc.add_layer("B")
    assert [la.name for la in doc.layers][-2:] == ["A", "B"]
    view = window.history_panel
    view.setCurrentIndex(view.model().index(1, 0))  # row 0 = clean state, 1 = "Add layer A"
    assert doc.undo_stack.index() == 1
    assert [la.name for la in doc.layers][-1] == "A"


# ------------------------------------------------------------------------------ layers dock
def names_top_first(window) -> list[str]:
    """The layers panel's rows as shown, top first (group children under their group)."""
    return [item.text(0) for item in window.layers_panel.list.rows()]


def test_layers_panel_mirrors_document(window) -> None:
    assert names_top_first(window) == ["Top", "Background"]
    window.document.add_layer("New")
    assert names_top_first(window) == ["New", "Top", "Background"]
    assert window.layers_panel.list.currentItem().text(0) == "New"
    window.layers_panel.list.setCurrentItem(window.layers_panel.list.topLevelItem(2))
    assert window.document.active_layer.name == "Background"


def test_drag_reorders_layers_and_undo_restores(qtbot, window) -> None:
    doc = window.document
    doc.add_layer("Third")
    assert names_top_first(window) == ["Third", "Top", "Background"]
    lst = window.layers_panel.list
    lst.setCurrentItem(lst.topLevelItem(0))  # drag "Third" ...
    target = lst.visualItemRect(lst.topLevelItem(2))  # ... onto the lower half of "Background"
    pos = QPointF(target.center().x(), target.bottom() - 1)
    mime = QMimeData()
    drop = QDropEvent(pos, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    lst.dropEvent(drop)
    qtbot.waitUntil(lambda: names_top_first(window) == ["Top", "Background", "Third"],
                    timeout=2000)
    assert [la.name for la in doc.layers] == ["Third", "Background", "Top"]
    doc.undo_stack.undo()
    assert names_top_first(window) == ["Third", "Top", "Background"]


def test_move_buttons_and_merge_down(window) -> None:
    doc = window.document
    panel = window.layers_panel
    top = doc.layer_by_id(next(la.id for la in doc.layers if la.name == "Top"))
    doc.set_active_layer(top)
    panel.act_down.trigger()
    assert names_top_first(window) == ["Background", "Top"]
    assert not panel.act_down.isEnabled() and panel.act_up.isEnabled()
    panel.act_up.trigger()
    assert names_top_first(window) == ["Top", "Background"]
    before = doc.composite().copy()
    panel.act_merge.trigger()
    assert names_top_first(window) == ["Background"]
    assert doc.composite() == before, "merge down keeps the picture"
    doc.undo_stack.undo()
    assert names_top_first(window) == ["Top", "Background"]


def test_blend_mode_combo_changes_layer_and_composite(window) -> None:
    doc = window.document
    top = doc.active_layer
    assert top.name == "Top"
    # a mid-grey background makes multiply visibly different from normal
    doc.set_layer_image(doc.layers[0], _filled(doc, QColor(128, 128, 128)))
    before = doc.composite_for_edit()[16, 24].copy()
    combo = window.layers_panel.blend
    index = combo.findData("multiply")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert top.blend_mode == "multiply"
    after = doc.composite_for_edit()[16, 24]
    expected = np.round(np.array([10, 200, 30]) * 128 / 255)
    assert np.allclose(after[:3], expected, atol=2), (before, after)
    assert not np.array_equal(before, after)
    doc.undo_stack.undo()
    assert top.blend_mode == "normal"
    assert combo.currentData() == "normal", "the combo follows undo"


def _filled(doc, colour):
    from rfedit_desktop.document.image_io import new_image

    return new_image(doc.width, doc.height, colour)


def test_visibility_checkbox_and_opacity_slider_are_undoable(window) -> None:
    doc = window.document
    panel = window.layers_panel
    top = doc.active_layer
    item = panel.list.topLevelItem(0)
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert top.visible is False
    count = doc.undo_stack.count()
    slider = panel.opacity.slider
    slider.setSliderDown(True)
    for v in (90, 70, 50):
        slider.setValue(v)
    slider.setSliderDown(False)
    assert top.opacity == pytest.approx(0.5)
    assert doc.undo_stack.count() == count + 1, "one drag is one history entry"
    doc.undo_stack.undo()
    assert top.opacity == pytest.approx(1.0)
    assert panel.opacity.value() == 100
    doc.undo_stack.undo()
    assert top.visible is True
    assert panel.list.topLevelItem(0).checkState(0) == Qt.CheckState.Checked


def test_rename_in_place(window) -> None:
    item = window.layers_panel.list.topLevelItem(0)
    item.setText(0, "Renamed")
    assert window.document.active_layer.name == "Renamed"
    window.document.undo_stack.undo()
    assert window.layers_panel.list.topLevelItem(0).text(0) == "Top"


def test_refused_layer_operation_shows_message(window, dialogs) -> None:
    doc = window.document
    doc.set_active_layer(doc.layers[0])  # Background: nothing below to merge into
    window.layers_panel.merge_down()
    assert dialogs.shown and dialogs.shown[-1][0] == "warning"
    assert len(doc.layers) == 2


def drop_on(qtbot, lst, item, y_fraction: float) -> None:
    """Drop the current row at a height (0 = top, 1 = bottom) of `item`'s row."""
    rect = lst.visualItemRect(item)
    pos = QPointF(rect.center().x(), rect.top() + rect.height() * y_fraction)
    drop = QDropEvent(pos, Qt.DropAction.MoveAction, QMimeData(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    lst.dropEvent(drop)


def test_ctrl_g_groups_and_drag_moves_into_and_out_of_the_group(qtbot, window) -> None:
    doc = window.document
    lst = window.layers_panel.list
    top = next(la for la in doc.layers if la.name == "Top")
    doc.set_active_layer(top)
    window.canvas.setFocus()
    count = doc.undo_stack.count()
    qtbot.keyClick(window.canvas, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    group = top.parent
    assert group.is_group and doc.undo_stack.count() == count + 1
    assert names_top_first(window) == [group.name, "Top", "Background"]
    assert lst.currentItem().text(0) == group.name and doc.active_node is group
    # drag Background onto the middle of the group row: into the group, on top
    background = doc.layers[0]
    lst.setCurrentItem(lst.topLevelItem(1))
    drop_on(qtbot, lst, lst.topLevelItem(0), 0.5)
    qtbot.waitUntil(lambda: background.parent is group, timeout=2000)
    assert group.children == [top, background]
    assert names_top_first(window) == [group.name, "Background", "Top"]
    # drag Top out, below the group row's lower edge
    lst.setCurrentItem(lst.rows()[2])
    assert lst.currentItem().text(0) == "Top"
    drop_on(qtbot, lst, lst.topLevelItem(0), 0.95)
    qtbot.waitUntil(lambda: top.parent is doc.root, timeout=2000)
    assert names_top_first(window) == [group.name, "Background", "Top"]
    assert doc.root.children == [top, group]
    # Ctrl+Alt+G ungroups the active group: one step
    doc.set_active_layer(group)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_G,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert doc.root.children == [top, background] and doc.layer_by_id(group.id) is None
    assert names_top_first(window) == ["Background", "Top"]
    doc.undo_stack.undo()
    assert names_top_first(window) == [group.name, "Background", "Top"]


def test_move_buttons_step_out_of_a_group_at_its_edge(window) -> None:
    doc = window.document
    panel = window.layers_panel
    top = next(la for la in doc.layers if la.name == "Top")
    group = doc.group_layers([top], "g")
    doc.set_active_layer(top)
    assert panel.act_up.isEnabled() and panel.act_down.isEnabled()
    panel.act_up.trigger()  # the top of its group: out, above the group
    assert doc.root.children[-1] is top and group.children == []
    panel.act_down.trigger()  # back below, at root level
    assert [n.name for n in doc.root.children] == ["Background", "Top", "g"]


def test_group_opacity_slider_and_blend_combo_change_the_group(window) -> None:
    doc = window.document
    top = next(la for la in doc.layers if la.name == "Top")
    group = doc.group_layers([top])
    panel = window.layers_panel
    assert doc.active_node is group and panel.opacity.isEnabled()
    panel.opacity.slider.setValue(40)
    assert group.opacity == pytest.approx(0.4) and top.opacity == 1.0
    index = panel.blend.findData("exclusion")
    panel.blend.setCurrentIndex(index)
    panel.blend.activated.emit(index)
    assert group.blend_mode == "exclusion"


# ------------------------------------------------------------------------------ files
def test_save_and_reopen_keeps_everything(qtbot, window, tmp_path) -> None:
    doc = window.document
    top = doc.active_layer
    doc.set_layer_opacity(top, 0.6, merge=False)
    doc.set_layer_blend_mode(top, "screen")
    hidden = doc.add_layer("Hidden")
    doc.set_layer_visible(hidden, False)
    mask = doc.add_mask_layer()
    s = Stroke(doc, BrushSettings(size=8))
    s.begin(mask, QPointF(10, 10), 1.0)
    s.end()
    assert window.windowTitle().startswith("*")
    path = str(tmp_path / "picture.ora")
    assert window.files.save_to(path)
    assert window.windowTitle() == "picture.ora — rfedit"
    saved = [(la.properties(), la.rgba().tobytes()) for la in doc.layers]

    assert window.files.open_path(path)
    reopened = window.document
    assert reopened is not doc
    assert window.path == path
    got = [(la.properties(), la.rgba().tobytes()) for la in reopened.layers]
    assert len(got) == len(saved)
    for (p0, px0), (p1, px1) in zip(saved, got, strict=True):
        for key in ("name", "kind", "visible", "blend_mode", "x", "y", "width", "height"):
            assert p0[key] == p1[key], key
        assert p0["opacity"] == pytest.approx(p1["opacity"], abs=1e-3)
        assert px0 == px1
    assert not window.is_modified()
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist()[0] == "mimetype"
    assert path in window.settings.value("recent_files")


def test_open_bad_file_shows_error_and_keeps_document(window, dialogs, tmp_path) -> None:
    doc = window.document
    before = doc.composite_for_edit().copy()
    bad = tmp_path / "broken.ora"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    assert window.files.open_path(str(bad)) is False
    png = tmp_path / "truncated.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert window.files.open_path(str(png)) is False
    assert window.files.open_path(str(tmp_path / "missing.png")) is False
    assert [k for k, *_ in dialogs.shown] == ["critical"] * 3
    assert "broken.ora" in dialogs.shown[0][2]
    assert window.document is doc
    assert np.array_equal(doc.composite_for_edit(), before)


def test_failed_save_keeps_modified_and_reports(window, dialogs, tmp_path) -> None:
    window.document.add_layer("x")
    target = tmp_path / "no-such-folder" / "a.ora"
    assert window.files.save_to(str(target)) is False
    assert dialogs.shown[-1][0] == "critical"
    assert window.is_modified()
    assert window.windowTitle().startswith("*")


def test_export_and_import_as_layer(window, tmp_path) -> None:
    out = str(tmp_path / "flat.png")
    assert window.files.export_to(out)
    assert os.path.getsize(out) > 0
    assert not window.is_modified(), "export does not count as saving nor as a change"
    assert window.files.import_layer(out)
    assert window.document.active_layer.name == "flat"
    assert window.is_modified()


# ------------------------------------------------------------------------------ unsaved changes
def test_close_prompt_cancel_discard_and_save(qtbot, window, dialogs, tmp_path,
                                              monkeypatch) -> None:
    window.document.add_layer("change")
    assert window.windowTitle().startswith("*")
    dialogs.answers = [SB.Cancel]
    assert window.close() is False
    assert window.isVisible()
    assert any("Save the changes" in text for _, _, text in dialogs.shown)

    dialogs.answers = [SB.Save]
    target = str(tmp_path / "saved-on-close.ora")
    monkeypatch.setattr("rfedit_desktop.ui.file_actions.QFileDialog.getSaveFileName",
                        lambda *a, **k: (target, "OpenRaster (*.ora)"))
    assert window.close() is True
    assert os.path.exists(target)


def test_close_prompt_discard(window, dialogs) -> None:
    window.document.add_layer("change")
    dialogs.answers = [SB.Discard]
    assert window.close() is True


def test_new_and_open_ask_first(window, dialogs, tmp_path) -> None:
    doc = window.document
    doc.add_layer("change")
    dialogs.answers = [SB.Cancel]
    window.files.new_document()
    assert window.document is doc
    other = tmp_path / "other.png"
    _filled(doc, QColor(1, 2, 3)).save(str(other))
    dialogs.answers = [SB.Cancel]
    assert window.files.open_path(str(other)) is False
    assert window.document is doc
    dialogs.answers = [SB.Discard]
    assert window.files.open_path(str(other)) is True
    assert window.document is not doc
    assert window.windowTitle() == "other.png — rfedit"


# ------------------------------------------------------------------------------ settings
def test_tool_settings_recent_files_and_layout_persist(qtbot, tmp_path) -> None:
    first = MainWindow(restore_state=False, ai=False)
    qtbot.addWidget(first, before_close_func=lambda w: w.discard_changes_and_close())
    first.tools.set_tool(Tool.ERASER)
    first.tools.update_brush(size=77, hardness=0.3, pressure_opacity=True)
    first.tools.set_foreground(QColor(12, 34, 56))
    first.history_dock.hide()
    path = str(tmp_path / "p.ora")
    first.files.save_to(path)
    first.discard_changes_and_close()

    second = MainWindow(ai=False)
    qtbot.addWidget(second, before_close_func=lambda w: w.discard_changes_and_close())
    assert second.tools.tool is Tool.ERASER
    assert second.tools.brush.size == 77
    assert second.tools.brush.hardness == pytest.approx(0.3)
    assert second.tools.brush.pressure_opacity is True
    assert second.tools.foreground == QColor(12, 34, 56)
    assert second.tool_options_panel.size.value() == 77
    assert second.history_dock.isHidden()
    second.files.rebuild_recent_menu()
    assert [a.toolTip() for a in second.recent_menu.actions()][0] == os.path.abspath(path)


def test_ai_panel_attached_after_the_first_frame_comes_back_where_it_was_left(
        qtbot, tmp_path, monkeypatch) -> None:
    """The app shows the window first and builds the Edit dock right after; the artist's
    layout (the Edit dock moved left, the staging strip closed) must still be restored."""
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    left = Qt.DockWidgetArea.LeftDockWidgetArea
    first = MainWindow(restore_state=False)
    qtbot.addWidget(first, before_close_func=lambda w: w.discard_changes_and_close())
    first.show()
    qtbot.waitExposed(first)
    first.addDockWidget(left, first.ai_editing.edit_dock)
    first.ai_editing.staging_dock.hide()
    first.discard_changes_and_close()  # saves the window's layout

    second = MainWindow(ai=False)
    qtbot.addWidget(second, before_close_func=lambda w: w.discard_changes_and_close())
    second.show()
    qtbot.waitExposed(second)
    assert second.ai_editing is None
    ai = second.attach_ai_editing()
    assert ai is not None and second.attach_ai_editing() is ai, "attached once"
    qtbot.waitUntil(lambda: second.dockWidgetArea(ai.edit_dock) == left, timeout=2000)
    assert not ai.edit_dock.isHidden()
    assert ai.staging_dock.isHidden()
    assert second.dockWidgetArea(second.layers_dock) == Qt.DockWidgetArea.RightDockWidgetArea


def test_damaged_settings_fall_back_to_defaults(qtbot) -> None:
    from rfedit_desktop.ui.settings import app_settings

    s = app_settings()
    s.setValue("tools/tool", "chainsaw")
    s.setValue("tools/brush/size", "huge")
    s.setValue("tools/foreground", "not a colour")
    s.sync()
    win = MainWindow(ai=False)
    qtbot.addWidget(win, before_close_func=lambda w: w.discard_changes_and_close())
    assert win.tools.tool is Tool.BRUSH
    assert win.tools.brush.size > 0
    s.remove("tools")
    s.sync()


# ------------------------------------------------------------------------------ autosave
def test_autosave_only_when_modified_and_recovery(qtbot, window, dialogs) -> None:
    assert window.recovery.autosave_now() is None, "nothing to protect"
    window.document.add_layer("precious")
    path = window.recovery.autosave_now()
    assert path and os.path.exists(path)
    assert window.recovery.autosave_now() is None, "no change since the last autosave"
    # the session 'crashes': its marker names a process that no longer runs
    import json

    marker = path[: -len(".ora")] + ".session.json"
    info = json.loads(open(marker, encoding="utf-8").read())
    info["pid"] = 2 ** 22 + 12345
    open(marker, "w", encoding="utf-8").write(json.dumps(info))

    other = MainWindow(restore_state=False, ai=False)
    qtbot.addWidget(other, before_close_func=lambda w: w.discard_changes_and_close())
    from PySide6.QtCore import QTimer

    from rfedit_desktop.ui.recovery_dialog import RecoveryDialog

    def press_open() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RecoveryDialog):
            QTimer.singleShot(20, press_open)
            return
        qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, press_open)
    assert other.recovery.offer_recovery() is True
    assert "precious" in [la.name for la in other.document.layers]
    assert other.is_modified() and other.windowTitle().startswith("*")
    assert other.recovery.offer_recovery() is False, "a recovered autosave is not offered twice"


# ------------------------------------------------------------------------------ start-up
def test_window_shows_without_torch(tmp_path) -> None:
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from rfedit_desktop.ui.main_window import MainWindow\n"
        "w = MainWindow()\n"
        "w.show(); app.processEvents()\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n"
        "w.discard_changes_and_close()\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_app_main_timing_flag(tmp_path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-m", "rfedit_desktop", "--timing", "--quit-after-show",
                          "--no-recover"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "window shown after" in out.stdout
    assert "heavy modules loaded: none" in out.stdout





def test_preferences_apply_to_timer_and_documents(qtbot, window, monkeypatch) -> None:
    from rfedit_desktop.ui.preferences_dialog import Preferences, PreferencesDialog

    monkeypatch.setattr(PreferencesDialog, "exec", lambda self: True)
    monkeypatch.setattr(PreferencesDialog, "preferences",
                        lambda self: Preferences(autosave_minutes=0, undo_limit=7,
                                                 history_memory_mb=64))
    window.edit_preferences()
    assert not window.autosave_timer.isActive(), "0 minutes turns autosave off"
    assert window.document.history_budget.budget == 64 * 1024 * 1024
    window.new_document_untitled(32, 32)
    assert window.document.undo_stack.undoLimit() == 7
    stored = Preferences.load(window.settings)
    assert stored == Preferences(0, 7, 64)
    window.settings.setValue("undo_limit", "lots")
    assert Preferences.load(window.settings).undo_limit == Preferences().undo_limit
    Preferences().save(window.settings)


def test_delete_clears_layer_but_not_while_typing(qtbot, window) -> None:
    top = window.document.active_layer
    assert top.rgba()[..., 3].any()
    field = QLineEdit("abc")
    window.add_dock(field, "Prompt", "TestPromptDock")
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=1000)
    field.setCursorPosition(0)
    qtbot.keyClick(field, Qt.Key.Key_Delete)
    assert field.text() == "bc"
    assert top.rgba()[..., 3].any(), "Delete in a text box edits the text only"
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert not top.rgba()[..., 3].any()
    window.document.undo_stack.undo()
    assert top.rgba()[..., 3].any()


def test_lock_alpha_action(window) -> None:
    top = window.document.active_layer
    act = window.layers_panel.act_lock_alpha
    act.trigger()
    assert top.alpha_locked and act.isChecked()
    window.document.undo_stack.undo()
    assert not top.alpha_locked and not act.isChecked()


def test_shortcut_list_is_read_from_actions(window) -> None:
    from rfedit_desktop.ui.shortcuts_dialog import ShortcutsDialog, shortcut_rows

    rows = dict(shortcut_rows(window.all_actions()))
    assert rows["Brush"] == "B"
    assert "Ctrl+Z" in rows["Undo"]
    assert "Ctrl+Shift+Z" in rows["Redo"]
    assert rows["Export Image"] == "Ctrl+E"
    dialog = ShortcutsDialog(window.all_actions(), window)
    assert dialog.table.rowCount() >= len(rows)


def test_dropping_files_imports_layers_or_opens_project(qtbot, window, dialogs,
                                                        tmp_path) -> None:
    from PySide6.QtCore import QUrl

    png = tmp_path / "dropped.png"
    _filled(window.document, QColor(9, 9, 9)).save(str(png))

    def drop(path) -> None:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        window.dropEvent(event)

    drop(png)
    assert window.document.active_layer.name == "dropped"
    ora = tmp_path / "dropped.ora"
    assert window.files.save_to(str(ora))
    window.document.add_layer("after save")
    dialogs.answers = [SB.Discard]
    drop(ora)
    assert window.path == str(ora)
    assert "after save" not in [la.name for la in window.document.layers]


def test_open_recent_missing_file_is_reported_and_forgotten(window, dialogs, tmp_path) -> None:
    from rfedit_desktop.ui.recent_files import add_recent_file, recent_files

    gone = str(tmp_path / "gone.ora")
    add_recent_file(window.settings, gone)
    window.files.rebuild_recent_menu()
    action = next(a for a in window.recent_menu.actions() if a.toolTip() == gone)
    doc = window.document
    action.trigger()
    assert dialogs.shown[-1][0] == "warning" and gone in dialogs.shown[-1][2]
    assert gone not in recent_files(window.settings)
    assert window.document is doc


def test_unexpected_error_in_a_slot_shows_a_message(qtbot, window, dialogs) -> None:
    from rfedit_desktop.ui import error_hook

    try:
        raise ValueError("boom")
    except ValueError:
        error_hook._hook(*sys.exc_info())
    assert dialogs.shown[-1][0] == "critical"
    assert "boom" in dialogs.shown[-1][2]
    assert window.isVisible()
