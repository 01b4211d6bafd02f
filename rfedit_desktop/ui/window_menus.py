"""The menu bar: where each of the window's actions is listed.

Functions the window calls while it is built: they file the actions of `window_actions` into
menus and keep the View ▸ Panels menu in step with the docks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rfedit_desktop.ui.main_window import MainWindow


def build_menus(window: MainWindow) -> None:
    """File, Edit, Layer, View and Help menus, as the window's `*_menu` attributes."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(window.act_new)
    file_menu.addAction(window.act_open)
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.files.fill_recent_menu(window.recent_menu)
    file_menu.addSeparator()
    file_menu.addAction(window.act_save)
    file_menu.addAction(window.act_save_as)
    file_menu.addSeparator()
    file_menu.addAction(window.act_import)
    file_menu.addAction(window.act_export)
    file_menu.addSeparator()
    file_menu.addAction(window.act_recover)
    file_menu.addAction(window.act_close)
    file_menu.addAction(window.act_quit)
    window.file_menu = file_menu

    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(window.act_undo)
    edit_menu.addAction(window.act_redo)
    edit_menu.addSeparator()
    tools_menu = edit_menu.addMenu("&Tools")
    for act in window.tool_actions.values():
        tools_menu.addAction(act)
    tools_menu.addSeparator()
    for act in (window.act_smaller, window.act_bigger, window.act_swap,
                window.act_default_colours):
        tools_menu.addAction(act)
    edit_menu.addSeparator()
    edit_menu.addAction(window.act_preferences)
    window.edit_menu = edit_menu

    window.layer_menu = bar.addMenu("&Layer")
    window.layers_panel.fill_menu(window.layer_menu)

    view_menu = bar.addMenu("&View")
    for act in (window.act_zoom_in, window.act_zoom_out, window.act_fit, window.act_actual):
        view_menu.addAction(act)
    view_menu.addSeparator()
    window.panels_menu = view_menu.addMenu("&Panels")
    rebuild_panels_menu(window)
    window.view_menu = view_menu

    window.help_menu = bar.addMenu("&Help")
    window.help_menu.addAction(window.act_shortcuts)
    window.help_menu.addAction(window.act_about)


def rebuild_panels_menu(window: MainWindow) -> None:
    """View ▸ Panels: one entry per dock (added ones too), then the tool bar."""
    menu = window.panels_menu
    menu.clear()
    for dock in window.docks():
        menu.addAction(dock.toggleViewAction())
    menu.addSeparator()
    menu.addAction(window.tool_bar.toggleViewAction())
