"""Shared fixtures; the suite fails loudly if anything tries to leave loopback."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

from tests.fakes.anthropic import fake_anthropic  # noqa: F401  (fixture)
from tests.fakes.youtube import fake_youtube  # noqa: F401  (fixture)

_violations: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class LoopbackViolation(OSError):
    """Raised when code under test reaches for a non-loopback address."""


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        if not _is_loopback(host):
            _violations.append(str(host))
            raise LoopbackViolation(f"test tried to reach {host!r}, which is not loopback")


def _guarded_connect(self, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not _is_loopback(name):
        _violations.append(str(name))
        raise LoopbackViolation(f"test tried to resolve {name!r}, which is not loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]


NETWORK_ENV = "YT_STUDY_BUDDY_NETWORK_TESTS"


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `network` unless the user opted in."""
    if os.environ.get(NETWORK_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"needs the internet: set {NETWORK_ENV}=1 to run")
    for item in items:
        if item.get_closest_marker("network"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_traffic_beyond_loopback(request, monkeypatch):
    """Fail the test if it tried to leave loopback, even if the error was swallowed."""
    if request.node.get_closest_marker("network"):
        # Opted in: this test may use the real network.
        monkeypatch.setattr(socket.socket, "connect", _real_connect)
        monkeypatch.setattr(socket.socket, "connect_ex", _real_connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", _real_getaddrinfo)
    before = len(_violations)
    yield
    escaped = _violations[before:]
    assert not escaped, f"traffic beyond loopback attempted: {sorted(set(escaped))}"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """Keep the developer's real keys and .env out of tests."""
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "ANTHROPIC_BASE_URL",
                 "YT_STUDY_BUDDY_YOUTUBE_URL", "TOR_CONTROL_PASSWORD",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.chdir(tmp_path)
