"""A model folder's rfedit.json is validated like any input: a wrong type or value is one error
naming the file and the key (exit 2 in the CLI), never a traceback later."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rfedit_desktop import paths
from rfedit_desktop.engine.model_settings import check_settings, read_settings
from rfedit_desktop.errors import EditError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"default_guidance": "abc"}, "default_guidance"),
        ({"default_guidance": [3.5]}, "default_guidance"),
        ({"default_guidance": -1}, "default_guidance"),
        ({"default_guidance": True}, "default_guidance"),
        ({"resolution": "x"}, "resolution"),
        ({"resolution": [64, 64]}, "resolution"),
        ({"resolution": -64}, "resolution"),
        ({"resolution": 0}, "resolution"),
        ({"resolution": 64.5}, "resolution"),
        ({"max_sequence_length": "16"}, "max_sequence_length"),
        ({"name": 5}, "name"),
        ({"name": "  "}, "name"),
        ({"description": ["a"]}, "description"),
        ({"latent_rgb_factors": [[1, 2]]}, "latent_rgb_factors"),
        ({"latent_rgb_factors": "none"}, "latent_rgb_factors"),
        ({"latent_rgb_bias": [0, 0, "0"]}, "latent_rgb_bias"),
        ({"edit_defaults": [0.9]}, "edit_defaults"),
        ({"edit_defaults": {"etaa": 0.9}}, "etaa"),
        ({"edit_defaults": {"eta": "high"}}, "eta"),
        ({"edit_defaults": {"strength": 2}}, "strength"),
        ({"edit_defaults": {"steps": 0}}, "steps"),
        ({"edit_defaults": {"start": 0.5, "stop": 0.1}}, "window"),
    ],
)
def test_wrong_types_and_values_name_the_file_and_key(settings, key):
    with pytest.raises(EditError) as info:
        check_settings(settings, "/models/m/rfedit.json")
    message = str(info.value)
    assert "/models/m/rfedit.json" in message and key in message
    assert "\n" not in message


def test_good_settings_pass_and_unknown_top_level_notes_are_allowed(tmp_path):
    demo = json.loads((paths.demo_model_dir() / "rfedit.json").read_text())
    check_settings(demo, "demo")
    check_settings({"name": "m", "resolution": 512, "default_guidance": 0,
                    "edit_defaults": {"eta": 1.0, "start": 0.0, "stop": 0.5, "steps": 20,
                                      "method": "rf-inversion"},
                    "notes": {"anything": [1, 2]}}, "x")
    (tmp_path / "rfedit.json").write_text('"just text"')
    with pytest.raises(EditError, match="must hold a JSON object"):
        read_settings(tmp_path)
    assert read_settings(tmp_path / "none") == {}


def test_cli_names_the_file_and_key_and_exits_2(tmp_path, capsys):
    pytest.importorskip("torch")
    from rfedit_desktop.cli import main
    from rfedit_desktop.engine.tiny import save_tiny_flux

    folder = save_tiny_flux(tmp_path / "model", seed=1)
    (folder / "rfedit.json").write_text(json.dumps({"default_guidance": "abc"}))
    capsys.readouterr()  # what saving the model printed
    assert main(["generate", "--prompt", "x", "--out", str(tmp_path / "g.png"),
                 "--model", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(folder / "rfedit.json") in err[0]
    assert "default_guidance" in err[0]
    # and as a user runs it: no traceback
    (folder / "rfedit.json").write_text(json.dumps({"resolution": "x"}))
    proc = subprocess.run(
        [sys.executable, "-m", "rfedit_desktop.cli", "generate", "--prompt", "x",
         "--out", str(tmp_path / "g.png"), "--model", str(folder), "--quiet"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(folder / "rfedit.json") in lines[0] and "resolution" in lines[0]
