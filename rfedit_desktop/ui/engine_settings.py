"""Where the window's engine runs, remembered between sessions: the local process or a remote one.

The remote engine's URL is a setting like any other; its token is a password, so it is kept out
of the settings file (which other programs read) in a file of its own that only the user may
read (0600), in rfedit's config folder.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import QSettings

from rfedit_desktop.errors import FileError
from rfedit_desktop.files.atomic import atomic_write
from rfedit_desktop.paths import config_dir

URL_KEY = "engine/url"
MODEL_KEY = "engine/model"
TOKEN_FILE = "remote-engine-token"


def token_path() -> Path:
    return config_dir() / TOKEN_FILE


def load_remote(settings: QSettings) -> tuple[str, str, str] | None:
    """(url, token, model) of the remembered remote engine, or None for the local engine."""
    url = str(settings.value(URL_KEY, "") or "").strip()
    if not url:
        return None
    try:
        token = token_path().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        token = ""  # asked again when the engine refuses it
    return url, token, str(settings.value(MODEL_KEY, "") or "").strip()


def save_remote(settings: QSettings, url: str | None, token: str | None,
                model: str = "") -> None:
    """Remember a remote engine, or (None) go back to the local one and forget the token.

    FileError if the token file cannot be written or removed; the settings are then left
    unchanged."""
    path = token_path()
    try:
        if url:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, (token or "").strip().encode("utf-8") + b"\n", mode=0o600)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    except OSError as exc:
        raise FileError(f"Cannot keep the remote engine's token in {path}: "
                        f"{exc.strerror or exc}.") from exc
    settings.setValue(URL_KEY, url or "")
    settings.setValue(MODEL_KEY, (model or "") if url else "")
    settings.sync()
