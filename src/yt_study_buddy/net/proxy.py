"""Stage net: proxy URLs: validate, add credentials, mask for display, hand one to each worker.

Light on purpose (stdlib only) so the CLI can validate ``--proxy`` before any
heavy import.  A proxy URL is used as-is by requests (``proxies=``) and yt-dlp
(``proxy``); both understand every scheme accepted here.

Per-thread isolation: Tor separates circuits by SOCKS credentials
(``IsolateSOCKSAuth``, on by default), so giving every worker thread its own
username makes parallel workers leave Tor from different exits.  Rotating the
credentials asks for fresh circuits after YouTube blocks one.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from urllib.parse import quote, unquote, urlsplit

from yt_study_buddy.config import register_secret
from yt_study_buddy.errors import InputError

__all__ = [
    "PROXY_SCHEMES",
    "validate_proxy_url",
    "with_credentials",
    "mask_proxy_url",
    "proxy_credentials",
    "requests_proxies",
    "ProxyPool",
]

#: Schemes that both requests (with PySocks) and yt-dlp accept.
PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")

# Matches the user-info part of any scheme://user[:password]@host URL, even a
# malformed one, so a password is hidden even when parsing fails.
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#]*)@")


def mask_proxy_url(url: str) -> str:
    """Return url with any user name and password replaced by '***'."""
    if not url:
        return url
    text = url.strip()
    match = _USERINFO.match(text)
    if match:
        return f"{match.group('scheme')}***@{text[match.end():]}"
    if "@" in text and "://" not in text:
        # "user:pass@host:port" without a scheme: still hide the credentials.
        return "***@" + text.rsplit("@", 1)[1]
    return text


def host_for_url(host: str) -> str:
    """A host as it stands in a URL: IPv6 literals get brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def validate_proxy_url(url: str) -> str:
    """Check a proxy URL (scheme://[user:pass@]host:port), register its password as a secret, return it normalised."""
    if not isinstance(url, str) or not url.strip():
        raise InputError("the proxy URL is empty; use e.g. socks5h://127.0.0.1:9050")
    text = url.strip()
    shown = mask_proxy_url(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InputError(f"invalid proxy URL {shown!r}: the port must be a number "
                         "from 1 to 65535") from None
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise InputError(f"invalid proxy URL {shown!r}: the scheme must be one of "
                         f"{', '.join(PROXY_SCHEMES)} (e.g. socks5h://127.0.0.1:9050)")
    if not parts.hostname:
        raise InputError(f"invalid proxy URL {shown!r}: it has no host")
    if port is None or not 0 < port < 65536:
        raise InputError(f"invalid proxy URL {shown!r}: it needs a port, "
                         f"e.g. {scheme}://{host_for_url(parts.hostname)}:1080")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(f"invalid proxy URL {shown!r}: expected only scheme://host:port")
    # The user's proxy password is a secret from here on: in logs, errors and the UI.
    if parts.password:
        register_secret(parts.password)
        register_secret(unquote(parts.password))
    netloc = parts.netloc.rsplit("@", 1)
    hostport = f"{host_for_url(parts.hostname)}:{port}"
    userinfo = f"{netloc[0]}@" if len(netloc) == 2 else ""
    return f"{scheme}://{userinfo}{hostport}"


def with_credentials(proxy_url: str, username: str, password: str) -> str:
    """Return proxy_url with its user name and password set (replacing any)."""
    parts = urlsplit(validate_proxy_url(proxy_url))
    # quote everything outside unreserved so ':' '@' '/' in a password stay inside it.
    user = quote(username, safe="")
    secret = quote(password, safe="")
    return f"{parts.scheme}://{user}:{secret}@{host_for_url(parts.hostname)}:{parts.port}"


def proxy_credentials(proxy_url: str) -> tuple[str | None, str | None]:
    """Return the (username, password) in a proxy URL, decoded, or Nones."""
    parts = urlsplit(proxy_url)
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return user, password


def requests_proxies(proxy_url: str | None) -> dict[str, str] | None:
    """Return a requests ``proxies=`` mapping that sends http and https through proxy_url."""
    if not proxy_url:
        return None
    return {"http": proxy_url, "https": proxy_url}


class ProxyPool:
    """Gives each worker thread its own proxy URL."""

    def __init__(self, proxy_url: str | None = None, *, isolate_per_thread: bool = False):
        self._base = validate_proxy_url(proxy_url) if proxy_url else None
        self.isolate_per_thread = isolate_per_thread
        self._local = threading.local()
        self._lock = threading.Lock()
        # Bumped by rotate_all(); a thread whose cached URL is older makes a new one.
        self._generation = 0
        self._serial = itertools.count(1)
        # Random per pool so two runs (or two pools) never share a Tor circuit.
        self._prefix = "ysb-" + secrets.token_hex(4)

    @property
    def proxy_url(self) -> str | None:
        """The proxy URL without per-thread credentials (may hold the user's own)."""
        return self._base

    def __repr__(self) -> str:
        shown = mask_proxy_url(self._base) if self._base else None
        return f"ProxyPool({shown!r}, isolate_per_thread={self.isolate_per_thread})"

    def for_current_thread(self) -> str | None:
        """Return this thread's proxy URL (None when no proxy is configured)."""
        if self._base is None:
            return None
        if not self.isolate_per_thread:
            return self._base
        with self._lock:
            generation = self._generation
        cached = getattr(self._local, "entry", None)
        if cached is not None and cached[0] == generation:
            return cached[1]
        with self._lock:
            serial = next(self._serial)
        # The serial makes usernames distinct across threads and rotations; the
        # random password keeps them unguessable and distinct across pools.
        url = with_credentials(self._base, f"{self._prefix}-{serial}", secrets.token_hex(8))
        self._local.entry = (generation, url)
        return url

    __call__ = for_current_thread

    def rotate_all(self) -> None:
        """Give every thread new credentials on its next call (fresh Tor circuits)."""
        with self._lock:
            self._generation += 1
