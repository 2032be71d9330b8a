"""TorController against a real tor (network disabled, loopback control port)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from tests.fakes.http import LoopbackServer
from tests.fakes.socks import FakeSocks5Server
from tests.fakes.tor import TOR_TEST_PASSWORD, TorProcess, silent_port, tor_cookie, tor_password  # noqa: F401
from yt_study_buddy.config import redact
from yt_study_buddy.errors import Cancelled, TorError
from yt_study_buddy.net.proxy import ProxyPool, proxy_credentials
from yt_study_buddy.net.tor import TorConfig, TorController

pytestmark = [pytest.mark.tor,
              pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")]


def _controller(tor: TorProcess, password: str | None = None) -> TorController:
    return TorController(TorConfig(control_port=tor.control_port, socks_port=tor.socks_port,
                                   password=password))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- authentication ---------------------------------------------------------


def test_cookie_auth_connects(tor_cookie):
    assert tor_cookie.cookie_path.is_file()
    with _controller(tor_cookie) as tor:
        tor.check()
        assert tor.newnym_wait() == 0.0


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def stem_trace():
    """Turn on stem's trace log (it only traces when a handler on 'stem' wants level 5)."""
    handler = _Collect()
    logging.getLogger("stem").addHandler(handler)
    try:
        yield handler.messages
    finally:
        logging.getLogger("stem").removeHandler(handler)


def test_password_auth_connects_without_leaking_the_password(tor_password, stem_trace):
    # stem traces every command it sends, AUTHENTICATE "<password>" included.
    with _controller(tor_password, TOR_TEST_PASSWORD) as tor:
        tor.check()
        assert TOR_TEST_PASSWORD not in repr(tor)
    assert any("AUTHENTICATE" in m for m in stem_trace), "stem did not trace"
    assert not [m for m in stem_trace if TOR_TEST_PASSWORD in m]


def test_wrong_password_is_a_tor_error_without_the_password(tor_password, stem_trace):
    wrong = "not-the-password-4711"
    tor = _controller(tor_password, wrong)
    with pytest.raises(TorError) as info:
        tor.check()
    message = str(info.value)
    assert "password" in message and "rejected" in message
    assert str(tor_password.control_port) in message
    assert wrong not in message and wrong not in repr(info.value)
    assert any("AUTHENTICATE" in m for m in stem_trace)
    assert not [m for m in stem_trace if wrong in m]
    assert redact(f"x {wrong} y") == "x *** y"  # registered as a secret on construction
    assert not info.value.retryable


def test_missing_password_says_to_set_it(tor_password):
    with pytest.raises(TorError, match="TOR_CONTROL_PASSWORD"):
        _controller(tor_password).check()


def test_not_running_says_so():
    config = TorConfig(control_port=_free_port())
    with pytest.raises(TorError, match="cannot reach Tor's control port") as info:
        TorController(config).check()
    assert info.value.retryable


class _Http:
    def handle(self, handler):
        handler.send_bytes(400, b"bad request")


def test_an_http_port_is_not_a_control_port():
    with LoopbackServer(_Http()) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        with pytest.raises(TorError, match="not Tor's control port"):
            TorController(TorConfig(control_port=port)).check()


def test_a_socks_port_is_not_a_control_port():
    with FakeSocks5Server() as socks:
        with pytest.raises(TorError, match="control port"):
            TorController(TorConfig(control_port=socks.port)).check()


def test_hostname_control_host_other_than_localhost_is_refused():
    with pytest.raises(TorError, match="IPv4"):
        TorController(TorConfig(control_host="tor.example")).check()


def test_close_leaves_tor_running(tor_cookie):
    tor = _controller(tor_cookie)
    tor.check()
    tor.close()
    time.sleep(0.2)
    assert tor_cookie.process.poll() is None
    tor.check()  # and it can reconnect
    tor.close()


# --- proxy pool --------------------------------------------------------------


def test_proxy_pool_gives_each_thread_its_own_socks5h_credentials(tor_cookie):
    tor = _controller(tor_cookie)
    pool = tor.proxy_pool()
    assert tor.proxy_pool() is pool
    urls: dict[str, str] = {}

    def work(name: str) -> None:
        first = pool.for_current_thread()
        assert pool.for_current_thread() == first  # stable for the thread
        urls[name] = first

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(u.startswith("socks5h://") and u.endswith(f"@127.0.0.1:{tor_cookie.socks_port}")
               for u in urls.values())
    assert len({proxy_credentials(u)[0] for u in urls.values()}) == 4


# --- rotation (NEWNYM) -------------------------------------------------------


def test_rotate_sends_newnym_and_gives_fresh_credentials(tor_cookie):
    with _controller(tor_cookie) as tor:
        before = tor.proxy_pool().for_current_thread()
        waited = tor.rotate()
        assert tor.rotations == 1
        assert waited < 5  # the first NEWNYM on a fresh controller needs no wait
        assert tor.newnym_wait() > 0  # and now tor's rate limit applies
        assert tor.proxy_pool().for_current_thread() != before


def test_concurrent_rotations_share_one_newnym_that_respects_the_wait(tor_cookie):
    with _controller(tor_cookie) as tor:
        tor.rotate()
        # Slow to hand out new credentials, so a caller that returned before they
        # were handed out would still see its old ones below.
        tor._pool = _SlowRotatingPool(tor.proxy_pool().proxy_url, isolate_per_thread=True)
        results: list[float] = []
        errors: list[BaseException] = []
        stale: list[str] = []
        start = threading.Barrier(3)

        def work() -> None:
            before = tor.proxy_pool().for_current_thread()
            start.wait()
            try:
                results.append(tor.rotate())
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            if tor.proxy_pool().for_current_thread() == before:
                stale.append(before)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        # One NEWNYM for all three callers: the first waits out the rate limit
        # (about 10 s), the others wait for it and then use its fresh circuits.
        assert tor.rotations == 2
        assert len(results) == 3 and min(results) > 5
        # Every caller, also those that queued behind the one NEWNYM, gets fresh credentials.
        assert stale == []
        time.sleep(0.3)  # let tor flush its log
        # tor logs this when a NEWNYM arrives too early; we waited, so it must not.
        assert "Rate limiting NEWNYM" not in tor_cookie.log()


class _SlowRotatingPool(ProxyPool):
    def rotate_all(self) -> None:
        time.sleep(0.5)
        super().rotate_all()


def test_a_hung_control_port_check_is_cancellable(silent_port):
    tor = TorController(TorConfig(control_port=silent_port.port))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    began = time.monotonic()
    with pytest.raises(Cancelled):
        tor.check(cancel)
    assert time.monotonic() - began < 3


def test_a_hung_control_port_check_gives_up_with_a_reason(silent_port):
    tor = TorController(TorConfig(control_port=silent_port.port))
    with pytest.raises(TorError, match="did not answer"):
        tor.check(timeout=0.5)


def test_rotate_wait_is_cancellable(tor_cookie):
    with _controller(tor_cookie) as tor:
        tor.rotate()
        cancel = threading.Event()
        outcome: list[object] = []

        def work() -> None:
            began = time.monotonic()
            try:
                outcome.append(tor.rotate(cancel))
            except Cancelled:
                outcome.append(("cancelled", time.monotonic() - began))

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "rotate returned instead of waiting for the NEWNYM limit"
        cancel.set()
        thread.join(timeout=30)
        assert outcome and outcome[0][0] == "cancelled"
        assert outcome[0][1] < 8  # cut short, not the full ~10 s wait
        assert tor.rotations == 1


def test_rotate_with_cancel_already_set_does_nothing(tor_cookie):
    cancel = threading.Event()
    cancel.set()
    with _controller(tor_cookie) as tor:
        with pytest.raises(Cancelled):
            tor.rotate(cancel)
        assert tor.rotations == 0


def test_rotate_without_tor_is_a_tor_error():
    tor = TorController(TorConfig(control_port=_free_port()))
    with pytest.raises(TorError):
        tor.rotate()


def test_rotate_reconnects_after_tor_drops_the_connection(tor_cookie):
    with _controller(tor_cookie) as tor:
        tor.check()
        tor._controller.close()  # as if tor had hung up on us
        tor.rotate()
        assert tor.rotations == 1
