"""The demo model in the engine, for the demo's own benchmark, pictures and tests.

The same `load_engine` the app uses ("demo", or any demo-style folder by path), with an
in-memory inversion cache so that a benchmark neither reads nor fills the user's disk cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..paths import demo_model_dir


def load_demo_engine(folder: str | Path | None = None, device: str = "cpu", cache: Any = None):
    """An engine running the shipped demo model (or the model in `folder`) on `device`."""
    from ..engine.cache import InversionCache
    from ..engine.session import load_engine

    spec = "demo"
    if folder is not None and Path(folder).resolve() != demo_model_dir().resolve():
        spec = str(folder)
    cache = cache if cache is not None else InversionCache(use_disk=False)
    return load_engine(spec, device=device, cache=cache)
