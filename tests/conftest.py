"""Test isolation: no screen, no network, and no writes to the user's real folders."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tiny test models run faster on one thread than fighting over two; results do not depend on it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
_ROOT = tempfile.mkdtemp(prefix="rfedit-tests-")
for _kind in ("CACHE", "DATA", "CONFIG"):
    os.environ[f"RFEDIT_{_kind}_DIR"] = os.path.join(_ROOT, _kind.lower())
