"""Edit presets from the RF-Inversion paper (its Table 4), shared by the CLI and the GUI.

The paper gives the eta window in steps out of 28; here it is stored as fractions of the step
count so that a preset means the same thing at 14 or 56 steps. Plain data, no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import EditError

PAPER_STEPS = 28


@dataclass(frozen=True)
class Preset:
    """One task's parameters: the eta window [start, stop) as fractions of the steps."""

    name: str
    label: str
    start_step: int  # out of PAPER_STEPS
    stop_step: int
    eta: float
    gamma: float = 0.5
    guidance: float = 3.5
    method: str = "rf-inversion"

    @property
    def start(self) -> float:
        return self.start_step / PAPER_STEPS

    @property
    def stop(self) -> float:
        return self.stop_step / PAPER_STEPS

    def params(self) -> dict[str, Any]:
        """The EditRequest fields this preset sets."""
        return {
            "method": self.method,
            "start": self.start,
            "stop": self.stop,
            "eta": self.eta,
            "gamma": self.gamma,
            "guidance": self.guidance,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start": self.start, "stop": self.stop}


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("default", "Default edit (diffusers example)", 0, 7, 0.9),
        Preset("stroke-to-image", "Stroke painting to image", 3, 5, 0.9),
        Preset("object-insert", "Insert an object", 0, 6, 1.0),
        Preset("gender", "Change gender", 0, 8, 1.0),
        Preset("age", "Change age", 0, 5, 1.0),
        Preset("glasses", "Add glasses", 6, 25, 0.7),
        Preset("stylize", "Stylization", 0, 6, 0.9),
    )
}


METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    # RF-Solver-Edit's example scripts: 15 steps, inversion at guidance 1, editing at 2
    "rf-solver": {"steps": 15, "guidance": 2.0, "source_guidance": 1.0},
    # FireFlow's README: 8 steps, inversion at guidance 1, editing at 2
    "fireflow": {"steps": 8, "guidance": 2.0, "source_guidance": 1.0},
    # FlowEdit's FLUX_exp.yaml: 28 steps, n_max 24, n_min 0, n_avg 1, guidance 1.5 -> 5.5
    "flowedit": {"steps": 28, "guidance": 5.5, "source_guidance": 1.5},
}
"""The settings each newer method's paper uses on FLUX.1-dev; flags and panel values win."""

FLOWEDIT_N_MAX_FRACTION = 24 / 28


def flowedit_counts(request: Any) -> tuple[int, int, int]:
    """(n_max, n_min, n_avg) of a FlowEdit request, its paper's where a field is None.

    The default n_max keeps the paper's 24 of 28 steps at any step count.
    """
    n_max = request.n_max
    if n_max is None:
        n_max = round(FLOWEDIT_N_MAX_FRACTION * request.steps)
    n_min = 0 if request.n_min is None else request.n_min
    n_avg = 1 if request.n_avg is None else request.n_avg
    return n_max, n_min, n_avg


def get_preset(name: str) -> Preset:
    """The preset called `name`; an EditError listing the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise EditError(f"Unknown preset {name!r}; known: {', '.join(PRESETS)}.") from None
