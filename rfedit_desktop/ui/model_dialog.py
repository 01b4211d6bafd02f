"""Choose the model, the device and the memory mode; remembered in the settings.

The app never downloads weights: a model is the bundled demo, a diffusers folder, a single
.safetensors/.gguf transformer file, or a repo id already in the Hugging Face cache. Or the
engine runs elsewhere: a remote `rfedit-server`, by URL and token, with the model it serves.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.protocol.model_choice import DEVICES, MEMORY_MODES, QUANTIZATIONS, ModelChoice

KINDS = ("demo", "folder", "file", "repo")
DEVICE_LABELS = {"auto": "Automatic (CUDA, then MPS, then CPU)", "cuda": "CUDA (NVIDIA)",
                 "mps": "MPS (Apple)", "cpu": "CPU"}
MEMORY_LABELS = {"auto": "Automatic (the VRAM planner picks)", "none": "Everything on the device", "model-offload": "Model CPU offload",
                 "sequential-offload": "Sequential offload (least memory, slow)",
                 "group-offload": "Group offload"}
WEIGHT_LABELS = {"auto": "Automatic (the VRAM planner picks)", "none": "Full precision (bf16)",
                 "fp8": "fp8 storage, bf16 compute", "int8": "8-bit (bitsandbytes, CUDA)",
                 "nf4": "NF4 4-bit (bitsandbytes, CUDA)"}


def load_choice(settings: QSettings) -> ModelChoice:
    """The remembered choice; a damaged setting falls back to the demo model."""
    try:
        return ModelChoice(
            model=str(settings.value("model/source", "demo") or "demo"),
            device=str(settings.value("model/device", "auto") or "auto"),
            memory_mode=str(settings.value("model/memory_mode", "auto") or "auto"),
            quantization=str(settings.value("model/quantization", "auto") or "auto"),
        )
    except ValueError:
        return ModelChoice()


def save_choice(settings: QSettings, choice: ModelChoice) -> None:
    settings.setValue("model/source", choice.model)
    settings.setValue("model/device", choice.device)
    settings.setValue("model/memory_mode", choice.memory_mode)
    settings.setValue("model/quantization", choice.quantization)
    settings.sync()


def kind_of(model: str) -> str:
    if model in ("demo", "tiny"):
        return "demo" if model == "demo" else "repo"
    if model.lower().endswith((".safetensors", ".gguf")):
        return "file"
    if model.startswith(("/", ".", "~")) or "\\" in model or ":" in model:
        return "folder"
    return "repo"


def check_location(kind: str, model: str) -> None:
    """ValueError with a message when a folder or file entry names nothing usable on disk
    (a repo id is looked up in the Hugging Face cache when it loads)."""
    if kind not in ("folder", "file"):
        return
    path = Path(model).expanduser()
    if not path.exists():
        raise ValueError(f"{path} does not exist.")
    if kind == "folder" and not path.is_dir():
        raise ValueError(f"{path} is a file, not a folder: choose “A single transformer file” "
                         "for a .safetensors or .gguf file.")
    if kind == "file" and not path.is_file():
        raise ValueError(f"{path} is a folder, not a file.")


class ModelDialog(QDialog):
    """Returns a validated `ModelChoice` from `choice()` after `exec()` is accepted."""

    def __init__(self, current: ModelChoice, parent: QWidget | None = None,
                 plan: str = "", remote: tuple[str, str, str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose model")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel("rfedit reads models from this computer only; it never downloads. "
                       "Use <code>hf download black-forest-labs/FLUX.1-dev</code> to fill the "
                       "Hugging Face cache, or point at a folder or file.")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.kind_group = QButtonGroup(self)
        self.radio: dict[str, QRadioButton] = {}
        for kind, label in (("demo", "Demo model (bundled, small, works offline)"),
                            ("folder", "A diffusers model folder"),
                            ("file", "A single transformer file (.safetensors or .gguf)"),
                            ("repo", "A repo id in the Hugging Face cache"),
                            ("remote", "Remote engine (rfedit-server on another machine)")):
            button = QRadioButton(label)
            self.kind_group.addButton(button)
            self.radio[kind] = button
            layout.addWidget(button)

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("/path/to/FLUX.1-dev or black-forest-labs/FLUX.1-dev")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        layout.addLayout(row)

        remote_form = QFormLayout()
        self.url_edit = QLineEdit(remote[0] if remote else "")
        self.url_edit.setPlaceholderText("http://gpu-box:8765")
        self.token_edit = QLineEdit(remote[1] if remote else "")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("the contents of the server's --token-file")
        self.remote_model_edit = QLineEdit(remote[2] if remote else "")
        self.remote_model_edit.setPlaceholderText("the server's first --model (optional)")
        self.remote_model_edit.setToolTip("A server started with several --model options "
                                          "serves any of them: name one here.")
        remote_form.addRow("Engine URL", self.url_edit)
        remote_form.addRow("Token", self.token_edit)
        remote_form.addRow("Model on the server", self.remote_model_edit)
        layout.addLayout(remote_form)

        form = QFormLayout()
        self.device_combo = QComboBox()
        for device in DEVICES:
            self.device_combo.addItem(DEVICE_LABELS[device], device)
        self.memory_combo = QComboBox()
        for mode in MEMORY_MODES:
            self.memory_combo.addItem(MEMORY_LABELS[mode], mode)
        self.weights_combo = QComboBox()
        for q in QUANTIZATIONS:
            self.weights_combo.addItem(WEIGHT_LABELS[q], q)
        form.addRow("Device", self.device_combo)
        form.addRow("Memory", self.memory_combo)
        form.addRow("Weights", self.weights_combo)
        layout.addLayout(form)
        # The loaded model's memory plan (estimated peak of every mode, and the choice).
        self.plan_label = QLabel(f"<pre>{html.escape(plan)}</pre>" if plan else "")
        self.plan_label.setVisible(bool(plan))
        layout.addWidget(self.plan_label)

        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #e07070;")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        kind = "remote" if remote else kind_of(current.model)
        self.radio[kind].setChecked(True)
        if kind not in ("demo", "remote"):
            self.path_edit.setText(current.model)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(current.device)))
        self.memory_combo.setCurrentIndex(max(0, self.memory_combo.findData(current.memory_mode)))
        self.weights_combo.setCurrentIndex(
            max(0, self.weights_combo.findData(current.quantization)))
        self.kind_group.buttonToggled.connect(self._kind_changed)
        self._kind_changed()

    def kind(self) -> str:
        for kind, button in self.radio.items():
            if button.isChecked():
                return kind
        return "demo"

    def remote(self) -> tuple[str, str, str] | None:
        """(URL, token, model: "" for the server's first) for a remote engine, else None."""
        if self.kind() != "remote":
            return None
        return (self.url_edit.text().strip(), self.token_edit.text().strip(),
                self.remote_model_edit.text().strip())

    def choice(self) -> ModelChoice:
        """Raises ValueError with a user-facing message when the entry is incomplete."""
        kind = self.kind()
        if kind == "remote":
            if not self.url_edit.text().strip() or not self.token_edit.text().strip():
                raise ValueError("Enter the remote engine's URL and its token.")
            return ModelChoice()  # the remote engine serves its own model
        model = "demo" if kind == "demo" else self.path_edit.text().strip()
        if not model:
            raise ValueError("Enter a folder, a file or a repo id.")
        check_location(kind, model)
        return ModelChoice(model, str(self.device_combo.currentData()),
                           str(self.memory_combo.currentData()),
                           str(self.weights_combo.currentData()))

    def accept(self) -> None:
        try:
            self.choice()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        super().accept()

    def _kind_changed(self, *_args: object) -> None:
        kind = self.kind()
        self.path_edit.setEnabled(kind not in ("demo", "remote"))
        for widget in (self.url_edit, self.token_edit, self.remote_model_edit):
            widget.setEnabled(kind == "remote")
        for widget in (self.device_combo, self.memory_combo, self.weights_combo):
            widget.setEnabled(kind != "remote")
        self.error_label.clear()

    def _browse(self) -> None:
        kind = self.kind()
        if kind == "file":
            path, _ = QFileDialog.getOpenFileName(self, "Transformer file", "",
                                                  "Weights (*.safetensors *.gguf)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Model folder")
            if path and kind != "folder":
                self.radio["folder"].setChecked(True)
        if path:
            self.path_edit.setText(path)
