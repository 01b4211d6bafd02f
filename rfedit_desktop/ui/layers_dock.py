"""Layers panel: the stack top to bottom with thumbnails, visibility, opacity, blend mode.

The list widget is only a picture of `Document.layers`: every edit here becomes a Document call
(one undo command), and the list is rebuilt from the document when it announces a change, so the
two can never disagree — drag-and-drop included.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.document.blend import BLEND_LABELS, BLEND_MODES
from rfedit_desktop.ui.checkerboard import checker_brush
from rfedit_desktop.ui.icons import icon
from rfedit_desktop.ui.theme import MASK_TINT
from rfedit_desktop.ui.tool_options_dock import SliderRow

THUMB = 40
LAYER_ROLE = Qt.ItemDataRole.UserRole + 1


def layer_thumbnail(image: QImage, is_mask: bool, size: int = THUMB) -> QPixmap:
    """The layer scaled into a square over a checkerboard (masks drawn as their tint)."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    if image.isNull() or image.width() == 0 or image.height() == 0:
        return pix
    scaled = image.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)
    at = QPoint((size - scaled.width()) // 2, (size - scaled.height()) // 2)
    p = QPainter(pix)
    p.fillRect(QRect(at, scaled.size()), checker_brush(4))
    if is_mask:
        tinted = QImage(scaled.size(), QImage.Format.Format_ARGB32_Premultiplied)
        tinted.fill(0)
        tp = QPainter(tinted)
        tp.drawImage(0, 0, scaled)
        tp.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        tp.fillRect(tinted.rect(), MASK_TINT)
        tp.end()
        scaled = tinted
    p.drawImage(at, scaled)
    p.end()
    return pix


class LayerList(QListWidget):
    """Top layer first. Drag and drop reorders through the panel (never by itself)."""

    def __init__(self, panel: LayersPanel) -> None:
        super().__init__()
        self.panel = panel
        self.setIconSize(QSize(THUMB, THUMB))
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setSpacing(1)

    def dropEvent(self, event) -> None:  # noqa: N802
        """Work out where the dragged row would land, then let the document do the move."""
        item = self.currentItem()
        if item is None:
            event.ignore()
            return
        source_row = self.row(item)
        target = self.itemAt(event.position().toPoint())
        if target is None:
            dest_row = self.count() - 1
        else:
            dest_row = self.row(target)
            rect = self.visualItemRect(target)
            below = event.position().y() > rect.center().y()
            if dest_row > source_row and not below:
                dest_row -= 1
            elif dest_row < source_row and below:
                dest_row += 1
        event.setDropAction(Qt.DropAction.IgnoreAction)  # the list is rebuilt from the doc
        event.accept()
        if dest_row != source_row:
            # after the drag machinery has unwound: the move rebuilds this very list
            QTimer.singleShot(0, lambda: self.panel.move_row(source_row, dest_row))


class LayersPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = None
        self._rebuilding = False
        self.blend = QComboBox()
        for key in BLEND_MODES:
            self.blend.addItem(BLEND_LABELS[key], key)
        self.blend.setToolTip("Blend mode of the active layer")
        self.opacity = SliderRow(0, 100, " %")
        self.opacity.setToolTip("Opacity of the active layer")
        self.list = LayerList(self)

        top = QHBoxLayout()
        top.addWidget(QLabel("Mode"))
        top.addWidget(self.blend, 1)
        op_row = QHBoxLayout()
        op_row.addWidget(QLabel("Opacity"))
        op_row.addWidget(self.opacity, 1)

        self.act_add = self._make_action("New Layer", "layer-add", self.add_layer,
                                         "Ctrl+Shift+N")
        self.act_add_mask = self._make_action("New Mask Layer", "mask", self.add_mask_layer)
        self.act_duplicate = self._make_action("Duplicate Layer", "layer-duplicate",
                                               self.duplicate_layer, "Ctrl+J")
        self.act_delete = self._make_action("Delete Layer", "layer-delete", self.delete_layer)
        self.act_merge = self._make_action("Merge Down", "layer-merge-down", self.merge_down)
        self.act_up = self._make_action("Move Layer Up", "layer-up", self.move_up)
        self.act_down = self._make_action("Move Layer Down", "layer-down", self.move_down)
        self.act_rename = self._make_action("Rename Layer…", None, self.rename_layer, "F2")
        self.act_flatten = self._make_action("Flatten Image", None, self.flatten)
        self.act_clear = self._make_action("Clear Layer", None, self.clear_layer, "Delete")
        self.act_lock_alpha = self._make_action("Lock Alpha", None, self._lock_alpha_toggled)
        self.act_lock_alpha.setCheckable(True)
        self.act_lock_alpha.setToolTip("Lock alpha: brushes recolour existing paint only")
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for act in (self.act_add, self.act_add_mask, self.act_duplicate, self.act_merge,
                    self.act_up, self.act_down, self.act_delete):
            b = QToolButton()
            b.setDefaultAction(act)
            b.setIconSize(QSize(18, 18))
            b.setAutoRaise(True)
            buttons.addWidget(b)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(op_row)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        self.list.currentRowChanged.connect(self._row_selected)
        self.list.itemChanged.connect(self._item_edited)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.blend.activated.connect(self._blend_chosen)
        self.opacity.value_changed.connect(self._opacity_dragged)
        self.opacity.slider.sliderReleased.connect(self._end_merge)
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(250)
        self._thumb_timer.timeout.connect(self._refresh_thumbnails)
        self._stale_thumbs: set[int] = set()
        self._thumb_cache: dict[int, tuple[tuple, QIcon]] = {}
        self._sync_enabled()

    def _make_action(self, text: str, icon_name: str | None, slot, shortcut: str | None = None
                     ) -> QAction:
        act = QAction(text, self)
        if icon_name:
            act.setIcon(icon(icon_name))
        if shortcut:
            act.setShortcut(shortcut)
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setToolTip(text + (f" ({shortcut})" if shortcut else ""))
        act.triggered.connect(slot)
        return act

    def fill_menu(self, menu: QMenu) -> None:
        """Put the layer actions in the window's Layer menu (their shortcuts live there)."""
        for act in (self.act_add, self.act_add_mask, self.act_duplicate, self.act_rename,
                    self.act_delete):
            menu.addAction(act)
        menu.addSeparator()
        for act in (self.act_up, self.act_down, self.act_merge, self.act_flatten):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.act_clear)
        menu.addAction(self.act_lock_alpha)

    # ------------------------------------------------------------------ document binding
    def set_document(self, document) -> None:
        if self.document is not None:
            for signal, slot in self._connections():
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self.document = document
        self._thumb_cache.clear()
        if document is not None:
            for signal, slot in self._connections():
                signal.connect(slot)
        self.rebuild()

    def _connections(self):
        doc = self.document
        return [
            (doc.layers_changed, self.rebuild),
            (doc.active_layer_changed, self._active_changed),
            (doc.layer_pixels_changed, self._pixels_changed),
            (doc.edit_history_changed, self.rebuild),  # tooltips name the edit's prompt
        ]

    def _layers_top_first(self) -> list:
        return list(reversed(self.document.layers)) if self.document is not None else []

    def rebuild(self, *_args) -> None:
        """Refill the list from the document (cheap: a handful of rows)."""
        self._rebuilding = True
        self.list.clear()
        active = self.document.active_layer if self.document is not None else None
        for layer in self._layers_top_first():
            item = QListWidgetItem()
            item.setData(LAYER_ROLE, layer.id)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
                          | Qt.ItemFlag.ItemIsDragEnabled)
            self._fill_item(item, layer)
            self.list.addItem(item)
            if layer is active:
                self.list.setCurrentItem(item)
        self._rebuilding = False
        self._show_properties()
        self._sync_enabled()

    def _fill_item(self, item: QListWidgetItem, layer) -> None:
        was = self._rebuilding
        self._rebuilding = True
        item.setText(layer.name)
        item.setIcon(self._thumbnail(layer))
        item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
        tip = f"{layer.name} — {BLEND_LABELS.get(layer.blend_mode, layer.blend_mode)}, " \
              f"{round(layer.opacity * 100)} %"
        if layer.is_mask:
            tip = f"{layer.name} — edit mask: painted area may be changed by an AI edit"
            font = item.font()
            font.setItalic(True)
            item.setFont(font)
        edit = self.document.applied_edit(layer.id) if self.document is not None else None
        if edit is not None and edit.get("prompt"):
            tip += f"\nEdit: “{edit['prompt']}”"
        item.setToolTip(tip)
        self._rebuilding = was

    def _thumbnail(self, layer) -> QIcon:
        """Scaling a big layer costs milliseconds: reuse it until the pixels change."""
        key = (layer.id, layer.image.cacheKey(), layer.is_mask)
        cached = self._thumb_cache.get(layer.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        thumb = QIcon(layer_thumbnail(layer.image, layer.is_mask))
        self._thumb_cache[layer.id] = (key, thumb)
        return thumb

    def _item_for(self, layer) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(LAYER_ROLE) == layer.id:
                return item
        return None

    def _layer_at_row(self, row: int):
        layers = self._layers_top_first()
        return layers[row] if 0 <= row < len(layers) else None

    def _active_changed(self, *_args) -> None:
        layer = self.document.active_layer
        item = self._item_for(layer) if layer is not None else None
        if item is not None and self.list.currentItem() is not item:
            self._rebuilding = True
            self.list.setCurrentItem(item)
            self._rebuilding = False
        self._show_properties()
        self._sync_enabled()

    def _pixels_changed(self, layer_id: int) -> None:
        # thumbnails are cheap but not free: refresh them a moment after painting pauses
        self._stale_thumbs.add(int(layer_id))
        self._thumb_timer.start()

    def _refresh_thumbnails(self) -> None:
        if self.document is None:
            return
        for layer_id in self._stale_thumbs:
            layer = self.document.layer_by_id(layer_id)
            item = self._item_for(layer) if layer is not None else None
            if item is not None:
                self._fill_item(item, layer)
        self._stale_thumbs.clear()

    def _show_properties(self) -> None:
        layer = self.document.active_layer if self.document is not None else None
        if layer is None:
            return
        index = self.blend.findData(layer.blend_mode)
        self.blend.blockSignals(True)
        self.blend.setCurrentIndex(max(0, index))
        self.blend.blockSignals(False)
        self.opacity.set_value(round(layer.opacity * 100))
        is_paint = not layer.is_mask
        self.blend.setEnabled(is_paint)
        self.opacity.setEnabled(is_paint)

    def _sync_enabled(self) -> None:
        doc = self.document
        layers = doc.layers if doc is not None else []
        active = doc.active_layer if doc is not None else None
        index = layers.index(active) if active in layers else -1
        has = active is not None
        self.act_delete.setEnabled(has)
        self.act_duplicate.setEnabled(has)
        self.act_rename.setEnabled(has)
        self.act_up.setEnabled(has and index < len(layers) - 1)
        self.act_down.setEnabled(has and index > 0)
        self.act_merge.setEnabled(has and index > 0 and not active.is_mask
                                  and not layers[index - 1].is_mask)
        self.act_flatten.setEnabled(len(layers) > 1)
        self.act_clear.setEnabled(has)
        self.act_lock_alpha.setEnabled(has and not active.is_mask)
        self.act_lock_alpha.setChecked(bool(has and active.alpha_locked))
        self.act_add_mask.setEnabled(doc is not None and doc.mask_layer is None)

    # ------------------------------------------------------------------ edits → document
    def _guard(self, fn, *args):
        """Run a document operation; a refusal (DocumentError) becomes a message, not a crash."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Layers", str(exc) or exc.__class__.__name__)
            return None

    def _row_selected(self, row: int) -> None:
        if self._rebuilding or self.document is None:
            return
        layer = self._layer_at_row(row)
        if layer is not None and layer is not self.document.active_layer:
            self.document.set_active_layer(layer)

    def _item_edited(self, item: QListWidgetItem) -> None:
        if self._rebuilding or self.document is None:
            return
        layer = self._layer_at_row(self.list.row(item))
        if layer is None:
            return
        # read everything first: a document change rebuilds the list and deletes `item`
        visible = item.checkState() == Qt.CheckState.Checked
        name = item.text().strip()
        if visible != layer.visible:
            self._guard(self.document.set_layer_visible, layer, visible)
        elif name and name != layer.name:
            self._guard(self.document.rename_layer, layer, name)
        elif not name:
            self._fill_item(item, layer)

    def _blend_chosen(self, index: int) -> None:
        layer = self.document.active_layer if self.document is not None else None
        if layer is not None:
            self._guard(self.document.set_layer_blend_mode, layer, self.blend.itemData(index))

    def _opacity_dragged(self, value: int) -> None:
        layer = self.document.active_layer if self.document is not None else None
        if layer is not None:
            self._guard(self.document.set_layer_opacity, layer, value / 100.0)
        if not self.opacity.slider.isSliderDown():
            self._end_merge()

    def _end_merge(self) -> None:
        if self.document is not None:
            self.document.end_property_merge()

    def move_row(self, source_row: int, dest_row: int) -> None:
        """Drag and drop: rows count from the top, the document's indexes from the bottom."""
        layer = self._layer_at_row(source_row)
        if layer is None or self.document is None:
            return
        n = len(self.document.layers)
        self._guard(self.document.move_layer, layer, n - 1 - dest_row)

    def add_layer(self) -> None:
        if self.document is not None:
            self._guard(self.document.add_layer)

    def add_mask_layer(self) -> None:
        if self.document is not None:
            self._guard(self.document.add_mask_layer)

    def duplicate_layer(self) -> None:
        if self.document is not None and self.document.active_layer is not None:
            self._guard(self.document.duplicate_layer, self.document.active_layer)

    def delete_layer(self) -> None:
        if self.document is not None and self.document.active_layer is not None:
            self._guard(self.document.delete_layer, self.document.active_layer)

    def merge_down(self) -> None:
        if self.document is not None and self.document.active_layer is not None:
            self._guard(self.document.merge_down, self.document.active_layer)

    def flatten(self) -> None:
        if self.document is not None:
            self._guard(self.document.flatten)

    def clear_layer(self) -> None:
        if self.document is not None and self.document.active_layer is not None:
            self._guard(self.document.clear_layer, self.document.active_layer)

    def _lock_alpha_toggled(self, on: bool) -> None:
        layer = self.document.active_layer if self.document is not None else None
        if layer is not None and layer.alpha_locked != on:
            self._guard(self.document.set_layer_alpha_locked, layer, on)

    def _move_by(self, step: int) -> None:
        doc = self.document
        if doc is None or doc.active_layer is None:
            return
        index = doc.index_of(doc.active_layer) + step
        if 0 <= index < len(doc.layers):
            self._guard(doc.move_layer, doc.active_layer, index)

    def move_up(self) -> None:
        self._move_by(1)

    def move_down(self) -> None:
        self._move_by(-1)

    def rename_layer(self) -> None:
        doc = self.document
        if doc is None or doc.active_layer is None:
            return
        layer = doc.active_layer
        name, ok = QInputDialog.getText(self, "Rename Layer", "Name:", text=layer.name)
        if ok and name.strip() and name.strip() != layer.name:
            self._guard(doc.rename_layer, layer, name.strip())

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.list.setCurrentItem(item)  # act on the layer that was right-clicked
        menu = QMenu(self)
        self.fill_menu(menu)
        menu.exec(self.list.viewport().mapToGlobal(pos))
