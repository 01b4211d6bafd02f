"""Starting `rfedit` where no window can open says why instead of a Qt core dump."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rfedit_desktop.app import missing_display


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux-only")
def test_no_display_is_a_clear_message_and_exit_code_2():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run([sys.executable, "-m", "rfedit_desktop", "--no-recover"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "xvfb-run" in out.stderr and "Traceback" not in out.stderr


def test_display_check_respects_the_platform_choice(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert missing_display() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert missing_display() is None
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setattr(sys, "platform", "linux")
    assert "no screen" in missing_display()
