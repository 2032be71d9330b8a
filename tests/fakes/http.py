"""A small threaded HTTP server on 127.0.0.1 that fakes build on."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

__all__ = ["LoopbackServer", "FakeHandler", "InFlight"]


class InFlight:
    """How many requests a fake is answering right now, and the most at once.

    A request leaves the count just before its answer's first byte goes out:
    a client that has its answer may send its next request at once, and the
    server must not count the two as running together (that race showed up
    as a peak above the client's limit, and as spurious 429s, on busy machines).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def enter(self, handler: "FakeHandler", limit: int | None = None) -> Callable[[], None] | None:
        """Count this request in and return its leave(); None (not counted) when ``limit`` are in already."""
        with self._lock:
            if limit is not None and self.active >= limit:
                return None
            self.active += 1
            self.peak = max(self.peak, self.active)
        left = False

        def leave() -> None:
            nonlocal left
            with self._lock:
                if not left:
                    left = True
                    self.active -= 1

        handler.before_send = leave
        return leave

    def reset_peak(self) -> None:
        """Start measuring the peak afresh."""
        with self._lock:
            self.peak = self.active


class FakeHandler(BaseHTTPRequestHandler):
    """Request handler that delegates to ``self.server.fake.handle(self)``."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    def read_body(self) -> bytes:
        """Read the request body (Content-Length based)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    #: run once before the answer's first byte (InFlight.enter sets it)
    before_send: Callable[[], None] | None = None

    def answering(self) -> None:
        """Call before the first byte of an answer: a client that got its answer has left the count."""
        hook, self.before_send = self.before_send, None
        if hook is not None:
            hook()

    def send_bytes(self, status: int, body: bytes, content_type: str = "text/plain",
                   headers: dict[str, str] | None = None) -> None:
        """Send a complete response."""
        self.answering()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Send a JSON response."""
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def pause(self, seconds: float) -> None:
        """Sleep like a slow server, but wake at once when the fake stops."""
        self.server.stopping.wait(seconds)

    def wait_for(self, event: threading.Event, timeout: float) -> None:
        """Wait for a test's event (at most timeout s), but wake at once when the fake stops."""
        deadline = time.monotonic() + timeout
        while not event.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if self.server.stopping.is_set() or time.monotonic() >= deadline:
                return

    def setup(self) -> None:
        super().setup()
        with self.server.count_lock:
            self.server.open_connections += 1
            self.server.connections[self.connection] = threading.current_thread()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.count_lock:
                self.server.open_connections -= 1
                self.server.connections.pop(self.connection, None)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.server.fake.handle(self)

    do_POST = do_GET
    do_HEAD = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    #: client connections open right now (keep-alive ones included)
    open_connections = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count_lock = threading.Lock()
        #: set by stop(): sleeping and waiting handlers wake up
        self.stopping = threading.Event()
        #: each open client connection and the thread serving it
        self.connections: dict[socket.socket, threading.Thread] = {}

    def close_connections(self, timeout: float = 5.0) -> None:
        """End every client connection and wait for the threads serving them."""
        self.stopping.set()
        with self.count_lock:
            open_now = list(self.connections.items())
        for connection, _ in open_now:
            try:
                # A handler reading the next keep-alive request sees the end; one
                # writing an answer gets a broken pipe (kept quiet below).
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients drop keep-alive connections (yt-dlp especially), a killed client
        # leaves its answer unread, stop() ends open connections: no errors of the fake.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError)):
            return
        if isinstance(error, OSError) and self.stopping.is_set():
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """Run ``fake.handle(handler)`` for every request on 127.0.0.1:<free port>."""

    def __init__(self, fake: Any, port: int = 0):
        self.fake = fake
        self._server = _Server(("127.0.0.1", port), FakeHandler)
        self._server.fake = fake
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def open_connections(self) -> int:
        """Client connections open right now, keep-alive ones included."""
        return self._server.open_connections

    def start(self) -> "LoopbackServer":
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-http",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end the open connections (their threads with them) and close the socket."""
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
