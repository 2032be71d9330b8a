"""Refuse network traffic beyond loopback: one guard for pytest and its subprocesses.

``install(record)`` patches ``socket.socket.connect``/``connect_ex`` and
``socket.getaddrinfo`` so that reaching for (or resolving) anything but a
loopback address calls ``record(host)`` and raises :class:`LoopbackViolation`.
Recording happens before raising, so a violation is seen even when the code
under test swallows the error.

The pytest process installs it from ``tests/conftest.py``. Subprocesses
(the CLI, ``streamlit run``) install it from ``sitecustomize.py`` in this
folder when :data:`ENV` names a file; each violation is appended there as a
line, which the parent test reads back.

Only the standard library is imported here: this runs at every guarded
interpreter start, and the CLI's start-up time is under test.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Callable

__all__ = ["ENV", "GUARD_DIR", "Guard", "LoopbackViolation", "file_recorder", "guarded_env",
           "install", "is_loopback", "read_violations", "subprocess_env"]

#: Set to a file path to guard a Python subprocess (needs GUARD_DIR on PYTHONPATH).
ENV = "YT_STUDY_BUDDY_LOOPBACK_GUARD"
#: The folder holding sitecustomize.py; put it on a subprocess's PYTHONPATH.
GUARD_DIR = Path(__file__).resolve().parent


class LoopbackViolation(OSError):
    """Raised when code under test reaches for a non-loopback address."""


def is_loopback(host: object) -> bool:
    """Return True for loopback names and addresses (an empty host binds locally)."""
    if not isinstance(host, str):
        return False
    if host in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class Guard:
    """The patched socket functions, with the originals kept for opting out."""

    def __init__(self, record: Callable[[str], None]):
        self.record = record
        self.real_connect = socket.socket.connect
        self.real_connect_ex = socket.socket.connect_ex
        self.real_getaddrinfo = socket.getaddrinfo

    def _check_address(self, address: object) -> None:
        if isinstance(address, tuple) and address:
            host = address[0]
            if not is_loopback(host):
                self.record(str(host))
                raise LoopbackViolation(f"test tried to reach {host!r}, which is not loopback")

    def install(self) -> "Guard":
        """Patch the socket module in this process."""
        guard = self
        real_connect, real_connect_ex = self.real_connect, self.real_connect_ex
        real_getaddrinfo = self.real_getaddrinfo

        def connect(sock, address):  # type: ignore[no-untyped-def]
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard._check_address(address)
            return real_connect(sock, address)

        def connect_ex(sock, address):  # type: ignore[no-untyped-def]
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard._check_address(address)
            return real_connect_ex(sock, address)

        def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
            name = host.decode() if isinstance(host, bytes) else host
            if name is not None and not is_loopback(name):
                guard.record(str(name))
                raise LoopbackViolation(f"test tried to resolve {name!r}, which is not loopback")
            return real_getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        return self


def install(record: Callable[[str], None]) -> Guard:
    """Guard this process; ``record(host)`` is called for every violation."""
    return Guard(record).install()


def file_recorder(path: str | os.PathLike[str]) -> Callable[[str], None]:
    """Return a recorder appending one line per violation to ``path`` (safe across processes)."""
    path = os.fspath(path)

    def record(host: str) -> None:
        line = (host.replace("\n", " ") + "\n").encode("utf-8", "replace")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one O_APPEND write per line: lines never interleave
        finally:
            os.close(fd)

    return record


def read_violations(path: str | os.PathLike[str]) -> list[str]:
    """Hosts recorded in a violations file (none if it was never created)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def subprocess_env(violations: str | os.PathLike[str], base: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``base`` (default: os.environ) plus what guards a Python subprocess.

    GUARD_DIR goes first on PYTHONPATH so its sitecustomize runs; any
    existing PYTHONPATH entries are kept after it.
    """
    env = dict(os.environ if base is None else base)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(GUARD_DIR)]
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), *parts])
    env[ENV] = os.fspath(violations)
    return env


def guarded_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """Return an environment for a Python subprocess, guarded into the current test's file.

    tests/conftest.py names that file in os.environ for every test; a
    subprocess started with this environment fails that test if it tries to
    leave loopback.
    """
    target = os.environ.get(ENV)
    if not target:
        raise RuntimeError(f"no loopback guard is active ({ENV} is unset): "
                           "tests/conftest.py sets it for every test not marked 'network'")
    env = dict(os.environ if base is None else base)
    env.update(extra)
    return subprocess_env(target, env)
