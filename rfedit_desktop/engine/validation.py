"""Every EditRequest parameter checked before any work, so bad input fails fast and clearly.

Torch-free on purpose: the GUI can check a request on its own thread.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import EditError
from .lora import check_lora_specs
from .presets import flowedit_counts
from .region import check_context
from .request import METHOD_OPTIONS, METHODS, EditRequest

MAX_STEPS = 200
MAX_N_AVG = 16
MIN_SIDE, MAX_SIDE = 16, 8192
"""The width and height a generated image may have, in pixels."""


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EditError(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def validate_request(request: EditRequest) -> None:
    """Check every parameter before any work; an EditError says which one and why."""
    r = request
    if not isinstance(r.prompt, str):
        raise EditError(f"The prompt must be text, got {type(r.prompt).__name__}.")
    if not isinstance(r.source_prompt, str):
        raise EditError(f"The source prompt must be text, got {type(r.source_prompt).__name__}.")
    if r.method not in METHODS:
        raise EditError(f"Unknown method {r.method!r}; choose one of {', '.join(METHODS)}.")
    if isinstance(r.steps, bool) or not isinstance(r.steps, int) or not 1 <= r.steps <= MAX_STEPS:
        raise EditError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {r.steps!r}.")
    for name in ("gamma", "eta"):
        v = _number(name, getattr(r, name))
        if not 0.0 <= v <= 1.0:
            raise EditError(f"{name} must be between 0 and 1, got {v}.")
    start, stop = _number("start", r.start), _number("stop", r.stop)
    if not 0.0 <= start <= stop <= 1.0:
        raise EditError(
            f"The eta window needs 0 <= start <= stop <= 1, got start={start}, stop={stop}."
        )
    if r.decay_power is not None and _number("decay_power", r.decay_power) < 0:
        raise EditError(f"decay_power must be >= 0, got {r.decay_power}.")
    s = _number("strength", r.strength)
    if not 0.0 < s <= 1.0:
        raise EditError(f"strength must be in (0, 1], got {s}.")
    for name in ("guidance", "source_guidance"):
        if _number(name, getattr(r, name)) < 0:
            raise EditError(f"{name} must be >= 0, got {getattr(r, name)}.")
    if isinstance(r.seed, bool) or not isinstance(r.seed, int) or not 0 <= r.seed < 2**63:
        raise EditError(f"seed must be a whole number >= 0, got {r.seed!r}.")
    mp = _number("max_megapixels", r.max_megapixels)
    if not 0.0 < mp <= 64.0:
        raise EditError(f"max_megapixels must be in (0, 64], got {mp}.")
    if isinstance(r.preview_every, bool) or not isinstance(r.preview_every, int) or r.preview_every < 0:
        raise EditError(f"preview_every must be a whole number >= 0, got {r.preview_every!r}.")
    _validate_flowedit(r)
    bg = r.background
    if (
        not isinstance(bg, (tuple, list))
        or len(bg) != 3
        or not all(isinstance(c, int) and 0 <= c <= 255 for c in bg)
    ):
        raise EditError(f"background must be three integers 0..255, got {bg!r}.")
    check_context(r.context)
    if not isinstance(r.keep_detail, bool):
        raise EditError(f"keep_detail must be true or false, got {r.keep_detail!r}.")
    if r.region is not None and (not isinstance(r.region, (tuple, list)) or len(r.region) != 4):
        raise EditError(f"The region must be four whole numbers x, y, width, height; "
                        f"got {r.region!r}.")
    check_lora_specs(r.loras)


def _validate_flowedit(r: EditRequest) -> None:
    given = [name for name in ("n_max", "n_min", "n_avg") if getattr(r, name) is not None]
    if r.method != "flowedit":
        if given:
            raise EditError(
                f"{given[0]} is a FlowEdit option; method {r.method} does not use it."
            )
        return
    if r.strength != 1.0:
        raise EditError("flowedit does not use strength; n_max sets how many steps it edits.")
    for name in given:
        v = getattr(r, name)
        if isinstance(v, bool) or not isinstance(v, int):
            raise EditError(f"{name} must be a whole number, got {v!r}.")
    n_max, n_min, n_avg = flowedit_counts(r)
    if not 0 <= n_max <= r.steps:
        raise EditError(f"n_max must be from 0 to steps ({r.steps}), got {n_max}.")
    if not 0 <= n_min <= n_max:
        raise EditError(f"n_min must be from 0 to n_max ({n_max}), got {n_min}.")
    if not 1 <= n_avg <= MAX_N_AVG:
        raise EditError(f"n_avg must be from 1 to {MAX_N_AVG}, got {n_avg}.")


def unused_options(method: str, given: list[str]) -> list[str]:
    """The method-specific options in `given` that `method` does not read."""
    every = {name for options in METHOD_OPTIONS.values() for name in options}
    return [name for name in given if name in every and name not in METHOD_OPTIONS[method]]


def validate_side(name: str, value: Any) -> None:
    """A generated image's width or height: a whole number from MIN_SIDE to MAX_SIDE."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_SIDE <= value <= MAX_SIDE:
        raise EditError(
            f"{name} must be a whole number from {MIN_SIDE} to {MAX_SIDE}, got {value!r}."
        )
