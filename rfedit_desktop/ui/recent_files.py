"""The Open Recent list, kept in the settings file."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

from rfedit_desktop.ui.settings import read_list

KEY = "recent_files"
LIMIT = 10


def recent_files(settings: QSettings) -> list[str]:
    return read_list(settings, KEY)[:LIMIT]


def add_recent_file(settings: QSettings, path: str) -> list[str]:
    """Put `path` first (once); the list keeps the newest LIMIT entries."""
    path = os.path.abspath(path)
    files = [p for p in recent_files(settings) if os.path.normcase(p) != os.path.normcase(path)]
    files = [path, *files][:LIMIT]
    settings.setValue(KEY, files)
    return files


def remove_recent_file(settings: QSettings, path: str) -> list[str]:
    files = [p for p in recent_files(settings) if p != path]
    settings.setValue(KEY, files)
    return files
