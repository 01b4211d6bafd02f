"""LoRAs on a served engine: clients name them, the server's `--lora-dir` holds them.

No request may make a served engine open a file its client chose, so a remote client names a
LoRA by its file name alone and the server looks it up in the one folder it was started with.
(The GUI's own local engine runs as the same user and takes the GUI's paths as they are.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rfedit_desktop.engine.lora import check_lora_file, check_lora_specs
from rfedit_desktop.errors import EditError


def served_loras(request: Any, folder: Path | None) -> Any:
    """`request` with its LoRA names turned into files of `folder`; EditError (one line) for a
    path, a name the folder does not hold, or any LoRA when the server offers none."""
    loras = getattr(request, "loras", ())
    if not loras:
        return request
    if folder is None:
        raise EditError("This engine offers no LoRAs; start rfedit-server with --lora-dir FOLDER "
                        "to offer the LoRAs in that folder.")
    resolved = []
    for name, weight in check_lora_specs(loras):
        if not name or name in (".", "..") or Path(name).name != name or "\\" in name:
            raise EditError(f"Name a LoRA by its file name in the server's LoRA folder, not by "
                            f"a path: {name[:80]!r}.")
        path = folder / name
        if not path.is_file():
            raise EditError(f"This engine has no LoRA called {name!r}.")
        resolved.append((str(check_lora_file(path)), weight))
    return dataclasses.replace(request, loras=tuple(resolved))

