"""What prompts a model understands, when it says so: rfedit.json's "prompt_grammar".

A small model trained on one caption grammar (the demo's "a large red circle on a blue gradient
background") draws nothing sensible for other prompts, so the window shows the grammar's
example and completes its words. The grammar belongs to the model, not to the window.
"""

from __future__ import annotations

from typing import Any

from ..errors import EditError

KEY = "prompt_grammar"


def prompt_grammar(settings: dict[str, Any]) -> dict[str, Any] | None:
    """{"example": str, "words": [str, ...]} from a model's settings, or None when it has none.

    Raises EditError naming the field when rfedit.json gives it in another shape.
    """
    raw = settings.get(KEY)
    if raw is None:
        return None
    example = raw.get("example") if isinstance(raw, dict) else None
    words = raw.get("words") if isinstance(raw, dict) else None
    if not isinstance(example, str) or not example.strip() or not isinstance(words, list) \
            or not all(isinstance(w, str) and w.strip() and " " not in w.strip() for w in words):
        raise EditError(f'rfedit.json: "{KEY}" must be {{"example": "a prompt", '
                        '"words": ["single", "words", ...]}}.')
    return {"example": example.strip(), "words": list(dict.fromkeys(w.strip() for w in words))}
