"""Load the demo model into the engine for the demo's own benchmark, pictures and tests.

`load_engine("demo")` is the path the app takes. Its folder check rejects Flux transformers
whose input is not 64 channels (FLUX.1's 16 latent channels x 2x2), reading anything else as
a Fill/Depth/Canny variant; the demo model packs 4 latent channels into 16. Until the loader
compares `in_channels` with 4 x the VAE's `latent_channels` instead, this builds the same
`Engine` around the same `load_pipeline`, skipping only that one check. Nothing else differs,
so `run_edit` sees exactly what it would see through `load_engine`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import EditError
from ..paths import demo_model_dir


def load_demo_engine(folder: str | Path | None = None, device: str = "cpu", cache: Any = None):
    """An engine running the demo model (or another demo-style folder), on `device`."""
    from ..engine.cache import InversionCache
    from ..engine.devices import pick_device, pick_dtype
    from ..engine.loader import ModelSource, fingerprint, load_pipeline, read_settings
    from ..engine.prompts import PromptCache
    from ..engine.session import Engine, load_engine

    folder = Path(folder) if folder is not None else demo_model_dir()
    cache = cache if cache is not None else InversionCache(use_disk=False)
    spec = "demo" if folder.resolve() == demo_model_dir().resolve() else str(folder)
    try:
        return load_engine(spec, device=device, cache=cache)
    except EditError as exc:
        if "input channels" not in str(exc):
            raise
    if not (folder / "model_index.json").is_file():
        raise EditError(f"No demo model in {folder}: run python -m rfedit_desktop.demo.train")
    settings = read_settings(folder)
    source = ModelSource("demo", spec, settings.get("name", "demo"), folder, settings=settings)
    dev = pick_device(device)
    dtype = pick_dtype(dev, None)
    pipe, source = load_pipeline(source, dev, dtype)
    return Engine(
        pipe=pipe,
        source=source,
        device=dev,
        dtype=dtype,
        memory_mode="none",
        model_id=fingerprint(source),
        prompts=PromptCache(),
        cache=cache,
    )
