"""A model folder's `rfedit.json`: what rfedit may learn about a model beyond diffusers' files.

It is input like any other (a downloaded model may carry a broken one), so every key rfedit
reads is checked when the model is chosen, and a wrong type or value is one EditError naming
the file and the key, never a traceback later. Keys rfedit does not read (notes such as
"training") are left alone, so other tools and later versions may add their own.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import EditError
from .request import EditRequest
from .validation import MAX_SIDE, MIN_SIDE, validate_request

SETTINGS_FILE = "rfedit.json"

EDIT_DEFAULT_KEYS = ("method", "steps", "gamma", "eta", "start", "stop", "decay_power",
                     "strength", "guidance", "source_guidance")
"""The EditRequest parameters `edit_defaults` may set."""


def read_settings(folder: Path | None) -> dict[str, Any]:
    """The checked `rfedit.json` of a model folder ({} if there is none)."""
    if folder is None:
        return {}
    f = Path(folder) / SETTINGS_FILE
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EditError(f"The model settings file {f} is not valid JSON: {exc}") from exc
    check_settings(data, f)
    return data


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _numbers(v: Any, n: int | None = None) -> bool:
    return isinstance(v, list) and (n is None or len(v) == n) and all(_is_number(x) for x in v)


_CHECKS: dict[str, tuple[Any, str]] = {
    "name": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty text"),
    "description": (lambda v: isinstance(v, str), "a text"),
    "resolution": (lambda v: _is_whole(v) and MIN_SIDE <= v <= MAX_SIDE,
                   f"a whole number of pixels from {MIN_SIDE} to {MAX_SIDE}"),
    "default_guidance": (lambda v: _is_number(v) and 0 <= v <= 100, "a number from 0 to 100"),
    "max_sequence_length": (lambda v: _is_whole(v) and 1 <= v <= 512,
                            "a whole number from 1 to 512"),
    "latent_rgb_factors": (lambda v: isinstance(v, list) and len(v) > 0
                           and all(_numbers(row, 3) for row in v),
                           "a list of [r, g, b] number triples, one per latent channel"),
    "latent_rgb_bias": (lambda v: _numbers(v, 3), "a list of three numbers [r, g, b]"),
    "edit_defaults": (lambda v: isinstance(v, dict), "an object of edit parameters"),
}


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_settings(data: Any, file: Path | str) -> None:
    """Raise an EditError naming `file` and the key for any value rfedit cannot use."""
    if not isinstance(data, dict):
        raise EditError(f"The model settings file {file} must hold a JSON object.")
    for key, (ok, expected) in _CHECKS.items():
        if key in data and not ok(data[key]):
            raise EditError(f'The model settings file {file}: "{key}" must be {expected}, '
                            f"got {_shown(data[key])}.")
    defaults = data.get("edit_defaults", {})
    unknown = sorted(set(defaults) - set(EDIT_DEFAULT_KEYS))
    if unknown:
        raise EditError(
            f'The model settings file {file}: "edit_defaults" has unknown key(s) '
            f"{', '.join(unknown)}; it may set {', '.join(EDIT_DEFAULT_KEYS)}."
        )
    try:
        validate_request(EditRequest(image=None, prompt="", **defaults))
    except EditError as exc:
        raise EditError(f'The model settings file {file}: "edit_defaults": {exc}') from exc
