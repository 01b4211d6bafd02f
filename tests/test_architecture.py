"""The layering of DESIGN.md, checked on the source: imports point down only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "rfedit_desktop"

# For each layer: top-level modules it must never import (directly, in any function).
FORBIDDEN = {
    "flow": {"PySide6", "diffusers", "transformers", "rfedit_desktop.engine",
             "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui"},
    "engine": {"PySide6", "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui"},
    "document": {"torch", "diffusers", "transformers", "rfedit_desktop.flow",
                 "rfedit_desktop.engine", "rfedit_desktop.jobs", "rfedit_desktop.ui",
                 "PySide6.QtWidgets"},
    "jobs": {"rfedit_desktop.ui", "PySide6.QtWidgets", "torch", "diffusers", "transformers",
             "rfedit_desktop.server", "rfedit_desktop.flow", "starlette", "uvicorn", "ray"},
    "protocol": {"torch", "PySide6", "diffusers", "transformers", "rfedit_desktop.flow",
                 "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui",
                 "rfedit_desktop.server", "starlette", "uvicorn", "ray"},
    "server": {"PySide6", "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui"},
}


def _imports(path: Path, root: Path = PKG) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = "rfedit_desktop." + ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _violations(layer: str, root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted((root / layer).rglob("*.py")):
        for name in _imports(path, root):
            for banned in FORBIDDEN[layer]:
                if name == banned or name.startswith(banned + "."):
                    bad.append(f"{path.relative_to(root)} imports {name}")
    return sorted(bad)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_down(layer: str) -> None:
    assert _violations(layer) == []


def test_checker_sees_a_violation(tmp_path: Path) -> None:
    (tmp_path / "document").mkdir()
    (tmp_path / "document" / "probe.py").write_text(
        "import numpy\nfrom torch import nn\n", encoding="utf-8"
    )
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "probe.py").write_text("from ..ui import window\n", encoding="utf-8")
    assert _violations("document", tmp_path) == ["document/probe.py imports torch",
                                                 "document/probe.py imports torch.nn"]
    assert _violations("engine", tmp_path) == ["engine/probe.py imports rfedit_desktop.ui",
                                               "engine/probe.py imports rfedit_desktop.ui.window"]


def test_request_types_import_without_torch() -> None:
    """The GUI builds EditRequests before torch is loaded."""
    code = (
        "import sys; import rfedit_desktop.engine.request, rfedit_desktop.errors, "
        "rfedit_desktop.paths, rfedit_desktop.protocol.client, rfedit_desktop.jobs; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
