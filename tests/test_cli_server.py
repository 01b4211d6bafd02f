"""`rfedit-server` as a process and `rfedit-cli --server`: the model loads once, the cache holds
across CLI runs, and a wrong token or URL is one line with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rfedit_desktop.cli import main
from rfedit_desktop.protocol.client import EngineClient, free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("server")
    token_file = folder / "token"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfedit_desktop.server", "--model", "tiny", "--port", str(port),
         "--token-file", str(token_file)],
        stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if token_file.exists() and token_file.read_text().strip():
                try:
                    info = EngineClient(url, token_file.read_text().strip()).info()["info"]
                    if info["state"] == "ready":
                        break
                except Exception:  # noqa: BLE001 - not listening yet
                    pass
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        yield url, token_file
    finally:
        proc.terminate()
        proc.wait(20)


def _image(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_token_file_is_created_private(server) -> None:
    _, token_file = server
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert len(token_file.read_text().strip()) >= 32


def test_cli_edits_on_the_server_and_the_second_run_hits_its_cache(server, tmp_path,
                                                                  capsys) -> None:
    url, token_file = server
    src = _image(tmp_path / "in.png", 1)
    remote = ["--server", url, "--token-file", str(token_file), "--quiet", "--json"]
    for prompt, hit in (("a red house", False), ("a blue house", True)):
        out = tmp_path / f"{prompt}.png"
        assert main(["edit", str(src), "--prompt", prompt, "--out", str(out), "--steps", "3",
                     *remote]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["cache_hit"] is hit and report["model"].startswith("tiny")
        with Image.open(out) as img:
            assert img.size == (64, 48)
            assert prompt in "".join(img.text.values())  # the parameters travel with it
    assert main(["info", *remote]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["server"] == url and info["inversion_cache"]


def test_wrong_token_and_unreachable_server_exit_2(server, tmp_path, capsys) -> None:
    url, _ = server
    bad = tmp_path / "bad-token"
    bad.write_text("nope\n")
    src = _image(tmp_path / "in.png", 2)
    argv = ["edit", str(src), "--prompt", "x", "--out", str(tmp_path / "o.png"), "--quiet"]
    assert main([*argv, "--server", url, "--token-file", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "token" in err[0]
    assert main([*argv, "--server", f"http://127.0.0.1:{free_port()}", "--token-file",
                 str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No answer from the engine" in err[0]
    for wrong in ("gpu-box:abc", "http://gpu-box:99999", "http://[::1", "ftp://gpu-box"):
        assert main([*argv, "--server", wrong, "--token-file", str(bad)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "An engine URL looks like http://host:8765" in err[0]


@pytest.mark.parametrize("args, message", [
    (["--port", "99999"], "--port: 99999 is not between 0 and 65535"),
    (["--max-replicas", "0"], "--max-replicas: 0 is not between 1 and 4096"),
    (["--gpus-per-replica", "nan"], "--gpus-per-replica: nan is not between 0 and 64"),
    (["--max-body-mb", "lots"], "--max-body-mb: 'lots' is not a number"),
])
def test_server_arguments_out_of_range_are_one_line(args, message, capsys) -> None:
    from rfedit_desktop.server.main import main as server_main

    with pytest.raises(SystemExit) as stopped:
        server_main(args)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_server_without_ray_or_with_a_bad_address_says_why(capsys, monkeypatch, tmp_path) -> None:
    import sys

    from rfedit_desktop.server.main import main as server_main

    monkeypatch.setitem(sys.modules, "rfedit_desktop.server.ray_host", None)
    assert server_main(["--ray", "--token-file", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "--ray needs Ray Serve: pip install 'rfedit-desktop[server]'" in err
    assert err.count("\n") == 1 and not (tmp_path / "t").exists()  # nothing made before
    monkeypatch.undo()
    assert server_main(["--host", "999.1.1.1", "--token-file", str(tmp_path / "t")]) == 2
    assert "Cannot listen on 999.1.1.1:8765" in capsys.readouterr().err
    assert server_main(["--lora-dir", str(tmp_path / "none"), "--token-file",
                        str(tmp_path / "t")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_cli_loras_on_a_server_are_names_the_server_checks(server, tmp_path, capsys) -> None:
    url, token_file = server
    src = _image(tmp_path / "in.png", 3)
    code = main(["edit", str(src), "--prompt", "x", "--out", str(tmp_path / "o.png"), "--quiet",
                 "--server", url, "--token-file", str(token_file),
                 "--lora", "/home/someone/style.safetensors:0.7"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "offers no LoRAs" in err[0]
