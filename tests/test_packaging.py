"""The Linux launcher: a valid desktop entry, and an installer that points it at this checkout."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESKTOP = ROOT / "packaging" / "linux" / "rfedit.desktop"


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_opens_rfedit_with_our_file_types():
    entry = read_entry(DESKTOP)
    assert entry["Exec"].split()[0] == "rfedit"
    assert "image/openraster" in entry["MimeType"].split(";")
    assert entry["Icon"] == "rfedit"  # the installer copies resources/icons/app.svg under it
    validator = shutil.which("desktop-file-validate")
    if validator:
        subprocess.run([validator, str(DESKTOP)], check=True)


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "rfedit").exists(),
                    reason="needs the README's set-up (.venv/bin/rfedit)")
def test_installer_points_the_launcher_at_this_checkout(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    subprocess.run(["bash", str(ROOT / "packaging" / "install-linux.sh")], env=env, check=True,
                   capture_output=True)
    entry = read_entry(tmp_path / "applications" / "rfedit.desktop")
    exe = Path(entry["Exec"].split()[0])
    assert exe == ROOT / ".venv" / "bin" / "rfedit" and os.access(exe, os.X_OK)
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "rfedit.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "icons" / "app.svg").read_bytes()
