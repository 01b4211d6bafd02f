"""Layers panel: the layer tree top to bottom with thumbnails, visibility, opacity, blend mode.

The tree widget is only a picture of the document's layer tree: every edit here becomes a
Document call (one undo command), and the tree is rebuilt from the document when it announces a
change, so the two can never disagree — drag-and-drop into and out of groups included.
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
    QMenu,
    QMessageBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.document.blend import BLEND_LABELS, BLEND_MODES
from rfedit_desktop.document.fill import clear_selection
from rfedit_desktop.document.image_io import fit_smoothly
from rfedit_desktop.ui.checkerboard import checker_brush
from rfedit_desktop.ui.icons import icon
from rfedit_desktop.ui.theme import MASK_TINT
from rfedit_desktop.ui.tool_options_dock import SliderRow

THUMB = 40
LAYER_ROLE = Qt.ItemDataRole.UserRole + 1
GROUP_ROLE = Qt.ItemDataRole.UserRole + 2


def layer_thumbnail(image: QImage, is_mask: bool, size: int = THUMB) -> QPixmap:
    """The layer scaled into a square over a checkerboard (masks drawn as their tint)."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    if image.isNull() or image.width() == 0 or image.height() == 0:
        return pix
    scaled = fit_smoothly(image, size)  # after a stroke on a photo: no full smooth scale
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


class LayerList(QTreeWidget):
    """Top node first, groups as expandable rows. Drag and drop moves through the panel (never
    by itself): on the middle of a group row it drops into the group, elsewhere above or below
    the row under the pointer."""

    def __init__(self, panel: LayersPanel) -> None:
        super().__init__()
        self.panel = panel
        self.setHeaderHidden(True)
        self.setColumnCount(1)
        self.setIndentation(14)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)

    def rows(self) -> list[QTreeWidgetItem]:
        """Every item, top to bottom as shown (children under their group)."""
        out: list[QTreeWidgetItem] = []

        def walk(item: QTreeWidgetItem) -> None:
            out.append(item)
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.topLevelItemCount()):
            walk(self.topLevelItem(i))
        return out

    def drop_target(self, pos: QPoint) -> tuple[int | None, str]:
        """(node id under `pos` or None, "above" | "below" | "into")."""
        target = self.itemAt(pos)
        if target is None:
            return None, "below"
        rect = self.visualItemRect(target)
        node_id = target.data(0, LAYER_ROLE)
        if target.data(0, GROUP_ROLE):
            quarter = rect.height() / 4
            if rect.top() + quarter <= pos.y() <= rect.bottom() - quarter:
                return node_id, "into"
        return node_id, "below" if pos.y() > rect.center().y() else "above"

    def dropEvent(self, event) -> None:  # noqa: N802
        """Work out where the dragged row would land, then let the document do the move."""
        item = self.currentItem()
        if item is None:
            event.ignore()
            return
        source_id = item.data(0, LAYER_ROLE)
        target_id, where = self.drop_target(event.position().toPoint())
        event.setDropAction(Qt.DropAction.IgnoreAction)  # the tree is rebuilt from the doc
        event.accept()
        if target_id != source_id:
            # after the drag machinery has unwound: the move rebuilds this very tree
            QTimer.singleShot(0, lambda: self.panel.drop_node(source_id, target_id, where))


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
        self.act_group = self._make_action("Group Layer", "layer-group", self.group_layer,
                                           "Ctrl+G")
        self.act_ungroup = self._make_action("Ungroup", None, self.ungroup, "Ctrl+Alt+G")
        self.act_isolate = self._make_action("Isolate Group", None, self._isolate_toggled)
        self.act_isolate.setCheckable(True)
        self.act_isolate.setToolTip("Composite the group as a unit even when it is normal, "
                                    "100 % (OpenRaster isolation)")
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
        for act in (self.act_add, self.act_add_mask, self.act_group, self.act_duplicate,
                    self.act_merge, self.act_up, self.act_down, self.act_delete):
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

        self.list.currentItemChanged.connect(self._row_selected)
        self.list.itemChanged.connect(self._item_edited)
        self.list.itemExpanded.connect(self._expansion_changed)
        self.list.itemCollapsed.connect(self._expansion_changed)
        self._collapsed: set[int] = set()
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
        for act in (self.act_group, self.act_ungroup, self.act_isolate):
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

    def rebuild(self, *_args) -> None:
        """Refill the tree from the document (cheap: a handful of rows)."""
        self._rebuilding = True
        self.list.clear()
        doc = self.document
        active = doc.active_node if doc is not None else None

        def add(nodes, parent_item) -> None:
            for node in reversed(nodes):  # top first
                item = QTreeWidgetItem()
                item.setData(0, LAYER_ROLE, node.id)
                item.setData(0, GROUP_ROLE, node.is_group)
                flags = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                         | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
                         | Qt.ItemFlag.ItemIsDragEnabled)
                if node.is_group:
                    flags |= Qt.ItemFlag.ItemIsDropEnabled
                item.setFlags(flags)
                self._fill_item(item, node)
                if parent_item is None:
                    self.list.addTopLevelItem(item)
                else:
                    parent_item.addChild(item)
                if node.is_group:
                    add(node.children, item)
                    item.setExpanded(node.id not in self._collapsed)
                if node is active:
                    self.list.setCurrentItem(item)

        if doc is not None:
            add(doc.root.children, None)
        self._rebuilding = False
        self._show_properties()
        self._sync_enabled()

    def _fill_item(self, item: QTreeWidgetItem, layer) -> None:
        was = self._rebuilding
        self._rebuilding = True
        item.setText(0, layer.name)
        item.setIcon(0, icon("layer-group") if layer.is_group else self._thumbnail(layer))
        item.setCheckState(0, Qt.CheckState.Checked if layer.visible
                           else Qt.CheckState.Unchecked)
        tip = f"{layer.name} — {BLEND_LABELS.get(layer.blend_mode, layer.blend_mode)}, " \
              f"{round(layer.opacity * 100)} %"
        if layer.is_group:
            tip = f"Group {tip}" + (", isolated" if layer.isolated else "")
        if layer.is_mask:
            tip = f"{layer.name} — edit mask: painted area may be changed by an AI edit"
            font = item.font(0)
            font.setItalic(True)
            item.setFont(0, font)
        edit = self.document.applied_edit(layer.id) if self.document is not None else None
        if edit is not None and edit.get("prompt"):
            tip += f"\nEdit: “{edit['prompt']}”"
        item.setToolTip(0, tip)
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

    def _item_for(self, layer) -> QTreeWidgetItem | None:
        return next((it for it in self.list.rows() if it.data(0, LAYER_ROLE) == layer.id), None)

    def _node_of(self, item: QTreeWidgetItem | None):
        if item is None or self.document is None:
            return None
        return self.document.layer_by_id(item.data(0, LAYER_ROLE))

    def _expansion_changed(self, item: QTreeWidgetItem) -> None:
        if self._rebuilding:
            return
        node_id = item.data(0, LAYER_ROLE)
        if item.isExpanded():
            self._collapsed.discard(node_id)
        else:
            self._collapsed.add(node_id)

    def _active_changed(self, *_args) -> None:
        node = self.document.active_node
        item = self._item_for(node) if node is not None else None
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
        node = self.document.active_node if self.document is not None else None
        if node is None:
            return
        index = self.blend.findData(node.blend_mode)
        self.blend.blockSignals(True)
        self.blend.setCurrentIndex(max(0, index))
        self.blend.blockSignals(False)
        self.opacity.set_value(round(node.opacity * 100))
        is_paint = not node.is_mask
        self.blend.setEnabled(is_paint)
        self.opacity.setEnabled(is_paint)

    def _sync_enabled(self) -> None:
        doc = self.document
        node = doc.active_node if doc is not None else None
        has = node is not None
        is_layer = has and not node.is_group
        siblings, index, nested = [], -1, False
        if has:
            siblings = node.parent.children
            index = next(i for i, c in enumerate(siblings) if c is node)
            nested = node.parent is not doc.root
        self.act_delete.setEnabled(has)
        self.act_duplicate.setEnabled(has)
        self.act_rename.setEnabled(has)
        self.act_up.setEnabled(has and (index < len(siblings) - 1 or nested))
        self.act_down.setEnabled(has and (index > 0 or nested))
        below = siblings[index - 1] if index > 0 else None
        self.act_merge.setEnabled(is_layer and below is not None and not node.is_mask
                                  and not below.is_mask and not below.is_group)
        self.act_flatten.setEnabled(doc is not None and (len(doc.layers) > 1
                                                         or len(doc.nodes) > len(doc.layers)))
        self.act_clear.setEnabled(is_layer)
        self.act_lock_alpha.setEnabled(is_layer and not node.is_mask)
        self.act_lock_alpha.setChecked(bool(is_layer and node.alpha_locked))
        self.act_group.setEnabled(has and not node.is_mask)
        self.act_ungroup.setEnabled(has and (node.is_group or nested))
        self.act_isolate.setEnabled(has and node.is_group)
        self.act_isolate.setChecked(bool(has and node.is_group and node.isolated))
        self.act_add_mask.setEnabled(doc is not None and doc.mask_layer is None)

    # ------------------------------------------------------------------ edits → document
    def _guard(self, fn, *args):
        """Run a document operation; a refusal (DocumentError) becomes a message, not a crash."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Layers", str(exc) or exc.__class__.__name__)
            return None

    def _row_selected(self, item: QTreeWidgetItem | None, *_previous) -> None:
        if self._rebuilding or self.document is None:
            return
        node = self._node_of(item)
        if node is not None and node is not self.document.active_node:
            self.document.set_active_layer(node)

    def _item_edited(self, item: QTreeWidgetItem, *_column) -> None:
        if self._rebuilding or self.document is None:
            return
        layer = self._node_of(item)
        if layer is None:
            return
        # read everything first: a document change rebuilds the tree and deletes `item`
        visible = item.checkState(0) == Qt.CheckState.Checked
        name = item.text(0).strip()
        if visible != layer.visible:
            self._guard(self.document.set_layer_visible, layer, visible)
        elif name and name != layer.name:
            self._guard(self.document.rename_layer, layer, name)
        elif not name:
            self._fill_item(item, layer)

    def _blend_chosen(self, index: int) -> None:
        layer = self.document.active_node if self.document is not None else None
        if layer is not None:
            self._guard(self.document.set_layer_blend_mode, layer, self.blend.itemData(index))

    def _opacity_dragged(self, value: int) -> None:
        layer = self.document.active_node if self.document is not None else None
        if layer is not None:
            self._guard(self.document.set_layer_opacity, layer, value / 100.0)
        if not self.opacity.slider.isSliderDown():
            self._end_merge()

    def _end_merge(self) -> None:
        if self.document is not None:
            self.document.end_property_merge()

    def drop_node(self, source_id: int, target_id: int | None, where: str) -> None:
        """Drag and drop: put the dragged node above, below or into the target row's node
        (no target: the bottom of the tree). Rows run top first, groups bottom first."""
        doc = self.document
        node = doc.layer_by_id(source_id) if doc is not None else None
        if node is None:
            return
        target = doc.layer_by_id(target_id) if target_id is not None else None
        if target is None:
            self._guard(doc.move_layer, node, 0, doc.root)
            return
        if where == "into":
            self._guard(doc.move_layer, node, len(target.children), target)
            return
        parent = target.parent
        index = next(i for i, c in enumerate(parent.children) if c is target)
        index += 1 if where == "above" else 0
        if node.parent is parent and next(
                i for i, c in enumerate(parent.children) if c is node) < index:
            index -= 1  # counted without the node itself
        self._guard(doc.move_layer, node, index, parent)

    def add_layer(self) -> None:
        if self.document is not None:
            self._guard(self.document.add_layer)

    def add_mask_layer(self) -> None:
        if self.document is not None:
            self._guard(self.document.add_mask_layer)

    def duplicate_layer(self) -> None:
        if self.document is not None and self.document.active_node is not None:
            self._guard(self.document.duplicate_layer, self.document.active_node)

    def delete_layer(self) -> None:
        if self.document is not None and self.document.active_node is not None:
            self._guard(self.document.delete_layer, self.document.active_node)

    def merge_down(self) -> None:
        if self.document is not None and self.document.active_layer is not None:
            self._guard(self.document.merge_down, self.document.active_layer)

    def group_layer(self) -> None:
        if self.document is not None and self.document.active_node is not None:
            self._guard(self.document.group_layers)

    def ungroup(self) -> None:
        if self.document is not None and self.document.active_node is not None:
            self._guard(self.document.ungroup)

    def _isolate_toggled(self, on: bool) -> None:
        node = self.document.active_node if self.document is not None else None
        if node is not None and node.is_group and node.isolated != on:
            self._guard(self.document.set_group_isolated, node, on)

    def flatten(self) -> None:
        if self.document is not None:
            self._guard(self.document.flatten)

    def clear_layer(self) -> None:
        """Delete: the selected pixels, or the whole layer when nothing is selected."""
        if self.document is not None and self.document.active_layer is not None:
            self._guard(clear_selection, self.document, self.document.active_layer)

    def _lock_alpha_toggled(self, on: bool) -> None:
        layer = self.document.active_layer if self.document is not None else None
        if layer is not None and layer.alpha_locked != on:
            self._guard(self.document.set_layer_alpha_locked, layer, on)

    def _move_by(self, step: int) -> None:
        """One place up (+1) or down (-1) in its group; past the group's edge, out of it."""
        doc = self.document
        node = doc.active_node if doc is not None else None
        if node is None:
            return
        parent = node.parent
        index = next(i for i, c in enumerate(parent.children) if c is node) + step
        if 0 <= index < len(parent.children):
            self._guard(doc.move_layer, node, index)
        elif parent is not doc.root:
            outer = parent.parent
            at = next(i for i, c in enumerate(outer.children) if c is parent)
            self._guard(doc.move_layer, node, at + (1 if step > 0 else 0), outer)

    def move_up(self) -> None:
        self._move_by(1)

    def move_down(self) -> None:
        self._move_by(-1)

    def rename_layer(self) -> None:
        doc = self.document
        if doc is None or doc.active_node is None:
            return
        layer = doc.active_node
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
