"""The README's commands are the ones that are proven: CI runs its test command, and this runs
its command-line example on the shipped demo model."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(name: str) -> list[str]:
    match = re.search(rf"<!-- {name} -->\s*```bash\n(.*?)```\s*<!-- /{name} -->", README, re.S)
    assert match, f"README.md has no {name} block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_readme_starts_with_the_run_and_test_commands():
    run, test = block("run-command"), block("test-command")
    assert len(run) == len(test) == 1
    assert run[0].startswith("python3 -m venv") and run[0].endswith("rfedit")
    assert "pytest" in test[0] and "torch==2.13.0" in test[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test[0] in ci, "CI must run the README's test command verbatim"
    assert ci.index(".venv/bin/pip install -q torch==2.13.0") < ci.index(test[0])
    assert README.index("run-command") < README.index("test-command") < README.index("## ")


@pytest.mark.skipif(not (ROOT / "resources" / "demo-model" / "model_index.json").exists(),
                    reason="the demo model is not in this checkout")
def test_cli_example_runs_as_written(tmp_path, monkeypatch, capsys):
    from rfedit_desktop.cli import main

    monkeypatch.chdir(tmp_path)
    lines = block("cli-example")
    results = []
    for line in lines:
        argv = shlex.split(line)
        assert argv[0] == "rfedit-cli"
        assert main(argv[1:] + (["--quiet"] if argv[1] != "info" else [])) == 0, line
        out = capsys.readouterr().out
        if "--json" in argv:
            results.append(json.loads(out))
        if "--out" in argv:
            assert (tmp_path / argv[argv.index("--out") + 1]).stat().st_size > 0
    # the example promises that editing after `invert` reuses the inversion
    assert results and all(r["cache_hit"] and r["nfe"] == r["steps"] for r in results)


def test_remote_engine_commands_parse_as_written():
    """The server section's commands use options that exist (they need a GPU box to run)."""
    from rfedit_desktop.cli import build_parser as cli_parser
    from rfedit_desktop.server.main import build_parser as server_parser

    lines = block("server-example") + block("remote-cli-example") + block("ray-example")
    commands = {line.split()[0] for line in lines}
    assert {"rfedit-server", "rfedit-cli", "ray"} <= commands
    for line in lines:
        argv = shlex.split(line)
        if argv[0] == "rfedit-server":
            args = server_parser().parse_args(argv[1:])
            assert args.host == "0.0.0.0" and args.port == 8765 and args.token_file
        elif argv[0] == "rfedit-cli":
            args = cli_parser().parse_args(argv[1:])
            assert args.server == "http://gpu-box:8765" and args.token_file
    assert "'.[server]'" in block("server-example")[0]
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(dep.startswith("ray[serve]") for dep in extras["server"])
    assert set(extras["server"]) <= set(extras["test"])  # CI's test install covers the server
