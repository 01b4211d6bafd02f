"""Devices, dtypes and memory modes: what a CPU-only machine can check of the GPU paths.

The GPU paths themselves cannot run here, so each is checked as far as the CPU allows: the MPS
dtype probe against backends that fail, the offloading calls against a recording pipeline,
group offload for real with the CPU as its compute device, and a clear EditError wherever a mode
needs an accelerator that is missing.
"""

from __future__ import annotations

import pytest

from rfedit_desktop.engine import devices
from rfedit_desktop.engine.devices import (
    apply_memory_mode,
    pick_device,
    pick_dtype,
)
from rfedit_desktop.errors import EditError

torch = pytest.importorskip("torch")



class RecordingPipe:
    """Stands in for a FluxPipeline where only the calls matter (no GPU to run them on)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.fail = fail

    def _record(self, name: str, **kwargs) -> None:
        self.calls.append((name, kwargs))
        if self.fail is not None:
            raise self.fail

    def to(self, device):
        self._record("to", device=device)
        return self

    def enable_model_cpu_offload(self, device=None):
        self._record("model", device=device)

    def enable_sequential_cpu_offload(self, device=None):
        self._record("sequential", device=device)

    def enable_group_offload(self, **kwargs):
        self._record("group", **kwargs)


@pytest.mark.parametrize(
    ("mode", "device", "expected"),
    [
        ("none", "cuda", ("to", {"device": torch.device("cuda")})),
        ("model-offload", "cuda", ("model", {"device": torch.device("cuda")})),
        ("sequential-offload", "mps", ("sequential", {"device": torch.device("mps")})),
        ("group-offload", "cuda", ("group", {"onload_device": torch.device("cuda"),
                                             "offload_device": torch.device("cpu"),
                                             "offload_type": "leaf_level", "use_stream": True})),
        ("group-offload", "mps", ("group", {"onload_device": torch.device("mps"),
                                            "offload_device": torch.device("cpu"),
                                            "offload_type": "leaf_level", "use_stream": False})),
        ("none", "cpu", ("to", {"device": torch.device("cpu")})),
    ],
)
def test_memory_mode_calls_the_right_diffusers_hook(mode, device, expected) -> None:
    pipe = RecordingPipe()
    apply_memory_mode(pipe, torch.device(device), mode)
    assert pipe.calls == [expected]


def test_group_offload_hooks_really_install_and_compute_the_same() -> None:
    """With the CPU as compute device group offload runs here for real: diffusers accepts our
    arguments, hooks every leaf module, and the model still computes the same velocity."""
    from diffusers.hooks import HookRegistry

    from rfedit_desktop.engine.tiny import tiny_flux

    pipe = tiny_flux(seed=2)
    x = torch.randn(1, 16, 64, generator=torch.Generator().manual_seed(0))
    ids = torch.zeros(16, 3)
    ids[:, 1], ids[:, 2] = torch.arange(16) // 4, torch.arange(16) % 4
    kwargs = {"hidden_states": x, "encoder_hidden_states": torch.ones(1, 3, 32),
              "pooled_projections": torch.ones(1, 32), "timestep": torch.tensor([0.5]),
              "guidance": torch.tensor([3.5]), "img_ids": ids, "txt_ids": torch.zeros(3, 3),
              "return_dict": False}
    with torch.inference_mode():
        before = pipe.transformer(**kwargs)[0]
    apply_memory_mode(pipe, torch.device("cpu"), "group-offload")
    registry = HookRegistry.check_if_exists_or_initialize(pipe.transformer.x_embedder)
    assert "group_offloading" in registry.hooks
    assert "group_offloading" in HookRegistry.check_if_exists_or_initialize(
        pipe.vae.decoder.conv_in).hooks
    with torch.inference_mode():
        after = pipe.transformer(**kwargs)[0]
    assert torch.allclose(before, after, atol=1e-6)


@pytest.mark.parametrize("mode", ["model-offload", "sequential-offload"])
def test_offload_modes_that_need_a_gpu_say_so(mode) -> None:
    """One decision for every caller: on the CPU these modes are refused, never ignored."""
    pipe = RecordingPipe()
    with pytest.raises(EditError, match="needs a CUDA or Apple MPS device.*memory mode auto"):
        apply_memory_mode(pipe, torch.device("cpu"), mode)
    assert pipe.calls == []


def test_diffusers_offload_failures_become_edit_errors() -> None:
    pipe = RecordingPipe(fail=RuntimeError("`enable_model_cpu_offload` requires accelerator"))
    with pytest.raises(EditError, match="Memory mode model-offload could not be set up on cuda.*"
                                        "requires accelerator.*memory mode auto"):
        apply_memory_mode(pipe, torch.device("cuda"), "model-offload")
    with pytest.raises(EditError, match="Unknown memory mode"):
        apply_memory_mode(RecordingPipe(), torch.device("cuda"), "swap")
    with pytest.raises(EditError, match="Unknown memory mode 'auto'"):
        apply_memory_mode(RecordingPipe(), torch.device("cuda"), "auto")


def test_dtype_probe_really_computes() -> None:
    assert devices._dtype_works(torch.device("cpu"), torch.float32)
    assert devices._dtype_works(torch.device("cpu"), torch.bfloat16)
    # A backend that accepts the ops but cannot produce numbers is not a working dtype.
    assert not devices._dtype_works(torch.device("meta"), torch.float32)


@pytest.mark.parametrize(
    ("works", "expected"),
    [({torch.bfloat16, torch.float16}, torch.bfloat16),
     ({torch.float16}, torch.float16),  # macOS before 14: no bf16 on MPS
     (set(), torch.float32)],
)
def test_mps_dtype_falls_back_by_probe(monkeypatch, works, expected) -> None:
    probed = []

    def probe(device, dtype):
        probed.append(dtype)
        return dtype in works

    monkeypatch.setattr(devices, "_dtype_works", probe)
    assert pick_dtype(torch.device("mps")) == expected
    assert probed[0] == torch.bfloat16
    assert pick_dtype(torch.device("mps"), "fp32") == torch.float32  # asked for: no probe
    assert pick_dtype(torch.device("cpu")) == torch.float32


def test_device_choice_errors(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(EditError, match="CUDA was requested"):
        pick_device("cuda")
    with pytest.raises(EditError, match="MPS was requested"):
        pick_device("mps")
    with pytest.raises(EditError, match="Unknown device"):
        pick_device("tpu")
    with pytest.raises(EditError, match="Unknown dtype"):
        pick_dtype(torch.device("cpu"), "int8")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pick_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(EditError, match=r"no GPU cuda:3: this machine has 1 CUDA device"):
        pick_device("cuda:3")
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
