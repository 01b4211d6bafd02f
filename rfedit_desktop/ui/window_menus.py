"""The menu bar: where each action is listed, and the walk that finds them all again.

A mixin of `MainWindow`; it files the actions of `WindowActions` into menus and keeps the
View ▸ Panels menu in step with the docks.
"""

from __future__ import annotations

from PySide6.QtGui import QAction


class WindowMenus:
    """File, Edit, Layer, View and Help menus; `all_actions` for the shortcut list."""

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        self._rebuild_recent_menu()
        file_menu.addSeparator()
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        file_menu.addAction(self.act_import)
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_recover)
        file_menu.addAction(self.act_close)
        file_menu.addAction(self.act_quit)
        self.file_menu = file_menu

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.act_undo)
        edit_menu.addAction(self.act_redo)
        edit_menu.addSeparator()
        tools_menu = edit_menu.addMenu("&Tools")
        for act in self.tool_actions.values():
            tools_menu.addAction(act)
        tools_menu.addSeparator()
        for act in (self.act_smaller, self.act_bigger, self.act_swap, self.act_default_colours):
            tools_menu.addAction(act)
        edit_menu.addSeparator()
        edit_menu.addAction(self.act_preferences)
        self.edit_menu = edit_menu

        self.layer_menu = bar.addMenu("&Layer")
        self.layers_panel.fill_menu(self.layer_menu)

        view_menu = bar.addMenu("&View")
        for act in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual):
            view_menu.addAction(act)
        view_menu.addSeparator()
        self.panels_menu = view_menu.addMenu("&Panels")
        self._rebuild_panels_menu()
        self.view_menu = view_menu

        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.act_shortcuts)
        self.help_menu.addAction(self.act_about)

    def _rebuild_panels_menu(self) -> None:
        self.panels_menu.clear()
        for dock in self._docks:
            self.panels_menu.addAction(dock.toggleViewAction())
        self.panels_menu.addSeparator()
        self.panels_menu.addAction(self.tool_bar.toggleViewAction())

    def all_actions(self) -> list[QAction]:
        """Every action of the window and its panels, menus included (for the shortcut list)."""
        found: list[QAction] = []

        def walk(actions) -> None:
            for action in actions:
                if action.menu() is not None:
                    walk(action.menu().actions())
                elif action not in found:
                    found.append(action)

        walk(self.menuBar().actions())
        walk(self.actions())
        return found

    def show_shortcuts(self) -> None:
        from rfedit_desktop.ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self.all_actions(), self).exec()
