"""One settings file per user, under `paths.config_dir()`.

An INI file at a path we choose (not the platform registry) so that tests, pointed at a temp
folder by `RFEDIT_CONFIG_DIR`, never read or write the artist's real settings.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from rfedit_desktop import paths

SETTINGS_FILE = "rfedit.ini"


def app_settings() -> QSettings:
    """A fresh handle on the settings file; cheap, so callers need not keep one."""
    folder = paths.config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return QSettings(str(folder / SETTINGS_FILE), QSettings.Format.IniFormat)


def read_float(settings: QSettings, key: str, default: float) -> float:
    """INI files hand values back as strings; fall back to the default on anything odd."""
    try:
        return float(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def read_list(settings: QSettings, key: str) -> list[str]:
    """QSettings returns a str for a one-item list and None for an empty one."""
    value = settings.value(key, [])
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]
