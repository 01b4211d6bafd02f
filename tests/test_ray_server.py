"""`rfedit-server --ray`: the engine on two CPU Ray Serve replicas with the demo model.

Ray starts inside the test (two CPUs, no dashboard, no usage stats) and is shut down after.
Four edits at once all succeed (queued while both replicas are busy), a re-edit of one of their
images hits the cache, and killing the replica process that runs a job fails that job with one
line while the server goes on answering and editing.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest
from thread_engine import ServedApp

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.protocol.client import EngineClient
from rfedit_desktop.protocol.model_choice import ModelChoice

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")
TOKEN = "ray-test-token-0123456789"
STEPS = 4


@pytest.fixture(scope="module")
def ray_engine():
    from ray import serve

    from rfedit_desktop.server.app import create_app
    from rfedit_desktop.server.ray_host import RayHost

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        host = RayHost(ModelChoice("demo"), min_replicas=2, max_replicas=2, connect=False)
        served = ServedApp(create_app(host, TOKEN))
        yield served.url, host
        served.stop()
        host.close()
        serve.shutdown()
    finally:
        ray.shutdown()


def photo(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((64, 64, 3)) * 255).astype(np.uint8)


def request(seed: int, steps: int = STEPS, prompt: str = "a watercolour") -> EditRequest:
    return EditRequest(image=photo(seed), prompt=prompt, steps=steps)


def test_four_concurrent_edits_succeed_and_a_reedit_hits_the_cache(ray_engine) -> None:
    url, _ = ray_engine
    outcomes: dict[int, object] = {}
    pids: dict[int, int] = {}

    def edit(i: int) -> None:
        def seen(event: dict) -> None:
            if event["type"] == "replica":
                pids[i] = event["pid"]
        try:
            outcomes[i] = EngineClient(url, TOKEN).run(request(i), on_event=seen)
        except Exception as exc:  # noqa: BLE001
            outcomes[i] = exc

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert all(getattr(outcomes.get(i), "image", None) is not None for i in range(4)), outcomes
    assert all(outcomes[i].image.shape == (64, 64, 3) for i in range(4))
    assert len(set(pids.values())) == 2  # both replicas worked
    again = EngineClient(url, TOKEN).run(request(2, prompt="an oil painting"))
    assert again.cache_hit
    assert EngineClient(url, TOKEN).is_cached(request(3))


def test_clearing_the_cache_reaches_every_replica(ray_engine) -> None:
    url, _ = ray_engine
    pids: dict[int, int] = {}

    def edit(i: int) -> None:
        EngineClient(url, TOKEN).run(request(i), on_event=lambda e: e["type"] == "replica"
                                     and pids.setdefault(i, e["pid"]))

    seeds = []
    for first in range(20, 30, 2):  # pairs of edits at once until both replicas hold some
        pair = (first, first + 1)
        seeds += pair
        threads = [threading.Thread(target=edit, args=(i,)) for i in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        if len(set(pids.values())) == 2:
            break
    assert len(set(pids.values())) == 2, pids
    client = EngineClient(url, TOKEN)
    assert all(client.is_cached(request(i)) for i in seeds)
    client.clear_cache()
    assert not any(client.is_cached(request(i)) for i in seeds)


def test_killing_a_replica_mid_job_fails_that_job_and_the_server_goes_on(ray_engine) -> None:
    url, _ = ray_engine
    client = EngineClient(url, TOKEN)
    job = client.submit(request(10, steps=200))
    events = []
    for event in client.events(job, timeout=600):
        events.append(event)
        if event["type"] == "progress" and event["step"] >= 2:
            pid = next(e["pid"] for e in events if e["type"] == "replica")
            os.kill(pid, signal.SIGKILL)
    assert events[-1]["type"] == "error"
    assert "replica running this job stopped" in events[-1]["message"]
    assert "\n" not in events[-1]["message"]
    assert client.info()["info"]["engine"]["model"]  # still answering
    after = client.run(request(11))
    assert after.image.shape == (64, 64, 3)
