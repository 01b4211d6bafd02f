"""Slow file work on a thread while the window keeps painting and shows how far it got."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

T = TypeVar("T")
ProgressFn = Callable[[int, int], None]
SHOW_AFTER_MS = 300  # quick loads finish before a dialog would flash up


class _Relay(QObject):
    """Carries the thread's news to the GUI thread (queued: it is emitted from the thread)."""

    progressed = Signal(int, int)
    finished = Signal()


def run_with_progress(parent: QWidget, label: str, work: Callable[[ProgressFn], T]) -> T:
    """`work(progress)` on a thread; returns its result or raises its exception.

    The call waits in a local event loop that paints and runs timers but holds back keys and
    clicks (nothing can start a second open or close the window meanwhile); a progress dialog
    (no cancel) shows `progress(done, total)` once the work takes longer than SHOW_AFTER_MS.
    """
    outcome: dict[str, Any] = {}
    relay = _Relay()
    dialog = QProgressDialog(label, "", 0, 0, parent)
    dialog.setCancelButton(None)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(SHOW_AFTER_MS)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    loop = QEventLoop()

    def show_progress(done: int, total: int) -> None:
        dialog.setMaximum(max(total, 1))
        dialog.setValue(min(done, max(total, 1)))

    relay.progressed.connect(show_progress)
    relay.finished.connect(loop.quit)

    def run() -> None:
        try:
            outcome["value"] = work(relay.progressed.emit)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller on its thread
            outcome["error"] = exc
        finally:
            relay.finished.emit()

    thread = threading.Thread(target=run, name="rfedit-file", daemon=True)
    thread.start()
    dialog.setValue(0)  # starts the dialog's show-after timer
    loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    thread.join()
    dialog.close()
    dialog.deleteLater()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
