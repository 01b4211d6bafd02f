"""rfedit-cli's outputs: a full disk and a read-only folder are one line and exit 2 (checked
before the model loads where possible), batches of inputs with --out-dir, sizes of generate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rfedit_desktop import cli
from rfedit_desktop.cli import main

torch = pytest.importorskip("torch")
skdata = pytest.importorskip("skimage.data")

FAST = ["--model", "tiny", "--steps", "2", "--quiet"]


def _photo(path: Path, which: str = "astronaut", side: int = 48) -> Path:
    img = getattr(skdata, which)()
    step = max(1, min(img.shape[:2]) // side)
    Image.fromarray(np.ascontiguousarray(img[::step, ::step][:side, :side])).save(path)
    return path


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the CLI gets as far as loading a model."""
    def refuse(args):
        raise AssertionError("the model was loaded although the output cannot be written")

    monkeypatch.setattr(cli, "_engine", refuse)


@pytest.fixture
def model_loads(monkeypatch):
    """Count the model loads of the CLI."""
    from rfedit_desktop.engine import session

    count = []
    real = session.load_engine
    monkeypatch.setattr(session, "load_engine", lambda *a, **k: count.append(1) or real(*a, **k))
    return count


def _one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rfedit-cli: error: "), err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


# -- item 1: a full disk -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["prev.jpg", "prev.png", "prev.webp"])
def test_full_disk_exits_2_and_keeps_the_previous_output(small_disk, tmp_path, capsys, name):
    src = _photo(tmp_path / "in.png")
    out = small_disk.path / name
    Image.fromarray(skdata.coffee()[::20, ::20]).save(out)
    before = out.read_bytes()
    small_disk.fill()
    code = main(["edit", str(src), "--prompt", "a cat", "--out", str(out), *FAST])
    assert code == 2
    _one_error_line(capsys, name, "disk is full")
    assert out.read_bytes() == before
    assert sorted(p.name for p in small_disk.path.iterdir()) == ["filler", name]


def test_png_output_gets_ordinary_permissions(tmp_path, capsys):
    umask = os.umask(0o22)
    os.umask(umask)
    out = tmp_path / "o.png"
    assert main(["edit", str(_photo(tmp_path / "in.png")), "--prompt", "a cat", "--out",
                 str(out), *FAST]) == 0
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # was mkstemp's 0600


# -- item 4: an output that cannot be written ------------------------------------------------------
def test_read_only_output_folder_fails_before_the_model_loads(read_only_dir, tmp_path, capsys,
                                                               no_model):
    src = _photo(tmp_path / "in.png")
    assert main(["edit", str(src), "--prompt", "x", "--out", str(read_only_dir / "o.png"),
                 *FAST]) == 2
    _one_error_line(capsys, "o.png", "read-only")
    assert main(["edit", str(src), str(src), "--prompt", "x", "--out-dir", str(read_only_dir),
                 *FAST]) == 2
    _one_error_line(capsys, "read-only")
    assert main(["generate", "--prompt", "x", "--out", str(read_only_dir / "g.png"),
                 *FAST]) == 2
    _one_error_line(capsys, "read-only")
    assert sorted(p.name for p in read_only_dir.iterdir()) == ["existing.png"]


@pytest.mark.parametrize(("out", "needle"), [("o.gif", "ending in one of"),
                                             ("missing/o.png", "does not exist"),
                                             (".", "is a folder")])
def test_unwritable_outputs_fail_before_the_model_loads(tmp_path, capsys, no_model, out, needle):
    src = _photo(tmp_path / "in.png")
    assert main(["edit", str(src), "--prompt", "x", "--out", str(tmp_path / out), *FAST]) == 2
    _one_error_line(capsys, needle)


def test_any_oserror_while_writing_is_one_line(tmp_path, capsys, monkeypatch):
    def failing(*args, **kwargs):
        raise OSError(5, "Input/output error")

    from rfedit_desktop.engine import images

    monkeypatch.setattr(images, "save_image", failing)
    assert main(["edit", str(_photo(tmp_path / "in.png")), "--prompt", "x", "--out",
                 str(tmp_path / "o.png"), *FAST]) == 2
    _one_error_line(capsys, "Input/output error")


# -- item 9: generate sizes ---------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--width", "--height"])
@pytest.mark.parametrize("value", ["0", "-64", "8"])
def test_generate_refuses_zero_and_negative_sizes(tmp_path, capsys, no_model, flag, value):
    code = main(["generate", "--prompt", "x", "--out", str(tmp_path / "g.png"), flag, value,
                 *FAST])
    assert code == 2
    _one_error_line(capsys, flag[2:], "from 16 to 8192", value)
    assert not (tmp_path / "g.png").exists()


# -- item 22: several inputs, one model load --------------------------------------------------------
def test_out_dir_edits_every_input_with_one_model_load(tmp_path, capsys, model_loads):
    from rfedit_desktop.engine.images import read_png_params

    inputs = [_photo(tmp_path / f"{name}.png", name) for name in ("astronaut", "chelsea",
                                                                  "coffee")]
    jpeg = tmp_path / "rocket.jpg"
    Image.fromarray(skdata.rocket()[::10, ::10]).save(jpeg)
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    code = main(["edit", *map(str, inputs), str(jpeg), "--prompt", "a red house",
                 "--out-dir", str(out_dir), "--json", *FAST])
    assert code == 0 and len(model_loads) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["input"] for r in report["results"]] == [*map(str, inputs), str(jpeg)]
    assert report["failed"] == []
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["astronaut.png", "chelsea.png", "coffee.png", "rocket.png"]
    for src in [*inputs, jpeg]:
        out = out_dir / f"{src.stem}.png"
        assert read_png_params(out)["prompt"] == "a red house"
        with Image.open(src) as a, Image.open(out) as b:
            assert a.size == b.size


def test_a_bad_input_among_many_is_reported_and_the_others_still_run(tmp_path, capsys,
                                                                      model_loads):
    good = [_photo(tmp_path / "a.png", "astronaut"), _photo(tmp_path / "c.png", "chelsea")]
    bad = tmp_path / "broken.png"
    bad.write_bytes(good[0].read_bytes()[:100])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(["edit", str(good[0]), str(bad), str(good[1]), "--prompt", "a cat",
                 "--out-dir", str(out_dir), *FAST])
    assert code == cli.EXIT_SOME_FAILED == 1 and len(model_loads) == 1
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and "broken.png" in errors[0] and "truncated" in errors[0]
    assert "1 of 3 inputs failed" in captured.out
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.png", "c.png"]


def test_only_bad_inputs_exit_2_without_loading_the_model(tmp_path, capsys, no_model):
    (tmp_path / "x.png").write_bytes(b"not a picture")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(["edit", str(tmp_path / "x.png"), str(tmp_path / "none.png"), "--prompt", "a",
                 "--out-dir", str(out_dir), *FAST])
    assert code == 2
    err = capsys.readouterr().err
    assert "x.png" in err and "none.png" in err and "None of the 2 inputs" in err


def test_out_dir_mistakes(tmp_path, capsys, no_model):
    a = _photo(tmp_path / "a.png")
    (tmp_path / "other").mkdir()
    b = _photo(tmp_path / "other" / "a.jpg")
    assert main(["edit", str(a), str(b), "--prompt", "x", "--out", str(tmp_path / "o.png"),
                 *FAST]) == 2
    _one_error_line(capsys, "2 inputs need --out-dir")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["edit", str(a), str(b), "--prompt", "x", "--out-dir", str(out_dir),
                 *FAST]) == 2
    _one_error_line(capsys, "would both be written to")
    assert main(["edit", str(a), "--prompt", "x", "--out-dir", str(tmp_path), *FAST]) == 2
    _one_error_line(capsys, "would replace it")
    assert main(["edit", str(a), "--prompt", "x", "--out-dir", str(tmp_path / "nope"),
                 *FAST]) == 2
    _one_error_line(capsys, "does not exist")
    with pytest.raises(SystemExit):
        main(["edit", str(a), "--prompt", "x", *FAST])  # neither --out nor --out-dir
