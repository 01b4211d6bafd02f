"""The engine on Ray Serve: one replica per GPU (CPU replicas where there is none), autoscaled.

The HTTP side (app.py) and the job table stay in the `rfedit-server` process; each job goes to
a replica through a Ray Serve handle, which queues requests while every replica is busy instead
of refusing them. The source image's digest is the request's multiplexed id, so a re-edit goes
to the replica that already holds that image's inversion and hits its cache. A replica that dies
fails the job it was running with one line; Ray starts a new replica and the server answers on.

Clearing the cache reaches every replica although a Serve handle talks to one: the server counts
clears, every call carries that count, and a replica that has seen fewer clears empties its own
cache (memory and disk) before it answers, so no replica ever serves a cleared inversion.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import os
import threading
import time
from typing import Any

import numpy as np
from ray import serve

from rfedit_desktop.errors import EditError
from rfedit_desktop.protocol import codec
from rfedit_desktop.protocol.model_choice import ModelChoice
from rfedit_desktop.server.engine_host import EngineHost, ModelNotAllowed
from rfedit_desktop.server.job_table import JobTable, ServerJob

log = logging.getLogger(__name__)

APP_NAME = "rfedit-engine"
SOURCES_PER_REPLICA = 256  # image digests a replica is known to hold (routing hints only)
REPLICA_LOST = ("The engine replica running this job stopped ({what}); the job failed and the "
                "server goes on. Run the edit again.")


@serve.deployment(max_ongoing_requests=1, max_queued_requests=-1, name="EngineReplica")
class EngineReplica:
    """One engine (one GPU) in a Ray Serve replica; the model loads when the replica starts."""

    def __init__(self, choice: dict[str, str]) -> None:
        self.host = EngineHost(codec.choice_from_json(choice), where=f"ray replica {os.getpid()}")
        self.clears = 0  # cache clears this replica has caught up with
        job = self.host.load(None)
        while not job.finished:
            time.sleep(0.05)
        if job.state != "done":
            raise EditError(next((e.get("message") for e in job.events
                                  if e["type"] == "error"), "the model did not load"))

    @serve.multiplexed(max_num_models_per_replica=SOURCES_PER_REPLICA)
    async def hold(self, source: str) -> str:
        """Ray's model multiplexing as an affinity key: "holding" a digest costs nothing; the
        replica's inversion cache is what makes the next request for it fast."""
        return source

    async def _route(self, clears: int) -> None:
        if clears > self.clears:
            await asyncio.wrap_future(self.host.clear_cache())
            self.clears = clears
        source = serve.get_multiplexed_model_id()
        if source:
            await self.hold(source)

    async def run(self, frame: bytes, clears: int = 0):
        """Run one job; yields its events (the result's frame inside its result event)."""
        await self._route(clears)
        kind, request, _ = codec.decode_request(frame)
        job = self.host.submit(kind, request)
        try:
            async for event in job.stream():
                if event is None or event["type"] == "queued":
                    continue
                if event["type"] == "started":
                    event = {**event, "replica_pid": os.getpid()}
                if event["type"] == "result" and kind != "invert":
                    parts = self.host.table.take_result(job.id) or []
                    event = {**event, "frame": [b"".join(parts)]}  # picklable for Ray
                yield event
        except asyncio.CancelledError:
            job.request_cancel()
            raise

    async def is_cached(self, frame: bytes, clears: int = 0) -> bool:
        await self._route(clears)
        _, request, _ = codec.decode_request(frame)
        return bool(await asyncio.wrap_future(self.host.is_cached(request)))

    async def export_inversion(self, frame: bytes, clears: int = 0) -> tuple[str, bytes] | None:
        await self._route(clears)
        _, request, _ = codec.decode_request(frame)
        return await asyncio.wrap_future(self.host.export_inversion(request))

    async def import_inversions(self, files: dict[str, bytes], clears: int = 0) -> int:
        await self._route(clears)
        return int(await asyncio.wrap_future(self.host.import_inversions(files)))

    async def clear_cache(self, _: Any = None, clears: int = 0) -> dict[str, Any]:
        self.clears = max(self.clears, clears)
        return await asyncio.wrap_future(self.host.clear_cache())

    def info(self) -> dict[str, Any]:
        return self.host.info()


def digest(request: Any) -> str:
    """The routing key of a request: its source pixels' content digest."""
    image = getattr(request, "image", None)
    if image is None:
        return ""
    arr = np.ascontiguousarray(np.asarray(image))
    h = hashlib.blake2b(digest_size=16)
    h.update(str(arr.shape).encode())
    h.update(arr.data.cast("B"))
    return h.hexdigest()


class RayHost:
    """The `Host` of app.py on Ray Serve: a job table here, the engines in replicas."""

    def __init__(self, choice: ModelChoice, models: tuple[str, ...] = (),
                 address: str | None = None, min_replicas: int = 1, max_replicas: int = 1,
                 gpus_per_replica: float | None = None, connect: bool = True) -> None:
        import ray  # noqa: PLC0415

        if connect and not ray.is_initialized():
            ray.init(address=address or os.environ.get("RAY_ADDRESS") or None,
                     include_dashboard=False)
        if min_replicas < 1 or max_replicas < min_replicas:
            raise EditError("Replicas: need 1 ≤ --min-replicas ≤ --max-replicas.")
        if gpus_per_replica is None:
            gpus_per_replica = 1.0 if ray.cluster_resources().get("GPU", 0) else 0.0
        options: dict[str, Any] = ({"num_gpus": gpus_per_replica} if gpus_per_replica
                                   else {"num_cpus": 1})
        self.table = JobTable()
        self._choice = choice
        self._models = tuple(models) or (choice.model,)
        self._replicas = (min_replicas, max_replicas)
        deployment = EngineReplica.options(
            ray_actor_options=options,
            autoscaling_config={"min_replicas": min_replicas, "max_replicas": max_replicas,
                                "initial_replicas": min_replicas,
                                "target_ongoing_requests": 1},
        )
        serve.start(proxy_location="Disabled")  # requests come through our app, not Ray's proxy
        self.handle = serve.run(deployment.bind(codec.choice_to_json(choice)), name=APP_NAME,
                                route_prefix=None)
        self._info = self.handle.info.remote().result()["engine"] or {}
        self._streams: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._clears = 0  # every call carries it: see the module's docstring

    # the Host protocol --------------------------------------------------------------------
    def submit(self, kind: str, request: Any = None,
               choice: ModelChoice | None = None) -> ServerJob:
        if choice is not None and choice.model != self._choice.model:
            raise ModelNotAllowed(f"This engine serves only {self._choice.model} on Ray Serve; "
                                  "start rfedit-server with another --model to change it.")
        job = self.table.new(kind, self._choice, request, digest(request))
        job.push({"type": "queued", "position": len(self.table.active()) - 1})
        if kind == "load":
            job.claim()
            job.push({"type": "model_ready", "engine": dict(self._info)})
            job.push({"type": "result", "engine": dict(self._info)})
            return job
        asyncio.get_running_loop().create_task(self._drive(job))
        return job

    def load(self, choice: ModelChoice | None) -> ServerJob:
        return self.submit("load", choice=choice)

    async def _drive(self, job: ServerJob) -> None:
        frame = codec.encode_request(job.request, job.kind)
        stream = self.handle.options(stream=True, multiplexed_model_id=job.digest).run.remote(
            frame, self._clears)
        with self._lock:
            self._streams[job.id] = stream
        if job.cancel.is_set():
            stream.cancel()
        try:
            async for event in stream:
                if event["type"] == "started":
                    if not job.claim():
                        break
                    job.push({"type": "replica", "pid": event.get("replica_pid")})
                    continue
                if event["type"] == "result" and "frame" in event:
                    job.result = event.pop("frame")
                job.push(event)
        except Exception as exc:  # noqa: BLE001 - a lost replica fails the job, not the server
            if job.cancel.is_set():
                job.push({"type": "cancelled"})
            else:
                log.warning("job %s lost its replica: %s", job.id, exc)
                job.push({"type": "error", "message": REPLICA_LOST.format(
                    what=type(exc).__name__)})
        finally:
            with self._lock:
                self._streams.pop(job.id, None)
            if not job.finished:
                job.push({"type": "cancelled"} if job.cancel.is_set() else
                         {"type": "error", "message": REPLICA_LOST.format(what="no answer")})

    def cancel(self, job_id: str) -> bool:
        job = self.table.get(job_id)
        if job is None or not job.request_cancel():
            return False
        with self._lock:
            stream = self._streams.get(job_id)
        if stream is not None:
            stream.cancel()
        return True

    def cancel_all(self) -> int:
        return sum(self.cancel(job.id) for job in self.table.active())

    def _ask(self, method: str, request: Any, payload: Any) -> concurrent.futures.Future:
        handle = self.handle.options(multiplexed_model_id=digest(request) if request else "")
        return _future_of(getattr(handle, method).remote(payload, self._clears))

    def is_cached(self, request: Any) -> concurrent.futures.Future:
        return self._ask("is_cached", request, codec.encode_request(request))

    def export_inversion(self, request: Any) -> concurrent.futures.Future:
        return self._ask("export_inversion", request, codec.encode_request(request))

    def import_inversions(self, files: dict[str, bytes]) -> concurrent.futures.Future:
        return self._ask("import_inversions", None, files)

    def clear_cache(self) -> concurrent.futures.Future:
        """Clears one replica's cache now and every other's before its next answer."""
        with self._lock:
            self._clears += 1
        return self._ask("clear_cache", None, None)

    def info(self) -> dict[str, Any]:
        return {
            "where": f"Ray Serve ({self._replicas[0]}–{self._replicas[1]} replicas)",
            "pid": os.getpid(),
            "state": "ready",
            "choice": codec.choice_to_json(self._choice),
            "models": list(self._models),
            "engine": dict(self._info),
            "queue": len(self.table.active()),
            "running": None,
            "replicas": self._replicas[1],
        }

    def close(self) -> None:
        self.cancel_all()
        try:
            serve.delete(APP_NAME)
        except Exception:  # noqa: BLE001 - Ray may already be down
            log.debug("serve.delete failed", exc_info=True)


def _future_of(response: Any) -> concurrent.futures.Future:
    """A DeploymentResponse as a concurrent future (what app.py awaits for every host)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def wait() -> None:
        try:
            future.set_result(response.result())
        except Exception as exc:  # noqa: BLE001
            future.set_exception(exc)

    threading.Thread(target=wait, daemon=True).start()
    return future
