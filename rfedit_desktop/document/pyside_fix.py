"""Work around a reference-count bug of PySide6 6.12 on Python < 3.12.

`SignalInstance.emit()` and `.disconnect()` return True/False without taking a reference (fine
where bools are immortal, Python 3.12+). On Python 3.11 every call steals one reference from
the bool singletons, and after a few hundred signal emissions the interpreter aborts
("bool_dealloc: deallocating True or False"), usually at exit, sometimes mid-session.

`apply()` measures whether this PySide6 build has the bug and, only then, wraps the two methods
to give the missing reference back. It is idempotent and cheap; `document` applies it on import,
and anything else that emits signals (ui/, jobs/) should import this module first.
"""

from __future__ import annotations

import ctypes
import sys

_APPLIED = False


def _leaks() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before


def apply() -> bool:
    """Patch SignalInstance.emit/.disconnect if (and only if) they leak; True when patched."""
    global _APPLIED
    if _APPLIED:
        return True
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import SignalInstance

    if getattr(SignalInstance, "_rfedit_refcount_fix", False):
        _APPLIED = True
        return True
    if not _leaks():
        return False
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None

    def wrap(orig):
        def fixed(self, *args, **kwargs):
            result = orig(self, *args, **kwargs)
            if result is True or result is False:
                incref(result)
            return result

        fixed.__name__ = orig.__name__
        fixed.__doc__ = orig.__doc__
        return fixed

    SignalInstance.emit = wrap(SignalInstance.emit)
    SignalInstance.disconnect = wrap(SignalInstance.disconnect)
    SignalInstance._rfedit_refcount_fix = True
    _APPLIED = True
    return True


apply()
