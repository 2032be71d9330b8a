"""Stage net: a browser's cookies from a Netscape cookies.txt, loaded once, their values kept secret.

Browser export extensions and yt-dlp (``--cookies-from-browser BROWSER
--cookies FILE``) write this format. The stdlib ``MozillaCookieJar`` reads it (including
``#HttpOnly_`` lines). Every value is registered as a secret as soon as it is
read, so ``config.redact`` scrubs it from logs, errors and the job log; the
object itself never shows a value (``repr`` gives names and counts only).

Nothing here writes the file: yt-dlp, which would save its jar back on
close, is stopped from doing so in ``sources/youtube_dlp.py``.
"""

from __future__ import annotations

import copy
import re
import time
import urllib.request
import warnings
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy, LoadError, MozillaCookieJar
from pathlib import Path

from yt_study_buddy.config import register_secret
from yt_study_buddy.errors import InputError

__all__ = ["CookieFile", "load_cookie_file"]

_EXPORT_HINT = ("export them from a browser signed in to the site with a cookies.txt extension "
                "(Netscape format; see the README's Cookies section)")


class CookieFile:
    """A loaded cookies.txt: where it is and the cookies in it (values never shown)."""

    def __init__(self, path: Path, jar: MozillaCookieJar):
        self.path = path
        self.jar = jar

    def __repr__(self) -> str:
        return f"CookieFile({str(self.path)!r}, {len(self.jar)} cookies)"

    def cookies_for(self, url: str) -> list[Cookie]:
        """The cookies a browser would send to url, expired ones included."""
        return [c for c in self.jar if _sent_to(c, url)]

    def expired_for(self, url: str) -> list[Cookie]:
        """The cookies for url whose expiry date has passed."""
        now = time.time()
        return [c for c in self.cookies_for(url) if c.is_expired(now)]

    def copy_into(self, jar: CookieJar) -> None:
        """Add a copy of every cookie to jar (each HTTP session gets its own)."""
        for cookie in self.jar:
            jar.set_cookie(copy.copy(cookie))


# The stdlib's default rules (domain, path, secure), asked one by one so that
# expired cookies can be reported rather than silently left out.
_POLICY = DefaultCookiePolicy()


def _sent_to(cookie: Cookie, url: str) -> bool:
    request = urllib.request.Request(url)
    return bool(_POLICY.return_ok_domain(cookie, request)
                and _POLICY.return_ok_secure(cookie, request)
                and _POLICY.path_return_ok(cookie.path, request))


def _has_header(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            first = file.readline(200)
    except OSError:
        return False
    return bool(re.match(r"#( Netscape)? HTTP Cookie File", first))  # the stdlib's own test


def load_cookie_file(path: str | Path, site_url: str) -> CookieFile:
    """Read a Netscape cookies.txt that must hold cookies for site_url; raise InputError if not."""
    shown = str(path)
    target = Path(path).expanduser()
    if not str(path).strip():
        raise InputError("--cookies needs a file name (a Netscape cookies.txt)")
    if not target.is_file():
        what = "is a folder" if target.is_dir() else "is not a regular file" if target.exists() else "does not exist"
        raise InputError(f"cookies file {shown!r} {what}; {_EXPORT_HINT}")
    jar = MozillaCookieJar()
    try:
        # Session cookies (no expiry) are what browsers export for a signed-in
        # account; keep them, and keep expired ones to report them.
        with warnings.catch_warnings():
            # On a malformed line the stdlib also warns with a traceback on stderr.
            warnings.simplefilter("ignore")
            jar.load(str(target), ignore_discard=True, ignore_expires=True)
    except LoadError:
        if _has_header(target):  # the stdlib's message quotes the bad line: a cookie's value, never shown
            raise InputError(f"cookies file {shown!r} has a line that is not a cookie (seven tab-separated "
                             f"fields, the expiry a number); {_EXPORT_HINT}") from None
        raise InputError(f"cookies file {shown!r} is not a Netscape cookies.txt (its first line must "
                         f"be '# Netscape HTTP Cookie File'); {_EXPORT_HINT}") from None
    except UnicodeDecodeError:
        raise InputError(f"cookies file {shown!r} is not a text file; {_EXPORT_HINT}") from None
    except OSError as exc:
        raise InputError(f"cannot read cookies file {shown!r}: {exc.strerror or type(exc).__name__}") from None
    for cookie in jar:
        register_secret(cookie.value)
        if cookie.expires == 0:
            # Exporters write 0 for a session cookie; the stdlib reads it as "expired in 1970".
            cookie.expires, cookie.discard = None, True
    cookies = CookieFile(target.resolve(), jar)
    wanted = cookies.cookies_for(site_url)
    if not wanted:
        raise InputError(f"cookies file {shown!r} has no cookies for {site_url}; {_EXPORT_HINT}")
    if len(cookies.expired_for(site_url)) == len(wanted):
        raise InputError(f"every cookie for {site_url} in {shown!r} has expired; {_EXPORT_HINT}")
    return cookies
