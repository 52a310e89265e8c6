"""Serve an ASGI app over real loopback HTTP inside the current process, for tests and demos.

Shared by the simulator (`simulator.server.running_simulator`) and the webhook receiver
(`webhooks.server.running_receiver`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

_START_TIMEOUT_S = 10.0


@contextmanager
def serving(app: FastAPI, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve any ASGI app with uvicorn on a free loopback port in a background thread; yields
    its root URL and stops the server (lifespan included) on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-in-thread", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {host}:{port} did not start")
            time.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
