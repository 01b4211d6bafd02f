"""The local Hugging Face cache, as `hf download` leaves it, read without ever downloading.

`$HF_HUB_CACHE` (or `$HF_HOME/hub`) holds `models--owner--name/` with content-addressed
`blobs/`, `refs/main` naming a commit, and `snapshots/<commit>/` of symlinks into the blobs. A
download that stopped leaves `blobs/*.incomplete` and links that are missing; the errors here
name those files and the command that resumes the download.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import EditError
from .model_folder import check_folder


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment now (HF_HUB_CACHE, HF_HOME, ...).

    huggingface_hub reads these variables once at import; reading them here as well lets a
    variable set later (by the GUI's settings or a test) still count.
    """
    env = os.environ
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(name):
            return Path(env[name]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE).expanduser()
    except ImportError:  # pragma: no cover (huggingface_hub comes with diffusers)
        xdg = env.get("XDG_CACHE_HOME") or "~/.cache"
        return Path(xdg).expanduser() / "huggingface" / "hub"


def download_command(repo_id: str) -> str:
    """The command that downloads `repo_id` (or resumes a download that stopped)."""
    return f"hf download {repo_id}"


def repo_cache(repo_id: str) -> Path:
    return hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))


def cached_repo_folder(repo_id: str) -> Path:
    """The snapshot folder of a repo already in the local Hugging Face cache, never downloading."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as exc:  # pragma: no cover (huggingface_hub comes with diffusers)
        raise EditError("huggingface_hub is not installed; name a model folder instead.") from exc
    cache = hub_cache_dir()
    try:
        return Path(snapshot_download(repo_id, cache_dir=str(cache), local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError) as exc:
        # Downloaded with --revision <commit>: a snapshot but no refs/main to point at it.
        snapshots = repo_cache(repo_id) / "snapshots"
        found = sorted((d for d in snapshots.iterdir() if (d / "model_index.json").is_file()),
                       key=lambda d: d.stat().st_mtime) if snapshots.is_dir() else []
        if found:
            return found[-1]
        started = repo_cache(repo_id).is_dir()
        state = ("has only an unfinished download of" if started else "does not hold")
        raise EditError(
            f"The Hugging Face cache {cache} {state} the model {repo_id!r}, and rfedit never "
            f"downloads. Download it once with:  {download_command(repo_id)}  "
            f"(older huggingface_hub: huggingface-cli download {repo_id}; gated models such as "
            "FLUX.1-dev need `hf auth login` and the licence accepted on huggingface.co first), "
            "or name a model folder with --model PATH."
        ) from exc


def check_local_dir(folder: Path) -> None:
    """check_folder, plus the way out when `hf download --local-dir` stopped half-way."""
    try:
        check_folder(folder)
    except EditError as exc:
        marker = folder / ".cache" / "huggingface"
        if not marker.is_dir():
            raise
        partial = sorted(marker.rglob("*.incomplete"))
        note = f" {len(partial)} file(s) are still partial (*.incomplete)." if partial else ""
        raise EditError(
            f"{exc}{note} This folder was filled by `hf download ... --local-dir {folder}`; run "
            "that command again to finish the download (it resumes where it stopped)."
        ) from exc


def unfinished_blobs(repo_id: str) -> list[Path]:
    blobs = repo_cache(repo_id) / "blobs"
    return sorted(blobs.glob("*.incomplete")) if blobs.is_dir() else []


def check_cached(repo_id: str, folder: Path, components: tuple[str, ...]) -> None:
    """check_folder for a cache snapshot, with the command that finishes a partial download."""
    try:
        check_folder(folder, components)
    except EditError as exc:
        partial = unfinished_blobs(repo_id)
        note = (f" {len(partial)} file(s) in {partial[0].parent} are still partial "
                "(*.incomplete): the download stopped before it finished." if partial else "")
        raise EditError(
            f"The cached model {repo_id!r} is not completely downloaded. {exc}{note} Finish the "
            f"download with:  {download_command(repo_id)}  (it resumes where it stopped)."
        ) from exc
