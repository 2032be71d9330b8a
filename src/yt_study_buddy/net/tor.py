"""Stage net: tor: check the control port, hand out per-worker SOCKS URLs, rotate circuits.

stem is imported lazily inside the methods, so importing this module is cheap.
We only ever *attach* to a tor the user runs: never launch it, never take
ownership of it, never stop it.

Circuits: every worker thread gets its own SOCKS username from
:meth:`TorController.proxy_pool`; tor's default ``IsolateSOCKSAuth`` puts each
on its own circuit, so parallel workers exit from different IPs.  After a
YouTube block, :meth:`TorController.rotate` sends NEWNYM (clean circuits for
new connections) and gives every worker new credentials.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from yt_study_buddy.config import redact, register_secret
from yt_study_buddy.errors import Cancelled, TorError
from yt_study_buddy.net.proxy import ProxyPool, host_for_url

__all__ = ["TorConfig", "TorController", "DEFAULT_SOCKS_PORT", "DEFAULT_CONTROL_PORT"]

DEFAULT_SOCKS_PORT = 9050
DEFAULT_CONTROL_PORT = 9051
# tor ignores a NEWNYM sent sooner than this after the previous one.
_NEWNYM_INTERVAL = 10.0
# A control port that accepts but never answers is given up on after this long.
_CHECK_TIMEOUT = 30.0


@dataclass
class TorConfig:
    """Where tor listens and how to authenticate to its control port."""

    socks_host: str = "127.0.0.1"
    socks_port: int = DEFAULT_SOCKS_PORT
    control_host: str = "127.0.0.1"
    control_port: int = DEFAULT_CONTROL_PORT
    #: TOR_CONTROL_PASSWORD; when None, cookie authentication is used.
    password: str | None = field(default=None, repr=False)


class _RedactAuth(logging.Filter):
    """Keep the control password out of stem's trace log (it logs every command sent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "AUTHENTICATE" in message:
            record.msg, record.args = "Sent to tor: AUTHENTICATE ***", None
        else:
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


_filter_installed = False
_filter_lock = threading.Lock()


def _install_log_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("stem").addFilter(_RedactAuth())
            _filter_installed = True


def _ip_for_stem(host: str) -> str:
    # stem's from_port accepts only an IPv4 literal.
    if host.lower() in ("localhost", "localhost.localdomain"):
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).version == 4:
            return host
    except ValueError:
        pass
    raise TorError(f"Tor control host {host!r} must be an IPv4 address such as 127.0.0.1",
                   retryable=False)


class TorController:
    """Talk to a running tor's control port (check, NEWNYM) and build its proxy pool."""

    def __init__(self, config: TorConfig):
        self.config = config
        register_secret(config.password)
        _install_log_filter()
        self._controller: Any = None
        # Guards the stem connection; also what serialises rotations.
        self._lock = threading.Lock()
        self._rotations = 0
        self._pool: ProxyPool | None = None
        self._pool_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TorController({self.config!r})"

    @property
    def rotations(self) -> int:
        """How many NEWNYM signals this controller has sent."""
        return self._rotations

    @property
    def _where(self) -> str:
        return f"{self.config.control_host}:{self.config.control_port}"

    def _connect(self) -> Any:
        """Return an authenticated stem Controller, connecting if needed (hold _lock)."""
        if self._controller is not None and self._controller.is_alive():
            return self._controller
        self._drop()
        import stem
        import stem.connection
        from stem.control import Controller

        address = _ip_for_stem(self.config.control_host)
        try:
            controller = Controller.from_port(address=address, port=int(self.config.control_port))
        except stem.SocketError:
            raise TorError(
                f"cannot reach Tor's control port at {self._where}: is tor running, with "
                f"'ControlPort {self.config.control_port}' in its torrc? (--tor-control-port "
                "sets another port)") from None
        except ValueError:
            raise TorError(f"invalid Tor control port {self.config.control_port!r}",
                           retryable=False) from None
        try:
            controller.authenticate(password=self.config.password)
        except stem.connection.IncorrectSocketType:
            controller.close()
            raise TorError(
                f"{self._where} is not Tor's control port (is it the SOCKS port? Tor's "
                "control port is usually 9051)", retryable=False) from None
        except (stem.connection.MissingPassword, stem.connection.NoAuthMethods):
            controller.close()
            raise TorError(
                f"Tor at {self._where} requires a control password: set TOR_CONTROL_PASSWORD",
                retryable=False) from None
        except stem.connection.PasswordAuthFailed:
            controller.close()
            raise TorError(
                f"Tor at {self._where} rejected the control password (password "
                "authentication); check TOR_CONTROL_PASSWORD", retryable=False) from None
        except stem.connection.NoAuthCookie:
            controller.close()
            raise TorError(
                f"Tor at {self._where} uses cookie authentication but did not name a cookie "
                "file; set TOR_CONTROL_PASSWORD or enable CookieAuthentication",
                retryable=False) from None
        except stem.connection.UnreadableCookieFile as exc:
            controller.close()
            raise TorError(
                f"cookie authentication to Tor at {self._where} failed: cannot read the cookie "
                f"file {exc.cookie_path} (run as a user that can, e.g. in the debian-tor group, "
                "or set TOR_CONTROL_PASSWORD)", retryable=False) from None
        except stem.connection.CookieAuthFailed:
            controller.close()
            raise TorError(
                f"cookie authentication to Tor at {self._where} was rejected; set "
                "TOR_CONTROL_PASSWORD to use password authentication", retryable=False) from None
        except stem.connection.AuthenticationFailure as exc:
            controller.close()
            if type(exc) is stem.connection.AuthenticationFailure:
                # stem's bare base class here means the socket died mid-handshake.
                raise TorError(
                    f"{self._where} closed the connection before authentication: is it Tor's "
                    "control port? (check --tor-control-port)", retryable=False) from None
            method = "password" if self.config.password else "cookie"
            raise TorError(
                f"{method} authentication to Tor at {self._where} failed "
                f"({type(exc).__name__})", retryable=False) from None
        except (stem.ProtocolError, stem.SocketError):
            controller.close()
            raise TorError(
                f"{self._where} does not speak Tor's control protocol; check "
                "--tor-control-port", retryable=False) from None
        self._controller = controller
        return controller

    def _drop(self) -> None:
        if self._controller is not None:
            try:
                self._controller.close()
            except Exception:  # noqa: BLE001 - closing a dead socket may fail any way
                pass
            self._controller = None

    def check(self, cancel: threading.Event | None = None, *, timeout: float = _CHECK_TIMEOUT) -> None:
        """Connect and authenticate to the control port, or raise TorError saying why.

        The connection is made on a helper thread, so a control port that
        accepts but never answers costs at most ``timeout`` seconds, and setting
        ``cancel`` (Stop, Ctrl-C) ends the wait at once with Cancelled.
        """
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        failure: list[BaseException] = []

        def attempt() -> None:
            try:
                with self._lock:
                    self._connect()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                failure.append(exc)

        helper = threading.Thread(target=attempt, name="tor-check", daemon=True)
        helper.start()
        deadline = time.monotonic() + timeout
        while helper.is_alive():
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if time.monotonic() >= deadline:
                raise TorError(f"Tor's control port at {self._where} did not answer within "
                               f"{timeout:g} s: is it Tor's control port? (check --tor-control-port)")
            helper.join(0.1)
        if failure:
            raise failure[0]

    def proxy_pool(self) -> ProxyPool:
        """Return the pool of per-thread socks5h URLs (DNS through Tor) for this tor."""
        with self._pool_lock:
            if self._pool is None:
                host = host_for_url(self.config.socks_host)
                self._pool = ProxyPool(f"socks5h://{host}:{int(self.config.socks_port)}",
                                       isolate_per_thread=True)
            return self._pool

    def newnym_wait(self) -> float:
        """Return seconds until tor would accept another NEWNYM from this controller."""
        with self._lock:
            return float(self._connect().get_newnym_wait())

    def rotate(self, cancel: threading.Event | None = None) -> float:
        """Ask tor for new circuits (NEWNYM, waiting out its rate limit); return seconds waited."""
        start = time.monotonic()
        seen = self._rotations
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        # One rotation at a time: a caller that queued behind another's rotation
        # gets fresh circuits from it and need not send (and wait for) its own.
        while not self._lock.acquire(timeout=0.1):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
        try:
            if self._rotations != seen:
                return time.monotonic() - start
            self._signal_newnym(cancel)
            self._rotations += 1
            # Still under the lock: a caller queued behind this rotation returns as
            # soon as it gets the lock, and must find the new credentials in place.
            if self._pool is not None:
                self._pool.rotate_all()
        finally:
            self._lock.release()
        return time.monotonic() - start

    def _signal_newnym(self, cancel: threading.Event | None) -> None:
        """Wait out the NEWNYM rate limit, then send it (hold _lock)."""
        import stem
        from stem import Signal

        for attempt in (1, 2):
            controller = self._connect()
            wait = 0.0 if controller.is_newnym_available() else controller.get_newnym_wait()
            if wait > 0:
                # Event.wait so that Ctrl-C (via the cancel event) is not held up.
                if cancel is not None:
                    if cancel.wait(min(wait, _NEWNYM_INTERVAL)):
                        raise Cancelled()
                else:
                    time.sleep(min(wait, _NEWNYM_INTERVAL))
            try:
                controller.signal(Signal.NEWNYM)
                return
            except stem.SocketClosed:
                # tor restarted or dropped us: reconnect once, then give up.
                self._drop()
                if attempt == 2:
                    raise TorError(f"lost the connection to Tor's control port at "
                                   f"{self._where} while asking for a new circuit") from None
            except stem.ControllerError as exc:
                raise TorError(f"Tor refused a new circuit (NEWNYM): "
                               f"{redact(str(exc)) or type(exc).__name__}") from None

    def close(self) -> None:
        """Close the control connection (tor keeps running)."""
        with self._lock:
            self._drop()

    def __enter__(self) -> "TorController":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
