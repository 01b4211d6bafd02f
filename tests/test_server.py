"""The engine protocol end to end: a real uvicorn server on 127.0.0.1 with the tiny engine.

The server runs in a thread of the test process and is shut down after the module; every
refusal (bad token, oversized body, malformed request, another protocol version) is checked to
be a 4xx with one line, and the server is checked to keep serving after it.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.errors import Cancelled
from rfedit_desktop.protocol import PROTOCOL_VERSION, codec
from rfedit_desktop.protocol.client import EngineClient, EngineError
from rfedit_desktop.protocol.model_choice import ModelChoice

TOKEN = "test-token-0123456789"
MAX_BODY = 2 << 20
STEPS = 4


def _serve(app, sock):
    import uvicorn

    config = uvicorn.Config(app, log_level="error", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    return server, thread


@pytest.fixture(scope="module")
def engine():
    from rfedit_desktop.server.app import create_app
    from rfedit_desktop.server.engine_host import EngineHost

    host = EngineHost(ModelChoice("tiny"), models=("tiny",))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server, thread = _serve(create_app(host, TOKEN, max_body=MAX_BODY), sock)
    port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}", host
    server.should_exit = True
    thread.join(10)
    host.close()
    assert not thread.is_alive()


@pytest.fixture
def client(engine) -> EngineClient:
    return EngineClient(engine[0], TOKEN)


def photo(seed: int = 0, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size, dtype=np.float32)
    img = np.stack([np.add.outer(base, base) / 2, np.tile(base, (size, 1)),
                    np.full((size, size), 90.0)], axis=2)
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def request(seed: int = 0, **kw) -> EditRequest:
    return EditRequest(image=photo(seed), prompt="a watercolour", steps=STEPS, **kw)


def raw_http(url: str, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send bytes as they are (what a hostile or broken client might) and read the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode("latin-1") + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head_part, _, rest = data.partition(b"\r\n\r\n")
        lines = head_part.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    status = int(lines[0].split()[1])
    return status, json.loads(rest[:length] or b"{}")


def headers(token: str = TOKEN, version: int = PROTOCOL_VERSION, extra: str = "") -> str:
    return (f"Authorization: Bearer {token}\r\nX-Rfedit-Protocol: {version}\r\n"
            f"Connection: close\r\n{extra}")


# -- the codec -----------------------------------------------------------------------------------
def test_request_round_trip_keeps_every_field_and_pixel() -> None:
    mask = (np.arange(64 * 64).reshape(64, 64) % 7 == 0).astype(np.float32)
    req = EditRequest(image=photo(3), prompt="p", source_prompt="s", method="ode", steps=9,
                      gamma=0.25, eta=0.5, start=0.1, stop=0.6, decay_power=2.0, strength=0.8,
                      guidance=4.0, source_guidance=1.5, seed=77, mask=mask, max_megapixels=0.5,
                      background=(1, 2, 3), preview_every=2)
    kind, back, choice = codec.decode_request(codec.encode_request(req, "generate"))
    assert choice is None
    assert kind == "generate"
    for name in req.params():
        if name != "has_mask":
            assert getattr(back, name) == getattr(req, name), name
    assert np.array_equal(back.image, req.image) and back.image.dtype == np.uint8
    assert np.array_equal(back.mask, mask) and back.mask.dtype == np.float32
    assert back.background == (1, 2, 3) and isinstance(back.background, tuple)


def test_request_round_trip_keeps_region_flowedit_and_lora_fields() -> None:
    req = EditRequest(image=photo(3), prompt="p", method="flowedit", steps=12, n_max=10,
                      n_min=1, n_avg=2, region=(4, 6, 30, 40), context=16, keep_detail=False,
                      loras=(("style.safetensors", 0.75), ("ink.safetensors", -0.5)))
    _, back, _ = codec.decode_request(codec.encode_request(req))
    assert (back.n_max, back.n_min, back.n_avg) == (10, 1, 2)
    assert back.region == (4, 6, 30, 40) and isinstance(back.region, tuple)
    assert back.context == 16 and back.keep_detail is False
    assert back.loras == (("style.safetensors", 0.75), ("ink.safetensors", -0.5))
    assert isinstance(back.loras, tuple) and all(isinstance(x, tuple) for x in back.loras)
    assert back.params() == req.params()


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda f: f.update(steps="28"), "'steps' must be an integer"),
    (lambda f: f.update(eta=True), "'eta' must be a number"),
    (lambda f: f.update(background=[1, 2]), "'background' must be a list of 3"),
    (lambda f: f.update(colour=1), "unknown request field 'colour'"),
    (lambda f: f.pop("prompt"), "no 'prompt'"),
])
def test_wrong_types_name_the_field(mutate, message) -> None:
    frame = codec.encode_request(request())
    header, arrays = codec.decode_frame(frame)
    mutate(header["fields"])
    with pytest.raises(codec.ProtocolError, match=message):
        codec.decode_request(codec.encode_frame(header, arrays))


def test_truncated_frames_and_nan_are_refused() -> None:
    frame = codec.encode_request(request())
    with pytest.raises(codec.ProtocolError, match="cut short"):
        codec.decode_request(frame[:-10])
    with pytest.raises(codec.ProtocolError, match="after its last array"):
        codec.decode_request(frame + b"xx")
    with pytest.raises(codec.ProtocolError, match="not a number"):
        codec.loads(b'{"eta": NaN}')
    with pytest.raises(codec.ProtocolError, match="speaks engine protocol 9"):
        codec.check_version(9)


# -- the server ----------------------------------------------------------------------------------
def test_edit_streams_progress_and_previews_then_reedit_hits_the_cache(client) -> None:
    events: list[dict] = []
    first = client.run(request(11), on_event=events.append)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "queued" and "started" in kinds and kinds[-1] == "result"
    assert any(e["type"] == "progress" and e["phase"] == "edit" for e in events)
    previews = [codec.decode_preview(e) for e in events if e["type"] == "preview"]
    assert previews and previews[-1].ndim == 3 and previews[-1].dtype == np.uint8
    assert first.image.shape == (64, 64, 3) and not first.cache_hit
    assert first.image.flags.writeable  # decoded without a copy, into a writable buffer
    assert client.is_cached(request(11)) and not client.is_cached(request(12))
    again = client.run(request(11))
    assert again.cache_hit
    info = client.info()
    assert info["protocol"] == PROTOCOL_VERSION
    assert info["info"]["engine"]["model"].startswith("tiny")
    assert info["info"]["engine"]["inversion_cache"]


def test_two_clients_edit_at_once(engine) -> None:
    outcomes: dict[int, object] = {}

    def edit(i: int) -> None:
        try:
            outcomes[i] = EngineClient(engine[0], TOKEN).run(request(20 + i))
        except Exception as exc:  # noqa: BLE001
            outcomes[i] = exc

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(getattr(outcomes.get(i), "image", None) is not None for i in range(2)), outcomes


def test_cancel_a_running_edit(client) -> None:
    job = client.submit(EditRequest(image=photo(30), prompt="x", steps=40))
    seen = []
    for event in client.events(job):
        seen.append(event["type"])
        if event["type"] == "progress" and event["step"] >= 1:
            assert client.cancel(job)
    assert seen[-1] == "cancelled"
    with pytest.raises(EngineError, match="no result"):
        client.result(job)
    with pytest.raises(Cancelled):
        client.run(EditRequest(image=photo(31), prompt="x", steps=40),
                   on_event=lambda e: e["type"] == "started" and client.cancel_all())


def test_bad_token_is_refused_and_the_server_keeps_serving(engine) -> None:
    url = engine[0]
    with pytest.raises(EngineError, match="401.*token"):
        EngineClient(url, "wrong").info()
    status, body = raw_http(url, "GET /v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
    assert status == 401 and "token" in body["error"] and body["protocol"] == PROTOCOL_VERSION
    assert EngineClient(url, TOKEN).info()["info"]["state"] in ("ready", "idle", "loading")


def test_oversized_body_is_refused_before_it_is_read(engine) -> None:
    url = engine[0]
    # Declares 1 GiB but sends nothing: the answer must come without waiting for the body.
    status, body = raw_http(url, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\n" + headers(
        extra=f"Content-Length: {1 << 30}\r\n"))
    assert status == 413 and "limit" in body["error"]
    big = EditRequest(image=np.zeros((1024, 1024, 3), np.uint8), prompt="x")
    with pytest.raises(EngineError, match="413"):
        EngineClient(url, TOKEN).submit(big)
    assert EngineClient(url, TOKEN).info()["protocol"] == PROTOCOL_VERSION


def test_malformed_requests_get_one_line(engine) -> None:
    url = engine[0]
    status, body = raw_http(url, "POST /v1/model HTTP/1.1\r\nHost: x\r\n" + headers(
        extra="Content-Length: 7\r\n"), b"{nope!}")
    assert status == 400 and "not valid JSON" in body["error"] and "\n" not in body["error"]
    header, arrays = codec.decode_frame(codec.encode_request(request()))
    header["fields"]["steps"] = [1]
    frame = codec.encode_frame(header, arrays)
    status, body = raw_http(url, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\n" + headers(
        extra=f"Content-Length: {len(frame)}\r\n"), frame)
    assert status == 400 and "'steps' must be an integer" in body["error"]
    status, body = raw_http(url, "GET /v1/info HTTP/1.1\r\nHost: x\r\n" + headers(version=2))
    assert status == 400 and "protocol 2 (newer)" in body["error"]
    status, body = raw_http(url, "GET /v1/jobs/j999/events HTTP/1.1\r\nHost: x\r\n" + headers())
    assert status == 404 and "no such job" in body["error"]
    assert EngineClient(url, TOKEN).info()["protocol"] == PROTOCOL_VERSION


def test_a_remote_client_cannot_name_a_path(client, tmp_path) -> None:
    """The server loads only the models it was started with; no route takes a file name."""
    with pytest.raises(EngineError, match="409.*serves only tiny"):
        client.load(ModelChoice(str(tmp_path)))
    assert client.info()["info"]["models"] == ["tiny"]


class _Loads:
    """A backend that records the choices it is asked to load and loads nothing heavy."""

    def __init__(self) -> None:
        self.loaded: list[ModelChoice] = []

    def load(self, choice, progress):
        self.loaded.append(choice)
        return {"model": choice.model}

    def info(self, engine):
        return {"model": engine["model"], "device": "cpu"}

    def run_edit(self, engine, request, progress, cancel):
        from rfedit_desktop.engine.request import EditResult

        return EditResult(image=np.zeros((4, 4, 3), np.uint8), metadata={"ran_on": engine})

    def is_cached(self, engine, request):
        return False

    def release(self):
        pass


def _finished(job):
    deadline = time.time() + 30
    while not job.finished and time.time() < deadline:
        time.sleep(0.02)
    return job


def test_a_server_of_several_models_loads_the_one_a_client_names_its_own_way() -> None:
    from rfedit_desktop.server.engine_host import EngineHost, ModelNotAllowed

    served = ModelChoice("tiny", device="cpu", memory_mode="none", quantization="none")
    backend = _Loads()
    host = EngineHost(served, backend=backend, models=("tiny", "demo"))
    try:
        job = _finished(host.load(ModelChoice("demo", device="cuda", quantization="nf4")))
        assert job.state == "done"
        # the client picks the model; the device, memory mode and weights stay the server's
        assert backend.loaded == [ModelChoice("demo", "cpu", "none", "none")]
        with pytest.raises(ModelNotAllowed, match="serves only tiny, demo"):
            host.load(ModelChoice("black-forest-labs/FLUX.1-dev"))
    finally:
        host.close()


def test_an_edit_runs_on_the_model_its_client_chose_not_the_last_one_loaded() -> None:
    """Two clients of one server with several models: a job carries its model."""
    from rfedit_desktop.server.engine_host import EngineHost

    backend = _Loads()
    host = EngineHost(ModelChoice("tiny"), backend=backend, models=("tiny", "demo"))
    try:
        assert _finished(host.load(ModelChoice("demo"))).state == "done"  # client A
        request = EditRequest(image=np.zeros((4, 4, 3), np.uint8), prompt="x")
        kind, sent, choice = codec.decode_request(  # client B, through the codec
            codec.encode_request(request, "edit", ModelChoice("tiny")))
        job = _finished(host.submit(kind, sent, choice))
        assert job.state == "done"
        assert [c.model for c in backend.loaded] == ["demo", "tiny"]
    finally:
        host.close()


def test_a_model_choice_travels_whole() -> None:
    choice = ModelChoice("/models/flux", device="cuda", memory_mode="model-offload",
                         quantization="nf4")
    assert codec.choice_from_json(codec.loads(codec.dumps(codec.choice_to_json(choice)))) == choice


def test_a_served_engine_never_opens_a_lora_path_its_client_names(client, tmp_path) -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    secret = tmp_path / "secret.safetensors"
    secret.write_bytes(b"x")
    for loras, message in (((str(secret), 1.0),), "offers no LoRAs"), \
                          ((("style.safetensors", 1.0),), "offers no LoRAs"):
        with pytest.raises(EngineError, match=message):
            client.submit(EditRequest(image=image, prompt="x", loras=loras))
    assert client.info()["info"]["queue"] == 0  # nothing was queued


def test_lora_names_resolve_inside_the_server_folder_only(tmp_path) -> None:
    from safetensors.numpy import save_file

    from rfedit_desktop.errors import EditError
    from rfedit_desktop.protocol.client import for_served_engine
    from rfedit_desktop.server.loras import served_loras

    folder = tmp_path / "loras"
    folder.mkdir()
    save_file({"w": np.zeros((2, 2), np.float32)}, str(folder / "style.safetensors"))
    (tmp_path / "outside.safetensors").write_bytes((folder / "style.safetensors").read_bytes())
    image = np.zeros((8, 8, 3), np.uint8)

    def ask(*loras):
        return served_loras(EditRequest(image=image, prompt="x", loras=loras), folder)

    assert ask(("style.safetensors", 0.5)).loras == ((str(folder / "style.safetensors"), 0.5),)
    for name, message in (("../outside.safetensors", "not by a path"),
                          (str(tmp_path / "outside.safetensors"), "not by a path"),
                          ("..", "not by a path"), ("sub\\x.safetensors", "not by a path"),
                          ("other.safetensors", "no LoRA called 'other.safetensors'")):
        with pytest.raises(EditError, match=message):
            ask((name, 1.0))
    sent = for_served_engine(EditRequest(image=image, prompt="x", loras=(
        ("/home/me/loras/style.safetensors", 0.8), ("C:\\loras\\ink.safetensors", 1.0))))
    assert sent.loras == (("style.safetensors", 0.8), ("ink.safetensors", 1.0))
