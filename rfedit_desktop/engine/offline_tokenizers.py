"""Tokenizers for the CLIP and T5 slots of a Flux pipeline, built in code with no download.

Used by the tiny test pipeline and by the demo model, whose prompts come from a small closed
vocabulary. Known words become single tokens (T5: a unigram entry `▁word`; CLIP: BPE merges
that assemble the word); anything else falls back to characters, so no prompt is ever rejected.
They are the real transformers classes, so `FluxPipeline.from_pretrained` loads them back.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

CHARS = string.ascii_lowercase + string.digits + ".,-'!?"


def _words(vocabulary: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in vocabulary:
        for w in item.lower().split():
            if w and all(c in CHARS for c in w):
                seen.setdefault(w, None)
    return list(seen)


def build_t5_tokenizer(vocabulary: Iterable[str], max_length: int = 32):
    """A unigram T5 tokenizer: each known word one token, unknown text spelled in characters."""
    from transformers import T5TokenizerFast

    words = _words(vocabulary)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("▁" + w, -1.0) for w in words]
    vocab += [("▁", -5.0)] + [(c, -10.0) for c in CHARS]
    return T5TokenizerFast(vocab=vocab, extra_ids=0, model_max_length=max_length)


def build_clip_tokenizer(vocabulary: Iterable[str], max_length: int = 77):
    """A byte-pair CLIP tokenizer whose merges spell each known word as one token."""
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in CHARS:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    merges: dict[tuple[str, str], None] = {}
    for w in _words(vocabulary):
        pieces = list(w[:-1]) + [w[-1] + "</w>"]
        while len(pieces) > 1:
            a, b = pieces[0], pieces[1]
            merges.setdefault((a, b), None)
            vocab.setdefault(a + b, len(vocab))
            pieces = [a + b] + pieces[2:]
    return CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=max_length)


def build_tokenizers(vocabulary: Iterable[str], clip_max_length: int = 77, t5_max_length: int = 32):
    """Both tokenizers over one vocabulary: `(clip_tokenizer, t5_tokenizer)`."""
    words = list(vocabulary)
    return build_clip_tokenizer(words, clip_max_length), build_t5_tokenizer(words, t5_max_length)
