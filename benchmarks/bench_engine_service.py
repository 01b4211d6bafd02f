"""What the engine service costs and what Ray Serve replicas buy.

1. Protocol overhead, locally: a 4096² RGB request (with an 8-bit mask, as the GUI sends) and
   its 4096² result through the real protocol to a server process started as the local engine
   is (shared memory allowed) whose engine answers at once (an echo), so the time is encode +
   upload + decode + result encode + download + decode. Measured in one run through shared
   memory (what the GUI's local engine and a CLI on the same machine use) and with every body
   on the socket (what a remote engine gets), next to one plain copy of the same bytes.
   Target <= 150 ms.
2. With --ray: 8 concurrent demo edits on Ray Serve with 1 and with 2 CPU replicas (Ray started
   here with 2 CPUs); throughput and the ratio, measured in one run.

    python benchmarks/bench_engine_service.py [--side 4096] [--repeat 5] [--ray] [--steps 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import tempfile
import threading
import time

import numpy as np

from rfedit_desktop.engine.request import EditRequest, EditResult
from rfedit_desktop.protocol.client import EngineClient
from rfedit_desktop.protocol.model_choice import ModelChoice

TOKEN = "bench-token-0123456789"


class EchoBackend:
    """An engine that returns its input at once: what is left is the protocol's cost."""

    def load(self, choice, progress):
        return {"model": "echo"}

    def info(self, engine):
        return {"model": "echo", "device": "cpu"}

    def run_edit(self, engine, request, progress, cancel):
        return EditResult(image=np.asarray(request.image)[..., :3], metadata={"echo": True})

    run_generate = run_edit

    def is_cached(self, engine, request):
        return False

    def release(self):
        pass


def _serve_echo(port: int) -> None:
    from rfedit_desktop.server.app import create_app
    from rfedit_desktop.server.engine_host import EngineHost
    from rfedit_desktop.server.main import _bind, serve

    host = EngineHost(ModelChoice("tiny"), backend=EchoBackend())
    serve(create_app(host, TOKEN, max_body=1 << 30, shared_memory=True),
          _bind("127.0.0.1", port))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _round_trips(client: EngineClient, request: EditRequest, repeat: int) -> list[float]:
    client.run(request)  # warm-up: the engine "loads", the segments are made
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = client.run(request)
        times.append(time.perf_counter() - t0)
        assert np.array_equal(result.image, request.image)
        del result
    return times


def protocol_overhead(side: int, repeat: int) -> None:
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(target=_serve_echo, args=(port,),
                                                        daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{port}"
    shared = EngineClient(url, TOKEN, timeout=120)
    plain = EngineClient(url, TOKEN, timeout=120, shared_memory=False)
    deadline = time.time() + 60
    while True:
        try:
            plain.info()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    assert shared.uses_shared_memory and not plain.uses_shared_memory
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
    mask = ((rng.random((side, side)) > 0.5) * 255).astype(np.uint8)  # the GUI sends 8-bit coverage
    request = EditRequest(image=image, prompt="echo", mask=mask)
    runs: dict[str, list[float]] = {"shm": [], "http": []}
    copies = []
    for _ in range(repeat):  # interleaved, so both see the same load on the machine
        runs["shm"] += _round_trips(shared, request, 1)
        runs["http"] += _round_trips(plain, request, 1)
        t1 = time.perf_counter()  # for scale: one plain copy of the same bytes, here and now
        for part in (image, mask, image):
            bytearray(memoryview(part).cast("B"))
        copies.append(time.perf_counter() - t1)
    shared.close()
    proc.terminate()
    proc.join(10)
    mb = (image.nbytes + mask.nbytes + image.nbytes) / 2**20
    copy = statistics.median(copies) * 1000
    med = {k: statistics.median(v) * 1000 for k, v in runs.items()}
    print(f"\nprotocol overhead, {side}x{side} RGB + 8-bit mask in, RGB out "
          f"({mb:.0f} MiB over 127.0.0.1, {os.cpu_count()} CPU cores)")
    for key, label in (("shm", "shared memory (local engine)"), ("http", "HTTP bodies (remote)")):
        print(f"  round trip, {label:29s} median of {repeat}: {med[key]:7.1f} ms"
              f"   (min {min(runs[key]) * 1000:.1f}, max {max(runs[key]) * 1000:.1f};"
              f" {med[key] / copy:.2f}x the copy)")
    print(f"  for scale, one plain memory copy of those bytes: {copy:.1f} ms"
          f"  (load average {os.getloadavg()[0]:.1f})")
    print(f"  shared memory vs HTTP: {med['http'] / med['shm']:.2f}x faster")
    print(f"  target <= 150 ms (local engine): {'met' if med['shm'] <= 150 else 'NOT met'}")


def ray_throughput(edits: int, steps: int) -> None:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    root = tempfile.mkdtemp(prefix="rfedit-bench-")
    for kind in ("CACHE", "DATA", "CONFIG"):
        os.environ.setdefault(f"RFEDIT_{kind}_DIR", os.path.join(root, kind.lower()))
    import asyncio

    import ray
    from ray import serve

    from rfedit_desktop.server.ray_host import RayHost

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    rng = np.random.default_rng(1)

    def fresh(count: int) -> list[EditRequest]:
        """New pixels each round, so no edit is a cache hit."""
        return [EditRequest(image=rng.integers(0, 255, (128, 128, 3), dtype=np.uint8),
                            prompt="a watercolour", steps=steps, seed=i) for i in range(count)]

    rates = {}
    try:
        for replicas in (1, 2):
            host = RayHost(ModelChoice("demo"), min_replicas=replicas, max_replicas=replicas,
                           connect=False)
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, daemon=True)
            thread.start()

            async def one(request, host=host):
                job = host.submit("edit", request)
                async for event in job.stream():
                    if event and event["type"] in ("result", "error", "cancelled"):
                        return event["type"]

            async def all_of(requests, host=host):
                return await asyncio.gather(*(one(r, host) for r in requests))

            asyncio.run_coroutine_threadsafe(all_of(fresh(replicas)), loop).result()  # warm-up
            t0 = time.perf_counter()
            outcome = asyncio.run_coroutine_threadsafe(all_of(fresh(edits)), loop).result()
            seconds = time.perf_counter() - t0
            assert outcome == ["result"] * edits, outcome
            rates[replicas] = edits / seconds
            print(f"  {replicas} replica(s): {edits} concurrent demo edits (128², {steps} steps)"
                  f" in {seconds:6.1f} s = {rates[replicas]:.2f} edits/s")
            host.close()
            loop.call_soon_threadsafe(loop.stop)
        print(f"  2 vs 1 replicas: {rates[2] / rates[1]:.2f}x throughput "
              f"({os.cpu_count()} CPU cores; replicas share them)")
    finally:
        serve.shutdown()
        ray.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ray", action="store_true", help="also 1 vs 2 Ray Serve replicas")
    parser.add_argument("--edits", type=int, default=8)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    protocol_overhead(args.side, args.repeat)
    if args.ray:
        print("\nRay Serve throughput")
        ray_throughput(args.edits, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
