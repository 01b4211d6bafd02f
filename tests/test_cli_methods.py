"""rfedit-cli --method rf-solver|fireflow|flowedit: NFE and cache in --json, options, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rfedit_desktop.cli import main

torch = pytest.importorskip("torch")

FAST = ["--model", "tiny", "--steps", "3", "--quiet", "--json"]


def _image(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((40, 56, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


@pytest.mark.parametrize(
    ("method", "extra", "first", "again"),
    [
        ("rf-solver", [], 12, 6),
        ("fireflow", [], 8, 4),
        ("flowedit", ["--n-max", "2"], 4, 2),
    ],
)
def test_methods_report_nfe_and_cache(tmp_path, capsys, method, extra, first, again) -> None:
    from rfedit_desktop.engine.images import read_png_params

    src = _image(tmp_path / f"{method}.png", seed=hash(method) % 1000)
    out = tmp_path / "out.png"
    argv = ["edit", str(src), "--out", str(out), "--method", method, *extra, *FAST]
    assert main([*argv, "--prompt", "a red house"]) == 0
    report = _json(capsys)
    assert report["method"] == method and report["nfe"] == first and not report["cache_hit"]
    assert main([*argv, "--prompt", "a blue sea"]) == 0
    report = _json(capsys)
    assert report["nfe"] == again and report["cache_hit"] is True
    assert read_png_params(out)["method"] == method


def test_paper_settings_are_the_defaults_and_flags_win(tmp_path, capsys) -> None:
    from rfedit_desktop.engine.images import read_png_params

    src = _image(tmp_path / "in.png", seed=3)
    out = tmp_path / "out.png"
    base = ["edit", str(src), "--prompt", "x", "--out", str(out), "--model", "tiny", "--quiet"]
    assert main([*base, "--method", "fireflow"]) == 0
    params = read_png_params(out)
    assert params["steps"] == 8 and params["guidance"] == 2.0 and params["source_guidance"] == 1.0
    assert main([*base, "--method", "flowedit", "--steps", "7", "--guidance", "3"]) == 0
    params = read_png_params(out)
    assert params["steps"] == 7 and params["guidance"] == 3.0
    assert params["source_guidance"] == 1.5 and params["n_max"] is None  # 6 of 7 (24 of 28)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "flowedit", "--n-max", "9"], "n_max must be from 0 to steps (3)"),
        (["--method", "flowedit", "--n-avg", "0"], "n_avg must be from 1"),
        (["--method", "flowedit", "--guidance", "nan"], "guidance must be a finite number"),
        (["--method", "flowedit", "--eta", "0.5"], "--eta does not apply to --method flowedit"),
        (["--method", "flowedit", "--strength", "0.5"], "--strength does not apply"),
        (["--method", "rf-solver", "--gamma", "0.5"], "--gamma does not apply to --method rf-s"),
        (["--method", "fireflow", "--decay", "1"], "--decay does not apply"),
        (["--n-max", "2"], "--n-max does not apply to --method rf-inversion"),
        (["--method", "ode", "--eta", "0.3"], "(it uses --strength)"),
    ],
)
def test_method_option_errors_exit_2(tmp_path, capsys, args, message) -> None:
    src = _image(tmp_path / "in.png", seed=5)
    argv = ["edit", str(src), "--prompt", "x", "--out", str(tmp_path / "o.png"),
            "--model", "tiny", "--steps", "3", "--quiet", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()
