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
