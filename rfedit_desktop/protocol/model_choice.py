"""Which model the engine loads, on which device, with which memory mode.

A plain value so that it can be stored in settings, shown in the status bar and compared to
decide whether a reload is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

DEVICES: tuple[str, ...] = ("auto", "cuda", "mps", "cpu")
MEMORY_MODES: tuple[str, ...] = ("auto", "none", "model-offload", "sequential-offload",
                                 "group-offload")
QUANTIZATIONS: tuple[str, ...] = ("auto", "none", "fp8", "int8", "nf4")


@dataclass(frozen=True)
class ModelChoice:
    """`model` is "demo", "tiny", a folder, a single .safetensors/.gguf file or a HF repo id."""

    model: str = "demo"
    device: str = "auto"
    memory_mode: str = "auto"
    quantization: str = "auto"  # the transformer's weights: auto (the VRAM planner), ...

    def __post_init__(self) -> None:
        if not str(self.model).strip():
            raise ValueError("The model must be 'demo', a folder, a file or a repo id.")
        if self.device not in DEVICES:
            raise ValueError(f"Unknown device {self.device!r}; choose one of {', '.join(DEVICES)}.")
        if self.memory_mode not in MEMORY_MODES:
            raise ValueError(
                f"Unknown memory mode {self.memory_mode!r}; choose one of "
                f"{', '.join(MEMORY_MODES)}."
            )
        if self.quantization not in QUANTIZATIONS:
            raise ValueError(f"Unknown weight format {self.quantization!r}; choose one of "
                             f"{', '.join(QUANTIZATIONS)}.")

    def label(self) -> str:
        """Short text for the status bar: a path shows only its last component."""
        name = str(self.model).rstrip("/\\")
        if name.startswith(("/", ".", "~")) or "\\" in name or ":" in name:
            name = name.replace("\\", "/").rsplit("/", 1)[-1]
        return f"{name} · {self.device}"
