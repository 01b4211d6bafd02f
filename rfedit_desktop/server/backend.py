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

from rfedit_desktop.engine import inversion_archive
from rfedit_desktop.errors import EditError
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

        def on_progress(event: Any) -> None:
            fraction = event.step / event.total if event.total else 0.0
            progress(float(fraction), str(event.message or event.phase))

        return load_engine(model=choice.model, device=choice.device,
                           memory_mode=choice.memory_mode, progress=on_progress,
                           quantization=choice.quantization)

    def info(self, engine: Any) -> dict:
        return dict(engine.info())

    def run_edit(self, engine: Any, request: Any, progress: Any, cancel: Any) -> Any:
        from rfedit_desktop.engine import run_edit  # noqa: PLC0415

        return run_edit(engine, request, progress=progress, cancel=cancel)

    def run_generate(self, engine: Any, request: Any, progress: Any, cancel: Any) -> Any:
        from rfedit_desktop.engine import run_generate  # noqa: PLC0415

        return run_generate(engine, request, progress=progress, cancel=cancel)

    def is_cached(self, engine: Any, request: Any) -> bool:
        return bool(engine.is_cached(request))

    def export_inversion(self, engine: Any, request: Any) -> tuple[str, bytes] | None:
        """(project file name, bytes) of `request`'s cached inversion, or None if none."""
        from rfedit_desktop.engine.inversion_bytes import export_inversion  # noqa: PLC0415

        exported = export_inversion(engine, request)
        if exported is None:
            return None
        key, data = exported
        return inversion_archive.file_name(key), data

    def import_inversions(self, engine: Any, files: dict[str, bytes]) -> int:
        """Give the engine the project's inversions; the count, or EditError naming the
        damaged ones after the good ones went in."""
        from rfedit_desktop.engine.inversion_bytes import import_inversion  # noqa: PLC0415

        added, problems = 0, []
        for name, data in files.items():
            key = inversion_archive.key_of(name)
            if key is None:
                continue
            try:
                import_inversion(engine, key, bytes(data))
            except EditError as exc:
                problems.append(str(exc))
                continue
            added += 1
        if problems:
            raise EditError(f"{len(problems)} of the project's stored inversions could not be "
                            f"used: {problems[0]}.")
        return added

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

