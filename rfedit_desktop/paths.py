"""Where rfedit keeps its files on the user's machine.

Pure Python so that every layer (engine, document, ui) agrees on the same folders without
importing Qt or torch. Environment variables win so that tests and CI never touch a real home.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "rfedit"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _platform_base(kind: str) -> Path:
    home = Path.home()
    if sys.platform == "darwin":
        return {
            "cache": home / "Library" / "Caches",
            "data": home / "Library" / "Application Support",
            "config": home / "Library" / "Preferences",
        }[kind]
    if sys.platform == "win32":
        local = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        return local / ("Cache" if kind == "cache" else "")
    xdg = {"cache": "XDG_CACHE_HOME", "data": "XDG_DATA_HOME", "config": "XDG_CONFIG_HOME"}[kind]
    default = {"cache": ".cache", "data": ".local/share", "config": ".config"}[kind]
    value = os.environ.get(xdg)
    return Path(value) if value else home / default


def _folder(kind: str) -> Path:
    override = os.environ.get(f"RFEDIT_{kind.upper()}_DIR")
    return Path(override) if override else _platform_base(kind) / APP_NAME


def cache_dir() -> Path:
    """Inversion cache and other things safe to delete (`RFEDIT_CACHE_DIR` overrides)."""
    return _folder("cache")


def data_dir() -> Path:
    """Autosaves and recovery files (`RFEDIT_DATA_DIR` overrides)."""
    return _folder("data")


def config_dir() -> Path:
    """Settings (`RFEDIT_CONFIG_DIR` overrides)."""
    return _folder("config")


def resources_dir() -> Path:
    """Shipped resources: the demo model, icons (`RFEDIT_RESOURCES` overrides)."""
    override = os.environ.get("RFEDIT_RESOURCES")
    return Path(override) if override else REPO_ROOT / "resources"


def demo_model_dir() -> Path:
    """The trained demo model of the Flux architecture, a diffusers-format folder."""
    return resources_dir() / "demo-model"
