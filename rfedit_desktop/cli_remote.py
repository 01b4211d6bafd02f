"""`rfedit-cli --server URL`: the CLI's commands on a running engine (`rfedit-server`).

`ServerEngine` answers the few things the CLI asks of a loaded `Engine` (name, default guidance,
native resolution, info) and runs `run_edit`/`run_invert`/`run_generate` through the engine
protocol, so a script that edits a hundred images pays the model load once. torch-free.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import numpy as np

from .engine.request import EditRequest, EditResult
from .errors import EditError
from .protocol.client import EngineClient, for_served_engine, read_token

TOKEN_ENV = "RFEDIT_TOKEN"


class ServerEngine:
    """A remote engine with the CLI's view of a local one."""

    def __init__(self, url: str, token_file: str | None) -> None:
        token = read_token(token_file) if token_file else os.environ.get(TOKEN_ENV, "")
        if not token:
            raise EditError(f"--server needs the engine's token: --token-file FILE or the "
                            f"{TOKEN_ENV} environment variable.")
        self.client = EngineClient(url, token)
        self._info = self.client.info()["info"]
        self.engine = self._info.get("engine") or {}

    @property
    def name(self) -> str:
        return str(self.engine.get("model", self._info.get("choice", {}).get("model", "?")))

    @property
    def default_guidance(self) -> float:
        return float(self.engine.get("default_guidance", 3.5))

    @property
    def native_resolution(self) -> int | None:
        value = self.engine.get("native_resolution")
        return int(value) if value else None

    def info(self) -> dict[str, Any]:
        return {**self.engine, "server": self.client.url, "where": self._info.get("where"),
                "queue": self._info.get("queue")}

    def run_edit(self, request: EditRequest, progress: Any = None) -> EditResult:
        return self.client.run(for_served_engine(request), "edit", _events_to(progress))

    def run_invert(self, request: EditRequest, progress: Any = None) -> dict[str, Any]:
        return dict(self.client.run(for_served_engine(request), "invert", _events_to(progress)))

    def run_generate(self, prompt: str, width: int, height: int, steps: int, guidance: float,
                     seed: int, stochastic: bool = False, progress: Any = None,
                     loras: tuple[tuple[str, float], ...] = ()) -> EditResult:
        # run_generate takes the size from the request's image when it has one.
        size = np.zeros((height, width, 3), np.uint8)
        request = EditRequest(image=size, prompt=prompt, steps=steps, guidance=guidance,
                              seed=seed, method="stochastic" if stochastic else "ode",
                              max_megapixels=max(1.0, width * height / 1e6), loras=loras)
        return self.client.run(for_served_engine(request), "generate", _events_to(progress))


def _events_to(progress: Any):
    """Protocol progress events as the ProgressEvent-shaped values the CLI's bars read."""
    if progress is None:
        return None

    def on_event(event: dict[str, Any]) -> None:
        if event.get("type") in ("progress", "preview"):
            progress(SimpleNamespace(phase=event["phase"], step=event["step"],
                                     total=event["total"]))

    return on_event
