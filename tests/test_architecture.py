"""The layering of DESIGN.md, checked on the source: imports point down only, and no package
imports itself in a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "rfedit_desktop"

# The package-level base modules every layer shares (atomic files, image decoding): no torch,
# no Qt, and nothing of rfedit above them.
_BASE = {"torch", "PySide6", "diffusers", "transformers", "rfedit_desktop.flow",
         "rfedit_desktop.engine", "rfedit_desktop.document", "rfedit_desktop.jobs",
         "rfedit_desktop.ui", "rfedit_desktop.server", "rfedit_desktop.demo"}

# For each layer: top-level modules it must never import (directly, in any function).
FORBIDDEN = {
    "files": _BASE,
    "imaging": _BASE,
    "flow": {"PySide6", "diffusers", "transformers", "rfedit_desktop.engine",
             "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui",
             "rfedit_desktop.demo"},
    "engine": {"PySide6", "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui",
               "rfedit_desktop.demo"},
    "document": {"torch", "diffusers", "transformers", "rfedit_desktop.flow",
                 "rfedit_desktop.engine", "rfedit_desktop.jobs", "rfedit_desktop.ui",
                 "rfedit_desktop.demo", "PySide6.QtWidgets"},
    # jobs/ hands the engine bytes and gets bytes back; serialising tensors is the engine's
    "jobs": {"rfedit_desktop.ui", "rfedit_desktop.demo", "PySide6.QtWidgets", "safetensors",
             "torch", "diffusers", "transformers", "rfedit_desktop.server",
             "rfedit_desktop.flow", "starlette", "uvicorn", "ray"},
    # The window runs without torch: it reaches the engine through jobs/, except for the
    # request types and presets it builds requests from (torch-free, see the test below).
    "ui": {"torch", "diffusers", "transformers", "safetensors", "rfedit_desktop.flow",
           "rfedit_desktop.engine", "rfedit_desktop.demo", "rfedit_desktop.server"},
    # The demo model's training, figures and benchmark: engine users without a window.
    "demo": {"PySide6", "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui"},
    "protocol": {"torch", "PySide6", "diffusers", "transformers", "rfedit_desktop.flow",
                 "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui",
                 "rfedit_desktop.server", "starlette", "uvicorn", "ray"},
    "server": {"PySide6", "rfedit_desktop.document", "rfedit_desktop.jobs", "rfedit_desktop.ui"},
}
# The torch-free engine modules the GUI may use: request types, presets, and the edit-region plan
# (numpy + Pillow) that the Edit panel shows before Run.
ALLOWED = {"ui": {"rfedit_desktop.engine.request", "rfedit_desktop.engine.presets",
                  "rfedit_desktop.engine.region", "rfedit_desktop.engine.images",
                  "rfedit_desktop.engine.inversion_archive"}}
PACKAGES = sorted(FORBIDDEN)


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import that runs: module level and in functions, not under `if TYPE_CHECKING`."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                todo.extend(child.orelse)
            else:
                todo.append(child)
    return found


def _package_of(path: Path, root: Path) -> str:
    return "rfedit_desktop." + ".".join(path.relative_to(root).with_suffix("").parts[:-1])


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, root: Path = PKG) -> set[str]:
    package = _package_of(path, root)
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        else:
            module = _absolute(node, package)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _violations(layer: str, root: Path = PKG) -> list[str]:
    bad = []
    allowed = ALLOWED.get(layer, set())
    for path in sorted((root / layer).rglob("*.py")):
        for name in _imports(path, root):
            if any(name == ok or name.startswith(ok + ".") for ok in allowed):
                continue
            for banned in FORBIDDEN[layer]:
                if name == banned or name.startswith(banned + "."):
                    bad.append(f"{path.relative_to(root)} imports {name}")
    return sorted(bad)


@pytest.mark.parametrize("layer", PACKAGES)
def test_layer_imports_point_down(layer: str) -> None:
    assert _violations(layer) == []


def test_checker_sees_a_violation(tmp_path: Path) -> None:
    (tmp_path / "document").mkdir()
    (tmp_path / "document" / "probe.py").write_text(
        "import numpy\nfrom torch import nn\n", encoding="utf-8"
    )
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "probe.py").write_text("from ..ui import window\n", encoding="utf-8")
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "probe.py").write_text(
        "from rfedit_desktop.engine.request import EditRequest\n"
        "def f():\n    from rfedit_desktop.engine.pipeline import run_edit\n", encoding="utf-8")
    assert _violations("document", tmp_path) == ["document/probe.py imports torch",
                                                 "document/probe.py imports torch.nn"]
    assert _violations("engine", tmp_path) == ["engine/probe.py imports rfedit_desktop.ui",
                                               "engine/probe.py imports rfedit_desktop.ui.window"]
    assert _violations("ui", tmp_path) == [
        "ui/probe.py imports rfedit_desktop.engine.pipeline",
        "ui/probe.py imports rfedit_desktop.engine.pipeline.run_edit"]


# -- cycles inside a package ------------------------------------------------------------------
def _modules(package_dir: Path, root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its __init__)."""
    out = {}
    for path in package_dir.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _edges(path: Path, root: Path, modules: dict[str, Path]) -> set[str]:
    """The package's own modules that `path` imports when it runs."""
    package = _package_of(path, root)
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            module = _absolute(node, package)
            # `from pkg import sub` loads the submodule; `from pkg import name` runs pkg
            names = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module
                     for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


def _cycles(package: str, root: Path = PKG) -> list[list[str]]:
    """Strongly connected groups of modules (or a module importing itself), sorted."""
    modules = _modules(root / package, root)
    graph = {name: _edges(path, root, modules) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles_inside_a_package(package: str) -> None:
    assert _cycles(package) == []


def test_cycle_checker_sees_function_level_and_package_cycles(tmp_path: Path) -> None:
    pkg = tmp_path / "rfedit_desktop"
    (pkg / "demo").mkdir(parents=True)
    (pkg / "demo" / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "demo" / "a.py").write_text("from .b import thing\n", encoding="utf-8")
    (pkg / "demo" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import x\n"
        "def thing():\n    from . import a\n", encoding="utf-8")
    (pkg / "demo" / "c.py").write_text("from .b import thing\n", encoding="utf-8")
    (pkg / "document").mkdir()
    (pkg / "document" / "__init__.py").write_text("from .doc import Doc\n", encoding="utf-8")
    (pkg / "document" / "doc.py").write_text("class Doc: ...\n", encoding="utf-8")
    (pkg / "document" / "reader.py").write_text(
        "def load():\n    from rfedit_desktop.document import Doc\n", encoding="utf-8")
    (pkg / "document" / "fine.py").write_text("from . import doc\n", encoding="utf-8")
    assert _cycles("demo", pkg) == [["rfedit_desktop.demo.a", "rfedit_desktop.demo.b"]]
    assert _cycles("document", pkg) == []
    (pkg / "document" / "doc.py").write_text(
        "class Doc:\n    def load(self):\n        from .reader import load\n", encoding="utf-8")
    assert _cycles("document", pkg) == [["rfedit_desktop.document",
                                         "rfedit_desktop.document.doc",
                                         "rfedit_desktop.document.reader"]]


def test_request_types_import_without_torch() -> None:
    """The GUI builds EditRequests (and reads the presets) before torch is loaded."""
    code = (
        "import sys; import rfedit_desktop.engine.request, rfedit_desktop.engine.presets, "
        "rfedit_desktop.engine.region, rfedit_desktop.engine.inversion_archive, "
        "rfedit_desktop.errors, rfedit_desktop.paths, "
        "rfedit_desktop.protocol.client, rfedit_desktop.jobs; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_base_modules_import_without_torch_or_qt() -> None:
    """Importing them (and what they import) loads neither torch nor Qt."""
    code = (
        "import sys; import rfedit_desktop.files.atomic, rfedit_desktop.imaging.decode, "
        "rfedit_desktop.imaging.encode; "
        "print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
