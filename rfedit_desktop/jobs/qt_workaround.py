"""Work around a reference-count bug in PySide6 6.12.0 on CPython < 3.12.

pyproject pins PySide6 below 6.12; this is the second line of defence for an environment that
has 6.12.0 anyway. `SignalInstance.emit()` there returns `True` without taking a reference, so
every `.emit()` made from Python drops one reference to the `True` singleton (and some calls do
the same to `None` and `False`). After a few thousand emits (one edit with
previews makes dozens) CPython 3.11 deallocates `True` and aborts ("bool_dealloc"). CPython 3.12
made the singletons immortal, which makes the bug harmless; here we do the same by hand, once,
by giving the three singletons a reference count no program can exhaust.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_PINNED = False


def affected(pyside_version: str) -> bool:
    """Only the 6.12 wheels on CPython < 3.12 carry the bug."""
    return (
        pyside_version.startswith("6.12")
        and sys.version_info < (3, 12)
        and platform.python_implementation() == "CPython"
    )


def pin_bool_singletons() -> None:
    """Idempotent; does nothing unless the installed PySide6 is an affected one."""
    global _PINNED
    import PySide6

    if _PINNED or not affected(PySide6.__version__):
        return
    for singleton in (True, False, None):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    _PINNED = True


pin_bool_singletons()  # at import: jobs is imported before any worker signal is emitted
