"""Stage doctor: the self-check a user runs when something fails (``--doctor``).

Each check gives one line: ok, warn or fail, what was found, and the fix.
``fail`` is kept for what makes runs fail (no vault, YouTube unreachable or
blocking, Tor down with ``--tor``, a rejected key, an unusable cookies file);
``warn`` for what makes them weaker (an old yt-dlp, no JavaScript runtime, no
Claude key). No secret is ever part of a line, and no LLM SDK is imported:
the key is checked with one free ``GET /v1/models`` through requests; with
``--engine openai`` the same request asks the OpenAI-compatible server whether
it runs and serves the model.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from yt_study_buddy.config import Settings, load_settings, redact
from yt_study_buddy.errors import StudyBuddyError

__all__ = ["Check", "run_doctor", "healthy", "YTDLP_MAX_AGE_DAYS", "REQUIRED_PACKAGES"]

OK, WARN, FAIL = "ok", "warn", "fail"
#: yt-dlp follows YouTube's changes within days; older than this is the first suspect.
YTDLP_MAX_AGE_DAYS = 60
REQUIRED_PACKAGES = ("youtube-transcript-api", "yt-dlp", "requests", "stem", "anthropic")
_ANTHROPIC_URL = "https://api.anthropic.com"
_UPGRADE_YTDLP = "pip install -U 'yt-dlp[default]'"
_JS_FIX = ("install deno (or node 22+, bun, quickjs), or pip install 'youtube-study-buddy[deno]'")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: status (ok, warn, fail), what was found, and the fix."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        """One line for a terminal: status, name, finding and fix."""
        text = f"{self.status:<4}  {self.name}: {self.detail}"
        return redact(f"{text} — fix: {self.fix}" if self.fix else text)


def healthy(checks: list[Check]) -> bool:
    """True when no check failed (warnings allowed): the essentials hold."""
    return all(c.status != FAIL for c in checks)


# --------------------------------------------------------------------------- environment

def _python() -> Check:
    version = ".".join(str(n) for n in sys.version_info[:3])
    if sys.version_info < (3, 11):
        return Check("python", FAIL, f"Python {version}", "use Python 3.11 or newer")
    return Check("python", OK, f"Python {version} ({sys.executable})")


def _packages() -> Check:
    found, missing = [], []
    for name in REQUIRED_PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check("packages", FAIL, f"missing: {', '.join(missing)}",
                     "pip install -e . (or pip install youtube-study-buddy)")
    return Check("packages", OK, ", ".join(found))


def _ytdlp_age(today: date) -> Check:
    try:
        version = metadata.version("yt-dlp")
    except metadata.PackageNotFoundError:
        return Check("yt-dlp", FAIL, "not installed", _UPGRADE_YTDLP)
    try:
        year, month, day = (int(part) for part in version.split(".")[:3])
        age = (today - date(year, month, day)).days
    except ValueError:
        return Check("yt-dlp", WARN, f"version {version} has no release date in it", _UPGRADE_YTDLP)
    if age > YTDLP_MAX_AGE_DAYS:
        return Check("yt-dlp", WARN, f"{version} is {age} days old; an old yt-dlp is the most common "
                     "cause of YouTube failures", _UPGRADE_YTDLP)
    try:
        metadata.version("yt-dlp-ejs")
    except metadata.PackageNotFoundError:
        return Check("yt-dlp", WARN, f"{version} ({age} days old) without yt-dlp-ejs, YouTube's "
                     "JavaScript challenges can't be solved", _UPGRADE_YTDLP)
    return Check("yt-dlp", OK, f"{version} ({age} days old), with yt-dlp-ejs")


def _js_runtime() -> Check:
    from yt_study_buddy.sources.youtube_dlp import js_runtime, js_runtimes_found

    runtime = js_runtime()
    if runtime is not None:
        return Check("js runtime", OK, f"{runtime.name} {runtime.version} ({runtime.path}), handed to yt-dlp")
    found = js_runtimes_found()
    if found:
        old = ", ".join(f"{r.name} {r.version}" for r in found)
        return Check("js runtime", WARN, f"{old}: too old for yt-dlp", _JS_FIX)
    return Check("js runtime", WARN, "none found (deno, node, quickjs, bun); yt-dlp can't solve "
                 "YouTube's JavaScript challenges", _JS_FIX)


# --------------------------------------------------------------------------- network

def _network(settings: Settings, *, tor: bool, tor_config: Any, proxy: str | None,
             cookies: str | Path | None, timeout: float) -> list[Check]:
    checks: list[Check] = []
    cookie_file = None
    if cookies is not None:
        from yt_study_buddy.sources.youtube import YOUTUBE_HOME, load_youtube_cookies

        try:
            cookie_file = load_youtube_cookies(cookies)
        except StudyBuddyError as exc:
            checks.append(Check("cookies", FAIL, exc.reason, "export fresh cookies.txt from a signed-in browser"))
        else:
            sent = cookie_file.cookies_for(YOUTUBE_HOME)
            expired = cookie_file.expired_for(YOUTUBE_HOME)
            detail = f"{len(sent)} cookies for youtube.com in {cookie_file.path}"
            if expired:
                checks.append(Check("cookies", WARN, f"{detail}, {len(expired)} of them expired",
                                    "export fresh cookies from a signed-in browser"))
            else:
                checks.append(Check("cookies", OK, detail))
    pool, route = None, "directly"
    if tor:
        from yt_study_buddy.net.tor import TorConfig, TorController

        controller = TorController(tor_config or TorConfig(password=settings.tor_control_password))
        try:
            controller.check(timeout=timeout)
        except StudyBuddyError as exc:
            checks.append(Check("tor", FAIL, exc.reason, "start tor with a ControlPort (e.g. ControlPort 9051 "
                                "and CookieAuthentication 1), or set TOR_CONTROL_PASSWORD"))
            return checks + [Check("youtube", FAIL, "not tried: Tor is not reachable", "fix Tor first")]
        finally:
            controller.close()
        checks.append(Check("tor", OK, f"control port {controller.config.control_port} answered"))
        pool, route = controller.proxy_pool(), "through Tor"
    elif proxy:
        from yt_study_buddy.net.proxy import ProxyPool, mask_proxy_url

        try:
            pool = ProxyPool(proxy)
        except StudyBuddyError as exc:
            return checks + [Check("youtube", FAIL, exc.reason, "fix --proxy")]
        route = f"through {mask_proxy_url(pool.proxy_url or '')}"
    return checks + [_youtube(settings, pool, cookie_file, route, timeout)]


def _youtube(settings: Settings, pool: Any, cookie_file: Any, route: str, timeout: float) -> Check:
    from yt_study_buddy.sources.youtube import YouTubeClient
    from yt_study_buddy.sources.youtube_errors import BLOCKED_HINT

    client = YouTubeClient(base_url=settings.youtube_base_url, timeout=timeout, cookies=cookie_file,
                           proxy_for_thread=pool.for_current_thread if pool is not None else None)
    how = route + (" with your cookies" if cookie_file is not None else "")
    try:
        status = client.probe()
    except StudyBuddyError as exc:
        fix = "check the network, --proxy or Tor" if exc.kind == "network" else BLOCKED_HINT
        return Check("youtube", FAIL, f"{how}: {exc.reason}", fix)
    finally:
        client.close()
    if 200 <= status < 300:
        return Check("youtube", OK, f"reachable {how} (HTTP {status})")
    if status in (403, 429):
        return Check("youtube", FAIL, f"YouTube is refusing this IP {how} (HTTP {status})", BLOCKED_HINT)
    return Check("youtube", WARN, f"reachable {how}, but it answered HTTP {status}",
                 "try again later; if it persists, check YT_STUDY_BUDDY_YOUTUBE_URL")


def _claude(settings: Settings, engine: str, timeout: float) -> Check:
    if not settings.has_api_key:
        if engine == "claude":
            return Check("claude", FAIL, "no API key, and --engine claude needs one",
                         "set ANTHROPIC_API_KEY (or put it in .env), or use --engine offline")
        return Check("claude", WARN, "no API key: notes come from the offline engine",
                     "set ANTHROPIC_API_KEY (or put it in .env) for Claude's notes")
    if engine == "offline":
        return Check("claude", OK, "API key present (not used: --engine offline)")
    import requests

    base = (settings.anthropic_base_url or _ANTHROPIC_URL).rstrip("/")
    headers = {"x-api-key": settings.api_key or "", "anthropic-version": "2023-06-01"}
    try:
        # Listing models is free: it proves the key without paying for a token.
        response = requests.get(f"{base}/v1/models", headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return Check("claude", FAIL, f"API key present; the API at {base} is unreachable "
                     f"({type(exc).__name__})", "check the network or ANTHROPIC_BASE_URL")
    if response.status_code == 200:
        return Check("claude", OK, "API key present and accepted")
    if response.status_code in (401, 403):
        return Check("claude", FAIL, f"API key present but rejected (HTTP {response.status_code})",
                     "check ANTHROPIC_API_KEY in the environment or .env")
    return Check("claude", WARN, f"API key present; the API answered HTTP {response.status_code}",
                 "try again later")


def _model_server(settings: Settings, base_url: str | None, model: str | None, timeout: float) -> Check:
    """The OpenAI-compatible server of --engine openai: running, key accepted, the model served."""
    import requests

    from yt_study_buddy.notes.openai_server import server_label

    base = (base_url or settings.openai_base_url or "https://api.openai.com/v1").rstrip("/")
    label = server_label(base)
    model = model or settings.openai_model
    key = settings.openai_api_key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = requests.get(f"{base}/models", headers=headers, timeout=timeout)
    except requests.ConnectionError:
        return Check("model server", FAIL, f"nothing answers at {label}",
                     "is the server running? (e.g. `ollama serve`), or fix --base-url / OPENAI_BASE_URL")
    except requests.RequestException as exc:
        return Check("model server", FAIL, f"{label} did not answer ({type(exc).__name__})",
                     "check the network or --base-url / OPENAI_BASE_URL")
    if response.status_code in (401, 403):
        return Check("model server", FAIL, f"{label} rejected the API key (HTTP {response.status_code})",
                     "check OPENAI_API_KEY")
    if response.status_code != 200:
        return Check("model server", WARN, f"{label} does not list its models "
                     f"(HTTP {response.status_code})", "check --base-url (most servers end in /v1)")
    try:
        ids = sorted(str(m.get("id")) for m in response.json().get("data", []) if isinstance(m, dict))
    except (ValueError, AttributeError):
        ids = []
    if model and ids and model not in ids and f"{model}:latest" not in ids:
        return Check("model server", FAIL, f"{label} has no model {model!r}; it has: {', '.join(ids[:20])}",
                     "name one with --model (or pull it, e.g. `ollama pull NAME`)")
    if not model and len(ids) != 1:
        return Check("model server", FAIL, f"no model named; {label} has: {', '.join(ids[:20]) or 'none'}",
                     "name one with --model or YT_STUDY_BUDDY_OPENAI_MODEL")
    return Check("model server", OK, f"{label} serves {model or ids[0]}")


# --------------------------------------------------------------------------- vault

def _vault(output: str | Path) -> Check:
    from yt_study_buddy.vault.preflight import vault_problem
    from yt_study_buddy.vault.store import Vault

    try:
        vault = Vault(output)
    except StudyBuddyError as exc:
        return Check("vault", FAIL, exc.reason, "use -o DIR")
    if not vault.root.exists():
        # Nothing is created for a check: the nearest existing folder must let a run create it.
        parent = next((p for p in vault.root.parents if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            return Check("vault", FAIL, f"{vault.root} does not exist and {parent} is not writable",
                         "create the folder or choose another with -o")
        return Check("vault", OK, f"{vault.root} will be created")
    # The same check a batch makes before it fetches or pays for anything.
    fresh = not os.path.lexists(vault.hidden)
    problem = vault_problem(vault)
    if fresh:
        _remove_check_leftovers(vault.hidden)
    if problem is not None:
        return Check("vault", FAIL, problem.reason, "choose another folder with -o, or fix its permissions")
    return Check("vault", OK, f"{vault.root} is writable")


def _remove_check_leftovers(hidden: Path) -> None:
    """Remove the hidden folder and empty lock file the check made: a check leaves no vault behind.

    A left-over ``.study-buddy`` would make the folder a vault, and a later run on a
    folder above it would refuse it as "holding other vaults".
    """
    lock = hidden / "vault.lock"
    try:
        if lock.is_file() and not lock.is_symlink() and lock.stat().st_size == 0:
            lock.unlink()
        hidden.rmdir()  # only if nothing else is in it
    except OSError:
        pass


def _engine(settings: Settings, engine: str, base_url: str | None, model: str | None,
            timeout: float) -> Check:
    from yt_study_buddy.errors import InputError
    from yt_study_buddy.notes.choice import choose_engine

    try:
        name = choose_engine(engine, settings, base_url).name
    except InputError as exc:
        name = "claude" if engine == "claude" else ""
        if not name:
            return Check("engine", FAIL, exc.reason, "fix the engine flags or settings")
    if name == "openai":
        return _model_server(settings, base_url, model, timeout)
    return _claude(settings, engine, timeout)


def run_doctor(*, output: str | Path = "notes", settings: Settings | None = None, engine: str = "auto",
               tor: bool = False, tor_config: Any = None, proxy: str | None = None,
               cookies: str | Path | None = None, timeout: float = 15.0,
               today: date | None = None, base_url: str | None = None,
               model: str | None = None) -> list[Check]:
    """Run every check once, in the order a user should fix them."""
    settings = settings or load_settings()
    checks = [_python(), _packages(), _ytdlp_age(today or date.today()), _js_runtime()]
    checks += _network(settings, tor=tor, tor_config=tor_config, proxy=proxy, cookies=cookies,
                       timeout=timeout)
    checks += [_engine(settings, engine, base_url, model, timeout), _vault(output)]
    return checks
