"""A small threaded SOCKS5 server on 127.0.0.1 that records who connected where.

Supports no-auth and username/password auth (RFC 1928/1929) and CONNECT to
IPv4, IPv6 and domain-name addresses.  A domain name is never resolved: it is
looked up in ``routes`` (or sent to ``default_route``), which in tests point at
a fake HTTP server on loopback.  That a request for ``www.youtube.com`` arrives
here as a *name* is the proof that the client left DNS to the proxy (socks5h).
"""

from __future__ import annotations

import ipaddress
import select
import socket
import socketserver
import struct
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["SocksConnection", "FakeSocks5Server"]

_NO_AUTH, _USER_PASS, _NO_METHOD = 0x00, 0x02, 0xFF
_ATYP_IPV4, _ATYP_DOMAIN, _ATYP_IPV6 = 0x01, 0x03, 0x04
_OK, _NOT_ALLOWED, _HOST_UNREACHABLE, _CMD_UNSUPPORTED = 0x00, 0x02, 0x04, 0x07


@dataclass(frozen=True)
class SocksConnection:
    """One CONNECT the server accepted or refused."""

    username: str | None
    password: str | None
    host: str
    port: int
    address_type: str  # "domain", "ipv4" or "ipv6"
    accepted: bool


class _Handler(socketserver.BaseRequestHandler):
    server: "_Server"

    def _recv_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                raise ConnectionError("client closed during the SOCKS handshake")
            data += chunk
        return data

    def _reply(self, code: int) -> None:
        self.request.sendall(struct.pack("!BBBB4sH", 5, code, 0, _ATYP_IPV4, b"\0\0\0\0", 0))

    def handle(self) -> None:
        fake = self.server.fake
        try:
            version, count = self._recv_exact(2)
            if version != 5:
                return
            methods = set(self._recv_exact(count))
            username = password = None
            # Prefer user/pass whenever offered: the username is what we record.
            if _USER_PASS in methods:
                self.request.sendall(bytes([5, _USER_PASS]))
                _, ulen = self._recv_exact(2)
                username = self._recv_exact(ulen).decode("utf-8", "replace")
                (plen,) = self._recv_exact(1)
                password = self._recv_exact(plen).decode("utf-8", "replace")
                if fake.credentials is not None and fake.credentials.get(username) != password:
                    self.request.sendall(bytes([1, 1]))
                    return
                self.request.sendall(bytes([1, 0]))
            elif _NO_AUTH in methods and not fake.require_auth:
                self.request.sendall(bytes([5, _NO_AUTH]))
            else:
                self.request.sendall(bytes([5, _NO_METHOD]))
                return
            _, command, _, atyp = self._recv_exact(4)
            if atyp == _ATYP_IPV4:
                host, kind = socket.inet_ntop(socket.AF_INET, self._recv_exact(4)), "ipv4"
            elif atyp == _ATYP_IPV6:
                host, kind = socket.inet_ntop(socket.AF_INET6, self._recv_exact(16)), "ipv6"
            elif atyp == _ATYP_DOMAIN:
                (length,) = self._recv_exact(1)
                host, kind = self._recv_exact(length).decode("idna"), "domain"
            else:
                return
            (port,) = struct.unpack("!H", self._recv_exact(2))
            if command != 1:  # only CONNECT
                self._reply(_CMD_UNSUPPORTED)
                return
            target = fake.route(host, port)
            fake._record(SocksConnection(username, password, host, port, kind, target is not None))
            if target is None:
                self._reply(_NOT_ALLOWED)
                return
            try:
                upstream = socket.create_connection(target, timeout=10)
            except OSError:
                self._reply(_HOST_UNREACHABLE)
                return
            with upstream:
                self._reply(_OK)
                _relay(self.request, upstream)
        except (ConnectionError, OSError, ValueError):
            return


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    a.settimeout(None)
    b.settimeout(None)
    sockets = [a, b]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 30)
        if broken or not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class FakeSocks5Server:
    """Run a SOCKS5 proxy on 127.0.0.1:<free port>; ``connections`` lists every CONNECT."""

    def __init__(self, *, routes: dict[str, tuple[str, int]] | None = None,
                 default_route: tuple[str, int] | None = None, require_auth: bool = False,
                 credentials: dict[str, str] | None = None):
        self.routes = {k.lower(): v for k, v in (routes or {}).items()}
        self.default_route = default_route
        self.require_auth = require_auth
        #: If set, only these username -> password pairs may connect.
        self.credentials = credentials
        self._connections: list[SocksConnection] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._server.server_address[1]

    def url(self, scheme: str = "socks5h") -> str:
        """Return e.g. socks5h://127.0.0.1:<port>."""
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def connections(self) -> list[SocksConnection]:
        """A snapshot of every CONNECT seen so far."""
        with self._lock:
            return list(self._connections)

    def _record(self, conn: SocksConnection) -> None:
        with self._lock:
            self._connections.append(conn)

    def route(self, host: str, port: int) -> tuple[str, int] | None:
        """Where a CONNECT to host:port goes: a configured route, loopback as-is, or nowhere."""
        name = host.lower()
        if name in self.routes:
            return self.routes[name]
        try:
            if ipaddress.ip_address(name).is_loopback:
                return (name, port)
        except ValueError:
            if self.default_route is not None:
                return self.default_route
            return None
        return None

    def start(self) -> "FakeSocks5Server":
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socks",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeSocks5Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
