"""`rfedit`: start the window as fast as possible.

Nothing here imports torch, diffusers or transformers: the window must be on screen before the
model machinery is touched; the engine runs in a child process that imports it. `--timing` prints how long it
took from process start to the first shown frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

_T_IMPORT = time.perf_counter()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rfedit", description="rfedit image editor")
    parser.add_argument("file", nargs="?", help="an .ora project or an image to open")
    parser.add_argument("--timing", action="store_true",
                        help="print the time to the first shown window")
    parser.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-recover", action="store_true",
                        help="do not offer to recover autosaved work")
    return parser.parse_args(argv)


def _process_age_s() -> float:
    """Seconds since this process started (falls back to since this module was imported)."""
    launch = os.environ.get("RFEDIT_LAUNCH_TIME")
    if launch:
        try:
            return time.time() - float(launch)
        except ValueError:
            pass
    try:  # Linux: process start time from /proc, in clock ticks since boot
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as f:
            start_ticks = float(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _T_IMPORT


def missing_display() -> str | None:
    """Why no window can open here, or None: Qt itself would abort with a core dump."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "rfedit: no screen to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
        "On a machine without a screen, run it under a virtual one: xvfb-run -a rfedit\n"
        "For edits without a window, use rfedit-cli (see README.md)."
    )


def _stop_engine() -> None:
    """End the local engine child, if this process ever started one (importing the engine
    link only to find nothing running would slow every launch)."""
    link = sys.modules.get("rfedit_desktop.jobs.engine_link")
    if link is not None:
        link.stop_shared()


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    problem = missing_display()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from rfedit_desktop.ui import error_hook
    from rfedit_desktop.ui.theme import apply_dark_theme

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("rfedit")
    app.setOrganizationName("rfedit")
    apply_dark_theme(app)
    error_hook.install()
    app.aboutToQuit.connect(_stop_engine)  # the engine child ends with the window

    from rfedit_desktop.ui.main_window import MainWindow

    window = MainWindow(ai=False)  # the AI panel comes right after the first frame
    window.show()

    def after_show() -> None:
        window.repaint()  # the first frame is drawn before anything else happens
        shown = _process_age_s()
        ai_editing = window.attach_ai_editing()
        if args.timing:
            heavy = [m for m in ("torch", "diffusers", "transformers") if m in sys.modules]
            print(f"window shown after {shown * 1000:.0f} ms, complete (AI panel in place) "
                  f"after {_process_age_s() * 1000:.0f} ms; heavy modules loaded: "
                  f"{', '.join(heavy) or 'none'}", flush=True)
        if args.quit_after_show:
            window.discard_changes_and_close()
            return
        if ai_editing is not None:
            ai_editing.load_model()  # the engine process starts and loads it
        if args.file:
            window.files.open_path(args.file, ask=False)
        elif not args.no_recover:
            window.recovery.offer_recovery()

    QTimer.singleShot(0, after_show)
    return app.exec()
