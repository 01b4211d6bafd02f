"""Prompt embeddings, computed once per prompt.

T5-XXL is the costliest part of a Flux edit after the transformer (and the largest in memory),
and an artist re-runs the same prompt many times with other parameters, so the embeddings of
recent prompts are kept. T5 can also be sent back to the CPU right after encoding, which frees
about 9 GiB of accelerator memory for the transformer.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class PromptEmbeds:
    """What the Flux transformer needs from a prompt."""

    prompt_embeds: Any  # T5 sequence, 1×L×D
    pooled: Any  # CLIP pooled, 1×P
    text_ids: Any  # L×3 position ids (zeros for text)
    truncated: bool = False  # the prompt was longer than a text encoder reads


def is_truncated(pipe: Any, prompt: str, t5_length: int) -> bool:
    """Whether either tokenizer has to cut `prompt` (the user should know part was ignored)."""
    for tok, limit in ((getattr(pipe, "tokenizer", None), None),
                       (getattr(pipe, "tokenizer_2", None), t5_length)):
        if tok is None:
            continue
        limit = limit or getattr(tok, "model_max_length", 77)
        if len(tok(prompt, truncation=False)["input_ids"]) > limit:
            return True
    return False


def max_sequence_length(pipe: Any) -> int:
    """T5 tokens to use: Flux's 512, or fewer when the tokenizer is shorter (the tiny model)."""
    tok = getattr(pipe, "tokenizer_2", None)
    limit = getattr(tok, "model_max_length", 512) or 512
    return int(min(512, limit))


class PromptCache:
    """An LRU of prompt embeddings keyed by (prompt, max length)."""

    def __init__(self, capacity: int = 16, release_t5: bool = False) -> None:
        self.capacity = capacity
        self.release_t5 = release_t5
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple[str, int], PromptEmbeds] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self._items

    def clear(self) -> None:
        self._items.clear()

    def encode(self, pipe: Any, prompt: str, device: Any) -> PromptEmbeds:
        """Embeddings of `prompt`, from the cache or freshly encoded (under inference mode)."""
        import torch

        key = (prompt, max_sequence_length(pipe))
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            self.hits += 1
            return hit
        self.misses += 1
        t5 = getattr(pipe, "text_encoder_2", None)
        moved = self.release_t5 and t5 is not None and _on_cpu(t5) and device.type != "cpu"
        if moved:
            t5.to(device)
        try:
            with torch.inference_mode():
                embeds, pooled, ids = pipe.encode_prompt(
                    prompt=prompt, prompt_2=None, device=device, max_sequence_length=key[1]
                )
        finally:
            if self.release_t5 and t5 is not None and device.type != "cpu":
                t5.to("cpu")
        item = PromptEmbeds(embeds, pooled, ids, is_truncated(pipe, prompt, key[1]))
        self._items[key] = item
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return item

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._items), "hits": self.hits, "misses": self.misses}


def _on_cpu(module: Any) -> bool:
    try:
        return next(module.parameters()).device.type == "cpu"
    except StopIteration:
        return True
