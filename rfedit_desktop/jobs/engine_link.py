"""Where the GUI's engine runs: a child process on this machine, or a remote engine.

`LocalEngine` starts `python -m rfedit_desktop.server --local` with a random token on its
stdin, reads the port it listens on from its stdout, and starts it again if it dies. Its
client sends images through shared memory (protocol/shm.py), closed with the child. The child
watches that stdin, so it ends when the GUI does, even after a crash. Nothing here blocks the
GUI thread: starting and waiting happen on the caller's (job) threads.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from typing import Protocol

from rfedit_desktop.errors import EditError
from rfedit_desktop.protocol.client import EngineClient, EngineUnreachable
from rfedit_desktop.protocol.model_choice import ModelChoice

log = logging.getLogger(__name__)

READY = "RFEDIT-ENGINE-READY"  # the line rfedit_desktop.server.main prints; not imported from
START_TIMEOUT_S = 120.0        # there, so the GUI never imports the server's dependencies


class EngineLink(Protocol):
    def client(self) -> EngineClient: ...
    def where(self) -> str: ...
    def died(self) -> str | None: ...
    def restart(self) -> None: ...
    def stop(self) -> None: ...


class RemoteEngine:
    """An engine someone else runs (`rfedit-server`), by URL and token; `model` names one of
    the models it serves ("" for the first)."""

    def __init__(self, url: str, token: str, model: str = "") -> None:
        self._client = EngineClient(url, token)
        self.url = url
        self.model = model

    def client(self) -> EngineClient:
        return self._client

    def where(self) -> str:
        return f"remote engine at {self.url}"

    def died(self) -> str | None:
        return None  # a remote engine's health is not ours to judge: report the lost call

    def restart(self) -> None:
        pass

    def stop(self) -> None:
        pass


class LocalEngine:
    """The engine child process; thread-safe. `choice` is what a new child loads first."""

    def __init__(self, choice: ModelChoice | None = None) -> None:
        self.choice = choice or ModelChoice()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._client: EngineClient | None = None
        self._ready = threading.Event()
        self._error: str | None = None
        self._stopped = False
        self.starts = 0

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def where(self) -> str:
        return "local engine" + (f" (pid {self.pid})" if self.pid else "")

    def start(self) -> None:
        """Start the child unless it runs; returns at once (readiness comes later)."""
        with self._lock:
            if self._stopped or (self._proc is not None and self._proc.poll() is None):
                return
            self._ready.clear()
            if self._client is not None:
                self._client.close()  # its shared-memory segments served the old child
            self._client, self._error = None, None
            token = secrets.token_urlsafe(32)
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            c = self.choice
            cmd = [sys.executable, "-m", "rfedit_desktop.server", "--local", "--model", c.model,
                   "--device", c.device, "--memory-mode", c.memory_mode,
                   "--quantize", c.quantization]
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env=env, start_new_session=True)
            except OSError as exc:
                self._error = f"Cannot start the engine process: {exc}."
                self._ready.set()
                return
            assert proc.stdin is not None
            proc.stdin.write(token.encode() + b"\n")
            proc.stdin.flush()  # kept open: its end is the child's signal to quit
            self._proc = proc
            self.starts += 1
        threading.Thread(target=self._await_ready, args=(proc, token), daemon=True,
                         name="rfedit-engine-start").start()

    def _await_ready(self, proc: subprocess.Popen, token: str) -> None:
        assert proc.stdout is not None
        port = None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith(READY):
                port = int(line.split()[1])
                break
        with self._lock:
            if proc is not self._proc:
                return
            if port is None:
                self._error = f"The engine process ended while starting ({_how(proc)})."
            else:
                self._client = EngineClient(f"http://127.0.0.1:{port}", token)
            self._ready.set()

    def client(self, timeout: float = START_TIMEOUT_S) -> EngineClient:
        """The running child's client, starting it if needed; EditError if it cannot start."""
        self.start()
        if not self._ready.wait(timeout):
            raise EngineUnreachable("The engine process did not start in time.")
        with self._lock:
            if self._client is None:
                raise EngineUnreachable(self._error or "The engine process is not running.")
            return self._client

    def died(self, wait: float = 3.0) -> str | None:
        """How the child ended ("killed by SIGKILL"), or None while it runs.

        Asked after a connection broke: the socket closes a moment before the process can be
        reaped, so this waits up to `wait` seconds for the exit (on a job thread)."""
        proc = self._proc
        if proc is None:
            return None
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            return None
        return _how(proc)

    def restart(self) -> None:
        """Start a new child if the old one is gone (called after a job saw it die)."""
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            return
        log.warning("engine process ended (%s); starting a new one", self.died(0))
        self.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the child (app quit): close its stdin, then terminate, then kill."""
        with self._lock:
            self._stopped = True
            proc, self._proc, client, self._client = self._proc, None, self._client, None
            self._ready.set()
        if client is not None:
            client.close()
        if proc is None or proc.poll() is not None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout / 2)
        except (OSError, subprocess.TimeoutExpired):
            proc.terminate()
            try:
                proc.wait(timeout / 2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _how(proc: subprocess.Popen) -> str:
    code = proc.poll()
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exit code {code}"


_shared: LocalEngine | None = None
_shared_lock = threading.Lock()


def shared_local_engine(choice: ModelChoice | None = None) -> LocalEngine:
    """The one local engine of this GUI process (every window shares it); stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._stopped:
            _shared = LocalEngine(choice)
            atexit.register(_shared.stop)
        elif choice is not None:
            _shared.choice = choice
        return _shared


def stop_shared() -> None:
    """End the shared local engine process, if one was started (the app quits)."""
    with _shared_lock:
        engine = _shared
    if engine is not None:
        engine.stop()


def parse_remote(url: str, token: str, model: str = "") -> RemoteEngine:
    """A RemoteEngine, or EditError naming what is wrong with the URL or token."""
    if not token.strip():
        raise EditError("A remote engine needs its token (see rfedit-server --token-file).")
    return RemoteEngine(url.strip(), token.strip(), model.strip())
