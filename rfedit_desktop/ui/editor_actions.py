"""The photo-editing actions around the canvas: clipboard, selection, fill and image geometry.

A collaborator of `MainWindow` (built once, given the window): it files its actions into the
Edit menu and new Select and Image menus, registers the non-painting tools with the canvas,
draws the marching ants, and moves images through the system clipboard both ways. Every
document change goes through `rfedit_desktop.document` (one undo step each); a refusal is
shown as a message and leaves the picture as it was.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QMimeData, QObject, QPoint
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QInputDialog,
    QMenu,
    QMessageBox,
    QVBoxLayout,
)

from rfedit_desktop.document import copy_paste, fill, image_ops
from rfedit_desktop.ui.fill_tool import FillTool
from rfedit_desktop.ui.image_dialogs import CanvasSizeDialog, ImageSizeDialog
from rfedit_desktop.ui.selection_tools import MarchingAnts, SelectionTool
from rfedit_desktop.ui.tool_options_dock import SliderRow
from rfedit_desktop.ui.tool_state import Tool
from rfedit_desktop.ui.transform_tool import CropTool, MoveTool, TransformTool

POSITION_MIME = "application/x-rfedit-position"
"""Where copied pixels came from, so Ctrl+V in rfedit puts them back in place."""
TOOL_HINTS = {
    Tool.TRANSFORM: "Transform: drag a handle to scale (Shift keeps proportions), outside the "
                    "box to rotate, inside to move; Enter applies, Esc cancels",
    Tool.CROP: "Crop: drag the rectangle to keep, adjust it by its handles, then press Enter "
               "(Esc forgets it)",
    Tool.POLYGON: "Polygonal lasso: click the corners; Enter, a double-click or the first "
                  "corner closes it",
    Tool.MOVE: "Move: drag the layer or the selected pixels; arrow keys nudge (Shift: 10 px)",
}
SELECTION_TOOLS = (Tool.SELECT_RECT, Tool.SELECT_ELLIPSE, Tool.LASSO, Tool.POLYGON,
                   Tool.MAGIC_WAND)


class EditorActions(QObject):
    """Builds the actions (`act_*`) and menus; `window` is the MainWindow."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        canvas = window.canvas
        report = canvas.stroke_failed.emit
        self.selection_tool = SelectionTool(canvas, window.tools, report)
        self.transform_tool = TransformTool(canvas, report)
        self.move_tool = MoveTool(canvas, report)
        self.crop_tool = CropTool(canvas, report)
        self.fill_tool = FillTool(canvas, window.tools, report)
        for tool in SELECTION_TOOLS:
            canvas.register_tool(tool, self.selection_tool)
        canvas.register_tool(Tool.TRANSFORM, self.transform_tool)
        canvas.register_tool(Tool.MOVE, self.move_tool)
        canvas.register_tool(Tool.CROP, self.crop_tool)
        canvas.register_tool(Tool.FILL, self.fill_tool)
        self.ants = MarchingAnts(canvas)
        canvas.add_overlay(self.ants)
        window.tools.tool_changed.connect(self._tool_changed)
        window.document_changed.connect(self._document_changed)
        self._build_actions()
        self._build_menus()
        self._build_options()
        if window.document is not None:
            self._document_changed(window.document)

    # ---------------------------------------------------------------- construction
    def _action(self, text: str, slot: Callable[[], object], shortcut: str | None = None,
                tip: str | None = None, finish: bool = True) -> QAction:
        """An action whose refusals become messages; `finish` first ends what the canvas tools
        have in progress (a stroke, lifted pixels)."""
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _=False: self._run(slot, finish))
        self.window.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        doc = lambda: self.window.document  # noqa: E731
        self.act_cut = a("Cu&t", self.cut, "Ctrl+X", "Copy the selection and leave transparency")
        self.act_copy = a("&Copy", lambda: self.copy(merged=False), "Ctrl+C")
        self.act_copy_merged = a("Copy &Merged", lambda: self.copy(merged=True), "Ctrl+Shift+C",
                                 "Copy the selection of the visible image")
        self.act_paste = a("&Paste as New Layer", self.paste, "Ctrl+V")
        self.act_fill_fg = a("Fill with &Foreground Colour",
                             lambda: fill.fill_selection(doc(), self.window.tools.foreground,
                                                         text="Fill with foreground"),
                             "Shift+Backspace")
        self.act_fill_bg = a("Fill with &Background Colour",
                             lambda: fill.fill_selection(doc(), self.window.tools.background,
                                                         text="Fill with background"),
                             "Backspace")
        self.act_flip_transform_h = a("Flip Transform Horizontally",
                                      lambda: self._transform_flip(True), finish=False)
        self.act_flip_transform_v = a("Flip Transform Vertically",
                                      lambda: self._transform_flip(False), finish=False)

        self.act_select_all = a("Select &All", lambda: doc().selection.select_all(), "Ctrl+A")
        self.act_deselect = a("&Deselect", lambda: doc().selection.deselect(), "Ctrl+Shift+A")
        self.act_invert = a("&Invert Selection", lambda: doc().selection.invert(),
                            "Ctrl+Shift+I")
        self.act_feather = a("&Feather Selection…", lambda: self._radius("Feather", "feather"),
                             "Shift+F6")
        self.act_grow = a("&Grow Selection…", lambda: self._radius("Grow", "grow"))
        self.act_shrink = a("S&hrink Selection…", lambda: self._radius("Shrink", "shrink"))
        self.act_to_mask = a("Selection to &Mask", lambda: doc().selection.to_mask_layer(),
                             tip="The AI edit mask becomes the selection's shape")
        self.act_from_mask = a("Mask to S&election", lambda: doc().selection.from_mask_layer())

        self.act_crop_selection = a("&Crop to Selection",
                                    lambda: image_ops.crop_to_selection(doc()))
        self.act_image_size = a("&Image Size…", self.image_size, "Ctrl+Alt+I")
        self.act_canvas_size = a("Ca&nvas Size…", self.canvas_size, "Ctrl+Alt+C")
        self.act_rotations = {
            kind: a(text, lambda k=kind: image_ops.rotate(doc(), k))
            for kind, text in (("cw", "Rotate 90° &Clockwise"),
                               ("ccw", "Rotate 90° C&ounter-Clockwise"),
                               ("180", "Rotate &180°"),
                               ("flip-h", "Flip &Horizontally"),
                               ("flip-v", "Flip &Vertically"))
        }

    def _build_menus(self) -> None:
        w = self.window
        edit = w.edit_menu
        first = edit.actions()[2] if len(edit.actions()) > 2 else None  # after Undo, Redo
        for act in (self.act_cut, self.act_copy, self.act_copy_merged, self.act_paste, None,
                    self.act_fill_fg, self.act_fill_bg, w.layers_panel.act_clear, None):
            if act is None:
                edit.insertSeparator(first)
            else:
                edit.insertAction(first, act)
        transform = QMenu("Trans&form", edit)
        transform.addAction(w.tool_actions[Tool.TRANSFORM])
        transform.addAction(self.act_flip_transform_h)
        transform.addAction(self.act_flip_transform_v)
        edit.insertMenu(first, transform)
        edit.insertSeparator(first)

        self.image_menu = QMenu("&Image", w)
        w.menuBar().insertMenu(w.layer_menu.menuAction(), self.image_menu)
        for act in (w.tool_actions[Tool.CROP], self.act_crop_selection, None,
                    self.act_image_size, self.act_canvas_size, None,
                    *self.act_rotations.values()):
            if act is None:
                self.image_menu.addSeparator()
            else:
                self.image_menu.addAction(act)

        self.select_menu = QMenu("&Select", w)
        w.menuBar().insertMenu(w.view_menu.menuAction(), self.select_menu)
        for act in (self.act_select_all, self.act_deselect, self.act_invert, None,
                    self.act_feather, self.act_grow, self.act_shrink, None,
                    self.act_to_mask, self.act_from_mask, None,
                    *(w.tool_actions[t] for t in SELECTION_TOOLS)):
            if act is None:
                self.select_menu.addSeparator()
            else:
                self.select_menu.addAction(act)

    def _build_options(self) -> None:
        """Tolerance, contiguous and sample-merged for the magic wand and fill, in Tool Options."""
        tools = self.window.tools
        box = QGroupBox("Magic wand and fill")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.tolerance = SliderRow(0, 255)
        self.tolerance.set_value(tools.area.tolerance)
        self.contiguous = QCheckBox("Contiguous")
        self.contiguous.setChecked(tools.area.contiguous)
        self.merged = QCheckBox("Sample the visible image")
        self.merged.setChecked(tools.area.merged)
        form.addRow("Tolerance", self.tolerance)
        layout.addLayout(form)
        layout.addWidget(self.contiguous)
        layout.addWidget(self.merged)
        self.tolerance.value_changed.connect(lambda v: tools.update_area(tolerance=v))
        self.contiguous.toggled.connect(lambda on: tools.update_area(contiguous=on))
        self.merged.toggled.connect(lambda on: tools.update_area(merged=on))
        panel_layout = self.window.tool_options_panel.layout()
        panel_layout.insertWidget(panel_layout.count() - 1, box)
        self.options_box = box

    # ---------------------------------------------------------------- plumbing
    def _run(self, slot: Callable[[], object], finish: bool = True) -> None:
        """Run an action; a refusal becomes a message and the document stays as it was."""
        if self.window.document is None:
            return
        if finish:
            self.window.canvas.finish_stroke()
        try:
            slot()
        except Exception as exc:  # noqa: BLE001 - any refusal is shown, never a crash
            QMessageBox.warning(self.window, "Not possible", str(exc) or type(exc).__name__)

    def _document_changed(self, document) -> None:
        self.ants.set_document(document)
        try:
            document.size_changed.connect(self._size_changed)
        except (RuntimeError, TypeError):
            pass

    def _size_changed(self, size) -> None:
        self.window.size_label.setText(f"{size.width()} × {size.height()} px")

    def _tool_changed(self, tool: Tool) -> None:
        hint = TOOL_HINTS.get(tool)
        if hint:
            self.window.statusBar().showMessage(hint, 8000)
        if tool is Tool.TRANSFORM and self.window.document is not None:
            self.transform_tool.begin()

    def _transform_flip(self, horizontal: bool) -> None:
        self.window.tools.set_tool(Tool.TRANSFORM)
        self.transform_tool.flip(horizontal)

    def _radius(self, title: str, op: str) -> None:
        radius, ok = QInputDialog.getInt(self.window, f"{title} Selection", "Radius (pixels):",
                                         5, 1, 500)
        if ok:
            getattr(self.window.document.selection, op)(radius)

    # ---------------------------------------------------------------- clipboard
    def copy(self, merged: bool = False) -> None:
        image, at = copy_paste.copy_pixels(self.window.document, merged)
        self._to_clipboard(image, at)
        self.window.statusBar().showMessage(
            f"Copied {image.width()} × {image.height()} px", 3000)

    def cut(self) -> None:
        image, at = copy_paste.cut_pixels(self.window.document)
        self._to_clipboard(image, at)

    def _to_clipboard(self, image: QImage, at: QPoint) -> None:
        mime = QMimeData()
        mime.setImageData(image)
        mime.setData(POSITION_MIME, QByteArray(f"{at.x()},{at.y()}".encode()))
        QGuiApplication.clipboard().setMimeData(mime)
        _hand_over_at_exit()

    def paste(self) -> None:
        """Ctrl+V: the clipboard image as a new layer where it was copied from (rfedit), else
        at the selection, else centred."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasImage():
            raise ValueError("The clipboard holds no image to paste.")
        image = QImage(mime.imageData())
        doc = self.window.document
        at = _position(mime)
        if at is None and doc.selection.value is not None:
            at = doc.selection.value.rect.topLeft()
        copy_paste.paste_image(doc, image, at)

    # ---------------------------------------------------------------- image dialogs
    def image_size(self) -> None:
        doc = self.window.document
        dialog = ImageSizeDialog(doc.width, doc.height, self.window)
        if dialog.exec():
            w, h, method = dialog.values()
            image_ops.resize_image(doc, w, h, method)

    def canvas_size(self) -> None:
        doc = self.window.document
        dialog = CanvasSizeDialog(doc.width, doc.height, self.window)
        if dialog.exec():
            w, h, anchor = dialog.values()
            image_ops.resize_canvas(doc, w, h, anchor)


def _position(mime: QMimeData) -> QPoint | None:
    if not mime.hasFormat(POSITION_MIME):
        return None
    try:
        x, y = bytes(mime.data(POSITION_MIME)).decode().split(",")
        return QPoint(int(x), int(y))
    except ValueError:
        return None


_handing_over = False


def _hand_over_at_exit() -> None:
    """Replace our clipboard data by a plain image before the interpreter exits.

    A QMimeData made in Python and still held by the clipboard crashes PySide6 (6.11) while
    Qt tears the application down; the plain image that Qt owns survives for other programs.
    """
    global _handing_over
    if not _handing_over:
        _handing_over = True
        atexit.register(_hand_over)


def _hand_over() -> None:
    if QGuiApplication.instance() is None:
        return
    clipboard = QGuiApplication.clipboard()
    data = clipboard.mimeData()
    if data is None or not data.hasFormat(POSITION_MIME):
        return
    image = clipboard.image()
    if image.isNull():
        clipboard.clear()
    else:
        clipboard.setImage(image)
