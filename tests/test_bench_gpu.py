"""benchmarks/bench_gpu.py at its reduced size on the CPU: the table has every column and every
memory mode, and its FLOP count agrees with torch's own count of the transformer's FLOPs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_gpu  # noqa: E402


def test_flop_count_matches_torchs_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    pipe = bench_gpu.build_pipe(torch, torch.device("cpu"), torch.float32, tiny=True)
    cfg = bench_gpu.TINY["transformer"]
    image_tokens, text_tokens = 64, 32
    ids = torch.zeros(image_tokens, 3)
    ids[:, 1], ids[:, 2] = torch.arange(64) // 8, torch.arange(64) % 8
    from torch.nn.attention import SDPBackend, sdpa_kernel

    # The math attention kernel is made of matmuls the counter sees (the CPU flash one is not).
    with FlopCounterMode(display=False) as counter, torch.inference_mode(), \
            sdpa_kernel(SDPBackend.MATH):
        pipe.transformer(hidden_states=torch.randn(1, image_tokens, 64),
                         encoder_hidden_states=torch.randn(1, text_tokens, 64),
                         pooled_projections=torch.randn(1, 64), timestep=torch.tensor([0.5]),
                         guidance=torch.tensor([3.5]), img_ids=ids,
                         txt_ids=torch.zeros(text_tokens, 3), return_dict=False)
    counted = counter.get_total_flops()
    ours = bench_gpu.flops_per_step(cfg, image_tokens, text_tokens)
    assert abs(ours - counted) / counted < 0.05, (ours, counted)


def test_tiny_run_writes_a_table_with_every_column_and_mode(tmp_path):
    out = tmp_path / "bench.md"
    assert bench_gpu.main(["--tiny", "--out", str(out), "--budget-s", "300",
                           "--edit-steps", "4"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| size"))
    assert [c.strip() for c in header.strip("|").split("|")] == list(bench_gpu.COLUMNS)
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines
            if line.startswith("| ") and line is not header and not line.startswith("| size")]
    table = [dict(zip(bench_gpu.COLUMNS, r, strict=True)) for r in rows]
    modes = {(r["weights"], r["offload"]) for r in table}
    assert len(modes) == 16  # every weight format x offload, measured or with its reason
    measured = [r for r in table if r["s/step"]]
    assert {(r["weights"], r["offload"], r["size"]) for r in measured} >= {
        ("none", "none", "128x128"), ("none", "none", "64x64"), ("fp8", "none", "128x128"),
        ("none", "group-offload", "128x128")}
    for r in measured:
        assert float(r["s/step"]) > 0 and float(r["x floor"]) > 0
        assert float(r["edit 28+28 s"]) > 0 and float(r["planner GiB"]) > 0
    unmeasured = [r for r in table if not r["s/step"]]
    assert all(r["note"] for r in unmeasured)
    assert any("needs a CUDA GPU" in r["note"] for r in unmeasured)
