"""Run a real ``tor`` on loopback with the network disabled, for control-port tests.

``DisableNetwork 1`` keeps it from ever contacting the Tor network, yet its
control port answers PROTOCOLINFO, AUTHENTICATE and SIGNAL NEWNYM for real.
The control port is chosen by tor itself (``auto``) and read back from
``ControlPortWriteToFile`` so parallel test runs never race for it.  With the
network disabled tor opens no SOCKS listener, so ``socks_port`` is only the
configured number.  The process belongs to the fixture, not to stem: it is
terminated at teardown.

Import the fixtures into a test module: ``from tests.fakes.tor import tor_cookie``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["TorProcess", "SilentPort", "start_tor", "silent_port", "tor_cookie", "tor_password",
           "TOR_TEST_PASSWORD"]

TOR_TEST_PASSWORD = "correct horse battery staple"
_START_TIMEOUT = 60.0


@dataclass
class TorProcess:
    """A running tor: its ports, auth, data directory and log file."""

    process: subprocess.Popen
    control_port: int
    socks_port: int
    data_dir: Path
    log_path: Path
    password: str | None = field(default=None, repr=False)

    @property
    def cookie_path(self) -> Path:
        """Where tor writes its control auth cookie."""
        return self.data_dir / "control_auth_cookie"

    def log(self) -> str:
        """Return everything tor has logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate tor and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _tor_binary() -> str:
    path = shutil.which("tor") or next(
        (p for p in ("/usr/sbin/tor", "/usr/bin/tor") if os.access(p, os.X_OK)), None)
    if path is None:
        pytest.skip("the tor binary is not installed (apt-get install tor); "
                    "skipping tests that need a real tor")
    return path


def _hash_password(tor: str, password: str) -> str:
    out = subprocess.run([tor, "--hash-password", password], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    hashes = re.findall(r"^16:[0-9A-F]+$", out, re.MULTILINE)
    if not hashes:
        raise RuntimeError(f"tor --hash-password printed no hash: {out!r}")
    return hashes[-1]


def _read_control_port(path: Path) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    match = re.search(r"PORT=127\.0\.0\.1:(\d+)", text)
    return int(match.group(1)) if match else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_tor(root: Path, *, password: str | None = None) -> TorProcess:
    """Start tor in root with cookie auth, or password auth when password is given."""
    tor = _tor_binary()
    data_dir = root / "data"
    data_dir.mkdir(mode=0o700, parents=True)
    os.chmod(data_dir, 0o700)  # tor refuses a group/world-readable DataDirectory
    socks_port = _free_port()
    port_file = root / "control-port"
    log_path = root / "tor.log"
    lines = [
        "DisableNetwork 1",
        f"SocksPort 127.0.0.1:{socks_port}",
        "ControlPort 127.0.0.1:auto",
        f"ControlPortWriteToFile {port_file}",
        f"DataDirectory {data_dir}",
        "Log notice stdout",
        "AvoidDiskWrites 1",
        "RunAsDaemon 0",
        "ClientOnly 1",
    ]
    if password is None:
        lines.append("CookieAuthentication 1")
    else:
        lines.append(f"HashedControlPassword {_hash_password(tor, password)}")
    torrc = root / "torrc"
    torrc.write_text("\n".join(lines) + "\n")
    defaults = root / "torrc-defaults"
    defaults.write_text("")
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [tor, "--defaults-torrc", str(defaults), "-f", str(torrc)],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + _START_TIMEOUT
    control_port = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tor exited with {process.returncode}:\n{log_path.read_text()}")
        control_port = control_port or _read_control_port(port_file)
        if control_port and _accepts(control_port):
            return TorProcess(process, control_port, socks_port, data_dir, log_path, password)
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=15)
    raise RuntimeError(f"tor did not open its control port within {_START_TIMEOUT:.0f}s:\n"
                       f"{log_path.read_text(errors='replace')}")


@pytest.fixture
def tor_cookie(tmp_path_factory):
    """A fresh tor with cookie authentication."""
    proc = start_tor(tmp_path_factory.mktemp("tor-cookie"))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def tor_password(tmp_path_factory):
    """A fresh tor with password authentication (TOR_TEST_PASSWORD)."""
    proc = start_tor(tmp_path_factory.mktemp("tor-password"), password=TOR_TEST_PASSWORD)
    try:
        yield proc
    finally:
        proc.stop()


class SilentPort:
    """A TCP port that accepts connections and never answers (a hung control port)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._server.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_port():
    """A hung control port: accepts, never answers."""
    port = SilentPort()
    try:
        yield port
    finally:
        port.close()
