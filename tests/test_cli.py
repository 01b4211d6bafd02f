"""rfedit-cli on the tiny model: outputs, JSON, the cache across runs, and exit code 2 errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rfedit_desktop.cli import main

torch = pytest.importorskip("torch")


ROOT = Path(__file__).resolve().parents[1]
FAST = ["--model", "tiny", "--steps", "3", "--quiet"]


def _image(path: Path, seed: int, size: tuple[int, int] = (40, 56)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((*size, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out  # exactly one JSON object on stdout
    return json.loads(out[0])


def test_edit_writes_png_with_parameters_and_json(tmp_path, capsys) -> None:
    from rfedit_desktop.engine.images import read_png_params

    src = _image(tmp_path / "in.png", seed=101)
    out = tmp_path / "out.png"
    code = main(["edit", str(src), "--prompt", "a red house", "--out", str(out), "--json",
                 "--seed", "4", *FAST])
    assert code == 0
    report = _json(capsys)
    assert report["out"] == str(out) and report["nfe"] == 6 and report["cache_hit"] is False
    assert {"invert", "edit", "decode", "encode_image"} <= set(report["seconds"])
    with Image.open(out) as im:
        assert im.size == (56, 40)
    params = read_png_params(out)
    assert params["prompt"] == "a red house" and params["seed"] == 4 and params["steps"] == 3

    # the inversion cache lives on disk, so the next run (a new engine) is a hit
    assert main(["edit", str(src), "--prompt", "a blue sea", "--out", str(out), "--json",
                 "--seed", "4", *FAST]) == 0
    again = _json(capsys)
    assert again["cache_hit"] is True and again["nfe"] == 3


def test_preset_fills_the_window_and_flags_override_it(tmp_path, capsys) -> None:
    from rfedit_desktop.engine.images import read_png_params

    src = _image(tmp_path / "in.png", seed=102)
    out = tmp_path / "glasses.png"
    assert main(["edit", str(src), "--prompt", "a man with glasses", "--out", str(out),
                 "--preset", "glasses", "--eta", "0.5", *FAST]) == 0
    params = read_png_params(out)
    assert params["start"] == pytest.approx(6 / 28) and params["stop"] == pytest.approx(25 / 28)
    assert params["eta"] == 0.5
    assert "model calls" in capsys.readouterr().out


def test_invert_then_edit_hits(tmp_path, capsys) -> None:
    src = _image(tmp_path / "in.png", seed=103)
    assert main(["invert", str(src), "--json", *FAST]) == 0
    inv = _json(capsys)
    assert inv["nfe"] == 3 and inv["cache_hit"] is False
    assert main(["edit", str(src), "--prompt", "a cat", "--out", str(tmp_path / "o.png"),
                 "--json", *FAST]) == 0
    assert _json(capsys)["cache_hit"] is True


def test_masked_edit_from_a_mask_file(tmp_path, capsys) -> None:
    src = _image(tmp_path / "in.png", seed=104, size=(48, 48))
    mask = np.zeros((48, 48), np.uint8)
    mask[16:32, 16:32] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "o.png"
    assert main(["edit", str(src), "--prompt", "a cat", "--out", str(out), "--mask",
                 str(tmp_path / "mask.png"), "--eta", "0", *FAST]) == 0
    before = np.asarray(Image.open(src))
    after = np.asarray(Image.open(out))
    outside = mask == 0
    assert np.array_equal(after[outside], before[outside])
    assert not np.array_equal(after[16:32, 16:32], before[16:32, 16:32])


def test_generate_and_info(tmp_path, capsys) -> None:
    out = tmp_path / "gen.png"
    assert main(["generate", "--prompt", "a tree", "--out", str(out), "--width", "48",
                 "--height", "32", "--json", *FAST]) == 0
    assert _json(capsys)["nfe"] == 3
    with Image.open(out) as im:
        assert im.size == (48, 32)
    assert main(["info", "--model", "tiny", "--json", "--quiet"]) == 0
    info = _json(capsys)
    assert info["device"] == "cpu" and info["latent_channels"] == 16
    assert "glasses" in info["presets"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "-3"], "steps"),
        (["--gamma", "2"], "gamma"),
        (["--start", "0.5", "--stop", "0.1"], "window"),
        (["--preset", "sharpen"], "Unknown preset"),
        (["--model", "/no/such/model"], "no such folder"),
        (["--model", "nobody/no-such-flux"], "huggingface-cli download nobody/no-such-flux"),
    ],
)
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, args, message) -> None:
    src = _image(tmp_path / "in.png", seed=105)
    argv = ["edit", str(src), "--prompt", "x", "--out", str(tmp_path / "o.png"),
            "--model", "tiny", "--steps", "3", "--quiet", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("command", ["edit", "invert"])
def test_a_bad_parameter_is_refused_before_the_model_loads(tmp_path, capsys, monkeypatch,
                                                           command) -> None:
    """A typo must not cost the artist a model load (seconds to minutes) first."""
    from rfedit_desktop.engine import session

    def no_load(*_a, **_k):
        raise AssertionError("the model was loaded before the flags were checked")

    monkeypatch.setattr(session, "load_engine", no_load)
    src = _image(tmp_path / "in.png", seed=107)
    argv = [command, str(src), "--model", "tiny", "--gamma", "3", "--quiet"]
    if command == "edit":
        argv += ["--prompt", "x", "-o", str(tmp_path / "o.png")]
    assert main(argv) == 2
    assert "gamma must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_missing_input_and_output_folder(tmp_path, capsys) -> None:
    assert main(["edit", str(tmp_path / "nope.png"), "--prompt", "x", "--out",
                 str(tmp_path / "o.png"), *FAST]) == 2
    assert "nope.png\" does not exist" in capsys.readouterr().err
    src = _image(tmp_path / "in.png", seed=106)
    assert main(["edit", str(src), "--prompt", "x", "--out",
                 str(tmp_path / "missing" / "o.png"), *FAST]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["edit", "in.png", "--out", "o.png"])  # no --prompt
    assert info.value.code == 2


def test_subprocess_zero_byte_image_exits_2_without_traceback(tmp_path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "rfedit_desktop.cli", "edit", str(empty), "--prompt", "x",
         "--out", str(tmp_path / "o.png"), "--model", "tiny"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 2
    assert "empty" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_model_folder_defaults_from_rfedit_json(tmp_path, capsys) -> None:
    from rfedit_desktop.engine.images import read_png_params
    from rfedit_desktop.engine.tiny import save_tiny_flux

    folder = save_tiny_flux(tmp_path / "model", seed=2)
    (folder / "rfedit.json").write_text(json.dumps(
        {"name": "little flux", "resolution": 32, "default_guidance": 2.0}))
    src = _image(tmp_path / "in.png", seed=107, size=(64, 64))
    out = tmp_path / "o.png"
    assert main(["edit", str(src), "--prompt", "a cat", "--out", str(out), "--json",
                 "--model", str(folder), "--steps", "2", "--quiet"]) == 0
    report = _json(capsys)
    assert report["model"] == "little flux" and report["model_size"] == [32, 32]
    params = read_png_params(out)
    assert params["guidance"] == 2.0 and params["model"] == "little flux"
    with Image.open(out) as im:
        assert im.size == (64, 64)


def test_a_reader_that_stops_early_is_not_a_traceback(tmp_path) -> None:
    """`rfedit-cli info | head -1`: the reader is gone before the report is written."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        f"{sys.executable} -m rfedit_desktop.cli info --model tiny --quiet | true",
        shell=True, capture_output=True, text=True, env=env, timeout=300)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
