"""Icons drawn for the project as SVG under `resources/icons/`."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from rfedit_desktop import paths


@cache
def icon(name: str) -> QIcon:
    """The icon `name` (file stem); an empty icon when missing, so a lost file is not fatal."""
    path = paths.resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
