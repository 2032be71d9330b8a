"""Shared fixtures; the suite fails loudly if anything tries to leave loopback."""

from __future__ import annotations

import os
import socket

import pytest

from tests.fakes.anthropic import fake_anthropic  # noqa: F401  (fixture)
from tests.fakes.openai_compat import fake_openai  # noqa: F401  (fixture)
from tests.fakes.youtube import fake_youtube  # noqa: F401  (fixture)
from tests.guard import loopback

_violations: list[str] = []
# Installed at import, before any test module loads a network library.
_guard = loopback.install(_violations.append)
LoopbackViolation = loopback.LoopbackViolation


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
def _no_traffic_beyond_loopback(request, monkeypatch, tmp_path_factory):
    """Fail the test if it tried to leave loopback, even if the error was swallowed."""
    if request.node.get_closest_marker("network"):
        # Opted in: this test may use the real network.
        monkeypatch.setattr(socket.socket, "connect", _guard.real_connect)
        monkeypatch.setattr(socket.socket, "connect_ex", _guard.real_connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", _guard.real_getaddrinfo)
        yield
        return
    # Python subprocesses inherit the guard through the environment (see
    # tests/guard/sitecustomize.py) and append their violations to this file.
    violations_file = tmp_path_factory.mktemp("loopback-guard") / "violations.txt"
    guarded = loopback.subprocess_env(violations_file)
    for name in (loopback.ENV, "PYTHONPATH"):
        monkeypatch.setenv(name, guarded[name])
    before = len(_violations)
    yield violations_file
    escaped = _violations[before:] + loopback.read_violations(violations_file)
    assert not escaped, f"traffic beyond loopback attempted: {sorted(set(escaped))}"


@pytest.fixture
def loopback_violations(_no_traffic_beyond_loopback):
    """The file this test's guarded Python subprocesses record violations in (None if 'network')."""
    return _no_traffic_beyond_loopback


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """Keep the developer's real keys and .env out of tests."""
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "ANTHROPIC_BASE_URL",
                 "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "YT_STUDY_BUDDY_OPENAI_MODEL",
                 "YT_STUDY_BUDDY_CONTEXT_TOKENS", "YT_STUDY_BUDDY_MODEL",
                 "YT_STUDY_BUDDY_YOUTUBE_URL", "TOR_CONTROL_PASSWORD",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.chdir(tmp_path)
