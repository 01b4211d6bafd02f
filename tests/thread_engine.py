"""An engine link to a real engine server running in a thread of the test process.

The Starlette app, the engine host and the protocol client are the real ones; only the backend
is the test's, so a test can script the engine and still reach its state directly.
"""

from __future__ import annotations

import threading
import time

from rfedit_desktop.protocol.client import EngineClient
from rfedit_desktop.protocol.model_choice import ModelChoice


class ServedApp:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a thread of this process."""

    def __init__(self, app) -> None:
        import socket

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class ThreadEngine:
    """An engine link to a server running in a thread of this process."""

    def __init__(self, backend) -> None:
        from rfedit_desktop.server.app import create_app
        from rfedit_desktop.server.engine_host import EngineHost

        self.host = EngineHost(ModelChoice("tiny"), backend=backend)
        app = create_app(self.host, "t0k3n", client_paths=True, shared_memory=True)  # as --local
        self.served = ServedApp(app)
        self._client = EngineClient(self.served.url, "t0k3n")

    def client(self):
        return self._client

    def where(self) -> str:
        return "test engine"

    def died(self):
        return None

    def restart(self) -> None:
        pass

    def stop(self) -> None:
        self._client.close()
        self.served.stop()
        self.host.close()
