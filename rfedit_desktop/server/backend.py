"""What the engine host needs from the engine, behind one small seam.

`EngineBackend` is the real thing: it imports `rfedit_desktop.engine` (and through it torch and
diffusers) lazily, on the engine thread, the first time a model is loaded, so the server
answers before torch is imported. Tests of the queue may hand the host another object with the
same methods.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any, Protocol

from rfedit_desktop.protocol.model_choice import ModelChoice

LoadProgress = Callable[[float, str], None]


class Backend(Protocol):
    def load(self, choice: ModelChoice, progress: LoadProgress) -> Any: ...
    def info(self, engine: Any) -> dict: ...
    def run_edit(self, engine: Any, request: Any, progress: Any, cancel: Any) -> Any: ...
    def run_generate(self, engine: Any, request: Any, progress: Any, cancel: Any) -> Any: ...
    def is_cached(self, engine: Any, request: Any) -> bool: ...
    def release(self) -> None: ...


def _worker_threads() -> int:
    """Leave one core to the GUI process so the window keeps painting while torch works."""
    return max(1, (os.cpu_count() or 2) - 1)


class EngineBackend:
    """The engine of `rfedit_desktop.engine`, imported on first use."""

    def load(self, choice: ModelChoice, progress: LoadProgress) -> Any:
        # The libraries' own notices (e.g. "torchvision not installed") mean nothing to an
        # artist; real failures still arrive as exceptions and reach the window.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
        import torch  # noqa: PLC0415  (lazy: the GUI starts without torch)

        torch.set_num_threads(_worker_threads())
        from rfedit_desktop.engine import load_engine  # noqa: PLC0415

        def on_progress(event: Any = None, *args: Any) -> None:
            progress(*_load_progress(event, args))

        return load_engine(model=choice.model, device=choice.device,
                           memory_mode=choice.memory_mode, progress=on_progress)

    def info(self, engine: Any) -> dict:
        info = engine.info()
        return dict(info) if isinstance(info, dict) else {"model": str(info)}

    def run_edit(self, engine: Any, request: Any, progress: Any, cancel: Any) -> Any:
        from rfedit_desktop.engine import run_edit  # noqa: PLC0415

        return run_edit(engine, request, progress=progress, cancel=cancel)

    def run_generate(self, engine: Any, request: Any, progress: Any, cancel: Any) -> Any:
        from rfedit_desktop.engine import run_generate  # noqa: PLC0415

        return run_generate(engine, request, progress=progress, cancel=cancel)

    def is_cached(self, engine: Any, request: Any) -> bool:
        return bool(engine.is_cached(request))

    def export_inversion(self, engine: Any, request: Any) -> tuple[str, bytes] | None:
        from rfedit_desktop.engine.inversion_archive import export_inversion  # noqa: PLC0415

        return export_inversion(engine, request)

    def import_inversions(self, engine: Any, files: dict[str, bytes]) -> int:
        from rfedit_desktop.engine.inversion_archive import import_inversions  # noqa: PLC0415

        return import_inversions(engine, files)

    def release(self) -> None:
        """Give memory back after an out-of-memory error or before loading another model."""
        gc.collect()
        try:
            import torch  # noqa: PLC0415
        except ImportError:  # pragma: no cover - torch is a dependency
            return
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        mps = getattr(torch, "mps", None)
        if mps is not None and getattr(torch.backends, "mps", None) is not None:
            if torch.backends.mps.is_available():
                mps.empty_cache()


def _load_progress(event: Any, args: tuple) -> tuple[float, str]:
    """Accept the engine's progress in the shapes it may come: an event or (fraction, text)."""
    if event is None:
        return 0.0, ""
    if isinstance(event, (int, float)):
        text = str(args[0]) if args else ""
        return float(event), text
    if isinstance(event, str):
        return 0.0, event
    step = getattr(event, "step", 0) or 0
    total = getattr(event, "total", 0) or 0
    message = getattr(event, "message", "") or getattr(event, "phase", "")
    fraction = step / total if total else 0.0
    return float(fraction), str(message)
