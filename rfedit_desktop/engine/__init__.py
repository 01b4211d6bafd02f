"""Flux through diffusers: load a model, encode, invert, edit, decode (no Qt).

Importing this package must stay cheap and torch-free, because the GUI imports
`engine.request` on its GUI thread before torch is loaded; the heavy names below are imported
on first use (PEP 562 module `__getattr__`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "Engine": ".session",
    "load_engine": ".session",
    "run_edit": ".pipeline",
    "run_invert": ".pipeline",
    "run_generate": ".pipeline",
    "validate_request": ".validation",
    "tiny_flux": ".tiny",
    "save_tiny_flux": ".tiny",
    "resolve_model": ".loader",
    "load_pipeline": ".loader",
    "PRESETS": ".presets",
    "EditRequest": ".request",
    "EditResult": ".request",
    "ProgressEvent": ".request",
    "METHODS": ".request",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
