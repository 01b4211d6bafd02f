"""Frames through shared memory for an engine on this machine (protocol/shm.py).

The server is the real app on uvicorn (in a thread, started as the local engine is, or the real
`--local` child process); the client is the real EngineClient. Checked: exact pixels both ways,
the server opening nothing but this protocol's private segments of the declared size (a 4xx
with one line otherwise, and it keeps serving), no segment left in /dev/shm after a client
closes or either side is killed, and a remote engine never being sent a segment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_server import raw_http
from thread_engine import ServedApp, ThreadEngine

from rfedit_desktop.engine.request import EditRequest, EditResult
from rfedit_desktop.protocol import PROTOCOL_VERSION, codec, shm
from rfedit_desktop.protocol.client import EngineClient, EngineError
from rfedit_desktop.protocol.model_choice import ModelChoice

pytestmark = pytest.mark.skipif(not shm.available(), reason="no /dev/shm on this machine")
TOKEN = "t0k3n"  # ThreadEngine's
ROOT = Path(__file__).resolve().parents[1]


class Mirror:
    """An engine that answers at once: the request's image twice as large and inverted, so the
    result is bigger than the request and differs from it pixel by pixel."""

    def __init__(self) -> None:
        self.seen: list[EditRequest] = []

    def load(self, choice, progress):
        return {"model": "mirror"}

    def info(self, engine):
        return {"model": "mirror", "device": "cpu"}

    def run_edit(self, engine, request, progress, cancel):
        self.seen.append(request)
        image = np.asarray(request.image)
        return EditResult(image=255 - image.repeat(2, 0).repeat(2, 1), metadata={"m": 1})

    run_generate = run_edit

    def is_cached(self, engine, request):
        return False

    def release(self):
        pass


@pytest.fixture
def engine():
    link = ThreadEngine(Mirror())
    yield link
    link.stop()


def seen_by(link: ThreadEngine) -> list[EditRequest]:
    return link.host._backend.seen  # noqa: SLF001 - the test's own backend


def own_segments(pid: int | None = None) -> list[str]:
    prefix = f"{shm.PREFIX}{pid or os.getpid()}-"
    return sorted(p.name for p in shm.SHM_DIR.glob(prefix + "*"))


def picture(seed: int, height: int = 600, width: int = 700) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def post_segment(url: str, described: object, path: str = "/v1/jobs") -> tuple[int, dict]:
    body = json.dumps(described).encode()
    return raw_http(url, f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                         f"X-Rfedit-Protocol: {PROTOCOL_VERSION}\r\nConnection: close\r\n"
                         f"Content-Type: {shm.CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n",
                    body)


def test_an_edit_through_shared_memory_gives_the_exact_pixels(engine) -> None:
    client = engine.client()
    assert client.uses_shared_memory
    image, mask = picture(1), (np.arange(600 * 700).reshape(600, 700) % 251).astype(np.uint8)
    first = client.run(EditRequest(image=image, prompt="p", mask=mask, seed=3))
    seen = seen_by(engine)[-1]
    assert np.array_equal(seen.image, image) and np.array_equal(seen.mask, mask)
    assert seen.mask.dtype == np.uint8 and seen.seed == 3
    expected = 255 - image.repeat(2, 0).repeat(2, 1)
    assert first.image.shape == (1200, 1400, 3) and np.array_equal(first.image, expected)
    assert first.image.flags.writeable and first.metadata == {"m": 1}
    names = client._pool.names()  # noqa: SLF001
    assert names and set(names) <= set(own_segments())

    second = client.run(EditRequest(image=picture(2), prompt="p"))  # the same segments again
    assert np.array_equal(second.image, 255 - picture(2).repeat(2, 0).repeat(2, 1))
    assert np.array_equal(first.image, expected), "a result must not live in a reused segment"
    assert np.array_equal(seen.image, image), "the engine's request must be its own copy"


def test_the_server_opens_only_private_segments_of_this_protocol(engine, tmp_path) -> None:
    client = engine.client()
    url = client.url
    segment = shm.Segment(shm.GRAIN)
    try:
        length = segment.write(codec.request_parts(EditRequest(image=picture(4, 32, 32),
                                                               prompt="p")))
        good = segment.describe(length)
        refusals = [
            ({**good, "segment": "../../etc/passwd"}, 400, "not a segment name"),
            ({**good, "segment": f"{segment.name}/../x"}, 400, "not a segment name"),
            ({**good, "segment": str(shm.SHM_DIR / segment.name)}, 400, "not a segment name"),
            ({**good, "segment": f"{shm.PREFIX}1-{'0' * 32}"}, 400, "no shared-memory segment"),
            ({**good, "size": shm.GRAIN * 2}, 400, f"holds {shm.GRAIN} bytes"),
            ({**good, "length": shm.GRAIN + 1}, 400, "'length' from 0 to its size"),
            ({**good, "length": length - 10}, 400, "cut short"),  # shapes beyond the frame
            ({**good, "size": 1 << 40}, 413, "limit"),
            ("segment", 400, "a JSON object"),
        ]
        for described, status, words in refusals:
            code, body = post_segment(url, described)
            assert (code, words in body.get("error", "")) == (status, True), (described, body)
            assert "\n" not in body["error"]

        link = shm.SHM_DIR / f"{shm.PREFIX}{os.getpid()}-{'a' * 32}"
        target = tmp_path / "secret"
        target.write_bytes(b"x" * shm.GRAIN)
        os.symlink(target, link)
        try:
            code, body = post_segment(url, {**good, "segment": link.name})
            assert code == 403 and "cannot open" in body["error"]
        finally:
            link.unlink()

        os.chmod(shm.SHM_DIR / segment.name, 0o644)
        code, body = post_segment(url, good)
        assert code == 403 and "0600" in body["error"]
        os.chmod(shm.SHM_DIR / segment.name, 0o600)
        if os.getuid() == 0:
            os.chown(shm.SHM_DIR / segment.name, 12345, -1)
            code, body = post_segment(url, good)
            assert code == 403 and "another user" in body["error"]
            os.chown(shm.SHM_DIR / segment.name, 0, -1)

        code, body = post_segment(url, good)  # the same segment, now acceptable
        assert code == 200 and body["job"]
    finally:
        segment.unlink()
    job = body["job"]
    list(client.events(job))
    with pytest.raises(EngineError, match="400.*not a segment name"):
        client._call("GET", f"/v1/jobs/{job}/result?segment=..%2Fx&size=1")  # noqa: SLF001
    assert client.result(job).image.shape == (64, 64, 3)  # a refusal takes no result
    result = client.run(EditRequest(image=picture(5, 40, 40), prompt="p"))  # still serving
    assert np.array_equal(result.image, 255 - picture(5, 40, 40).repeat(2, 0).repeat(2, 1))


def test_an_engine_without_shared_memory_refuses_segments_and_gets_bodies() -> None:
    from rfedit_desktop.server.app import create_app
    from rfedit_desktop.server.engine_host import EngineHost

    host = EngineHost(ModelChoice("tiny"), backend=Mirror())
    served = ServedApp(create_app(host, TOKEN))
    url = served.url
    try:
        segment = shm.Segment(shm.GRAIN)
        try:
            code, body = post_segment(url, segment.describe(0))
        finally:
            segment.unlink()
        assert code == 400 and "takes no shared memory" in body["error"]
        client = EngineClient(url, TOKEN)
        before = own_segments()
        assert not client.uses_shared_memory
        result = client.run(EditRequest(image=picture(6, 30, 20), prompt="p"))
        assert np.array_equal(result.image, 255 - picture(6, 30, 20).repeat(2, 0).repeat(2, 1))
        assert own_segments() == before
    finally:
        served.stop()
        host.close()


def test_a_remote_url_never_uses_shared_memory() -> None:
    # 192.0.2.1 is a documentation address nobody answers: asking it anything would fail.
    for url in ("http://192.0.2.1:8765", "http://engine.example.org:8765",
                "http://0.0.0.0:8765"):
        assert not EngineClient(url, TOKEN, timeout=0.5).uses_shared_memory, url
    assert [shm.is_loopback(h) for h in ("localhost", "127.0.0.1", "127.0.1.1", "::1",
                                         "[::1]", "10.0.0.2", "::", "example.org")] == [
        True, True, True, True, True, False, False, False]


def test_no_segments_are_left_after_the_client_closes(engine) -> None:
    client = engine.client()
    for seed in range(3):
        client.run(EditRequest(image=picture(seed, 700, 800), prompt="p"))
    assert client.is_cached(EditRequest(image=picture(0, 700, 800), prompt="p")) is False
    made = set(client._pool.names())  # noqa: SLF001
    assert made and len(made) <= shm.KEEP_FREE and made <= set(own_segments())
    client.close()
    left = own_segments()
    assert not made & set(left)
    assert not client.uses_shared_memory  # a closed client's bodies go over HTTP
    result = client.run(EditRequest(image=picture(9, 20, 20), prompt="p"))
    assert result.image.shape == (40, 40, 3) and own_segments() == left


KILLED_CLIENT = textwrap.dedent("""
    import sys, time, numpy as np
    from rfedit_desktop.engine.request import EditRequest
    from rfedit_desktop.protocol.client import EngineClient
    client = EngineClient(sys.argv[1], sys.argv[2])
    client.is_cached(EditRequest(image=np.zeros((900, 900, 3), np.uint8), prompt="p"))
    print(" ".join(client._pool.names()), flush=True)
    time.sleep(600)
""")


def test_nothing_is_left_after_a_kill_9_of_the_client_or_the_local_engine(engine) -> None:
    """A killed client's segments stay until the next local engine (or client) starts and
    sweeps them; a killed engine owns none."""
    from rfedit_desktop.jobs.engine_link import LocalEngine

    victim = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, engine.client().url, TOKEN],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        names = victim.stdout.readline().split()
    finally:
        victim.kill()
        victim.wait(10)
    assert names and own_segments(victim.pid) == sorted(names)

    link = LocalEngine(ModelChoice("tiny"))
    try:
        client = link.client()  # the child swept at its start
        assert own_segments(victim.pid) == []
        assert client.uses_shared_memory
        assert client.is_cached(EditRequest(image=picture(1, 700, 800), prompt="p")) is False
        ours = set(client._pool.names())  # noqa: SLF001
        assert ours and ours <= set(own_segments())
        child = link.pid
        os.kill(child, signal.SIGKILL)
        assert link.died() == "killed by SIGKILL"
        assert own_segments(child) == []  # the engine never makes a segment of its own
        link.restart()
        again = link.client()
        assert not ours & set(own_segments())  # the old child's client closed its own
        assert again.is_cached(EditRequest(image=picture(2, 700, 800), prompt="p")) is False
        ours |= set(again._pool.names())  # noqa: SLF001
    finally:
        link.stop()
    assert not ours & set(own_segments())


def test_a_finished_job_lets_go_of_its_request(engine) -> None:
    """The server keeps finished jobs for their events; holding their pixels too kept 16
    requests' worth of memory alive and made every new request land in fresh pages."""
    client = engine.client()
    job = client.submit(EditRequest(image=picture(7, 64, 64), prompt="p"))
    assert [e["type"] for e in client.events(job)][-1] == "result"
    assert client.result(job).image.shape == (128, 128, 3)
    kept = engine.host.table.get(job)
    assert kept is not None and kept.finished and kept.request is None


def test_a_full_dev_shm_sends_the_bytes_over_the_socket(monkeypatch, small_disk) -> None:
    """A container's /dev/shm is 64 MiB: a frame that does not fit must go over HTTP, never
    crash the window (the pages of a sparse file on a full tmpfs are a SIGBUS)."""
    small_disk.fill()
    monkeypatch.setattr(shm, "SHM_DIR", small_disk.path)
    link = ThreadEngine(Mirror())
    try:
        client = link.client()
        assert client.uses_shared_memory  # the engine shares this (full) folder
        image = picture(7, 300, 400)
        result = client.run(EditRequest(image=image, prompt="p"))
        assert np.array_equal(result.image, 255 - image.repeat(2, 0).repeat(2, 1))
        assert np.array_equal(seen_by(link)[-1].image, image)
        assert not list(small_disk.path.glob(shm.PREFIX + "*")), "no half-made segment left"
    finally:
        link.stop()



def test_a_refused_segment_sends_the_bytes_over_the_socket(engine, monkeypatch) -> None:
    """An engine that cannot use this client's segments (a container with its own pids swept
    them, say) still gets the edit: the client sends the bytes and stops using segments."""
    client = engine.client()
    assert client.uses_shared_memory
    client.run(EditRequest(image=picture(9, 60, 80), prompt="warm"))  # segments made
    held = client._pool.names()  # noqa: SLF001

    def refuse(self, described):
        raise shm.SegmentError("no shared-memory segment (removed)")

    monkeypatch.setattr(shm.SegmentMaps, "open", refuse)
    image = picture(8, 120, 160)
    result = client.run(EditRequest(image=image, prompt="p"))
    assert np.array_equal(result.image, 255 - image.repeat(2, 0).repeat(2, 1))
    assert np.array_equal(seen_by(engine)[-1].image, image)
    assert not client.uses_shared_memory
    assert held and not set(held) & set(own_segments()), "the given-up segments are removed"


def test_closing_after_the_exit_finalizer_is_quiet() -> None:
    """At exit the pool's finalizer runs before the local engine's atexit stop closes the
    client: that close must not fail ("list.remove(x): x not in list" at every exit)."""
    pool = shm.SegmentPool()
    segment = pool.take(10)
    pool.give(segment)
    pool._finalizer()  # noqa: SLF001 - what the interpreter does at exit
    pool.close()
    assert segment.name not in own_segments()
