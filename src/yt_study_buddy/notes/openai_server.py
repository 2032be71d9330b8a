"""Stage notes: what an OpenAI-compatible server offers: its models, the model's context size, tool support.

Asked once per engine, before the first video, through the same openai SDK
client (its generic ``get``/``post`` reach the servers' own endpoints):

- ``GET /v1/models``: the model list (an unknown ``--model`` is reported with
  it); vLLM adds ``max_model_len``, some hosted servers ``context_length``.
- Which server it is comes from the list's ``owned_by``: Ollama says
  ``library`` (then ``POST /api/show`` gives ``num_ctx``, the model's
  ``context_length`` and its capabilities), llama.cpp says ``llamacpp`` (then
  ``GET /props`` gives ``n_ctx``), LM Studio ``organization_owner`` (then
  ``GET /api/v0/models/{id}`` gives ``loaded_context_length``).
- Nothing said: a conservative 8k tokens. OpenAI's own models: a small table.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from yt_study_buddy.config import redact
from yt_study_buddy.net.proxy import mask_proxy_url

__all__ = ["ServerInfo", "probe_server", "config_problem", "is_local_server", "is_openai_host", "server_label",
           "server_root", "DEFAULT_CONTEXT_TOKENS"]

log = logging.getLogger(__name__)

#: Context window assumed when the server does not say (small local models often have 8k).
DEFAULT_CONTEXT_TOKENS = 8192

# OpenAI's own models (longest matching prefix wins), as published on 2026-12-01.
_OPENAI_CONTEXT = {
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
}

_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.MULTILINE)


@dataclass
class ServerInfo:
    """What the engine learned about the server and the chosen model."""

    models: list[str] = field(default_factory=list)
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    #: Where context_tokens came from ("vLLM max_model_len", "Ollama num_ctx", "default", …).
    context_source: str = "default"
    #: False when the server says the model cannot call tools (Ollama's capabilities).
    tools: bool | None = None
    #: 'ollama', 'llamacpp', 'lmstudio', 'vllm', 'openai' or 'unknown'.
    kind: str = "unknown"


def server_label(base_url: str) -> str:
    """The base URL without credentials or query, for messages."""
    try:
        parts = urlsplit(base_url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # "http://[::1", a port out of range: still a label, never the credentials
        return redact(mask_proxy_url(base_url.split("?", 1)[0].split("#", 1)[0]))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # "user:pass@host" parses as the scheme "user" with the password in the path.
        return redact(mask_proxy_url(base_url.split("?", 1)[0].split("#", 1)[0]))
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}".rstrip("/")


def server_root(base_url: str) -> str:
    """The server's root URL: the base URL without a trailing /v1."""
    label = base_url.split("?", 1)[0].rstrip("/")
    return label[: -len("/v1")] if label.endswith("/v1") else label


def is_openai_host(base_url: str) -> bool:
    """True for OpenAI's own API."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


def is_local_server(base_url: str) -> bool:
    """True for a server on this machine or a private network (its calls cost nothing)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def config_problem(base_url: str | None, api_key: str | None) -> str | None:
    """Why this server setting cannot work (not an http(s) URL; OpenAI's API without a key), or None."""
    if base_url:
        try:
            parts = urlsplit(base_url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port out of range, an unclosed IPv6 bracket
            valid = False
        if not valid:
            return (f"--base-url (OPENAI_BASE_URL) must be an http:// or https:// URL, e.g. "
                    f"http://localhost:11434/v1, got {server_label(base_url)[:80]!r}")
    if api_key or (base_url and not is_openai_host(base_url)):
        return None
    return ("OpenAI's API needs a key: set OPENAI_API_KEY, or point --base-url (OPENAI_BASE_URL) "
            "at a local server, e.g. http://localhost:11434/v1 for Ollama")


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None


def _openai_context(model: str) -> int | None:
    best = max((p for p in _OPENAI_CONTEXT if model == p or model.startswith(p + "-")),
               key=len, default=None)
    return _OPENAI_CONTEXT[best] if best else None


Fetch = Callable[[str, dict[str, Any] | None], Any]


def probe_server(base_url: str, model: str, listed: list[dict[str, Any]], fetch: Fetch) -> ServerInfo:
    """Work out the model's context size and tool support from the model list and the server's own API.

    ``listed``: the ``/v1/models`` entries as dicts; ``fetch(url, body)`` GETs
    (body None) or POSTs JSON and returns the decoded answer, raising on any
    failure. A server that answers none of this gets the defaults.
    """
    info = ServerInfo(models=[str(m.get("id")) for m in listed if m.get("id")])
    # Ollama lists "llama3.2:latest" for the "llama3.2" a user names.
    entry = next((m for m in listed if m.get("id") in (model, f"{model}:latest")), {})
    owner = str(entry.get("owned_by") or "")
    if is_openai_host(base_url):
        info.kind = "openai"
        size = _openai_context(model)
        if size:
            info.context_tokens, info.context_source = size, "OpenAI's published context window"
        return info
    size = _positive_int(entry.get("max_model_len"))
    if size:
        info.kind, info.context_tokens, info.context_source = "vllm", size, "vLLM max_model_len"
        return info
    size = _positive_int(entry.get("context_length"))
    if size:
        info.context_tokens, info.context_source = size, "the model list's context_length"
        return info
    root = server_root(base_url)
    try:
        if owner == "library":
            info.kind = "ollama"
            _probe_ollama(info, fetch(f"{root}/api/show", {"model": model}))
        elif owner == "llamacpp":
            info.kind = "llamacpp"
            _probe_llamacpp(info, fetch(f"{root}/props", None))
        elif owner == "organization_owner":
            info.kind = "lmstudio"
            _probe_lmstudio(info, fetch(f"{root}/api/v0/models/{model}", None))
    except Exception as exc:  # noqa: BLE001 - optional extras: the defaults stand
        log.info("could not read the context size from %s (%s): assuming %d tokens",
                 server_label(base_url), type(exc).__name__, info.context_tokens)
    return info


def _probe_ollama(info: ServerInfo, show: Any) -> None:
    if not isinstance(show, dict):
        return
    capabilities = show.get("capabilities")
    if isinstance(capabilities, list):
        info.tools = "tools" in capabilities
    match = _NUM_CTX.search(str(show.get("parameters") or ""))
    if match and int(match.group(1)) > 0:
        info.context_tokens, info.context_source = int(match.group(1)), "Ollama num_ctx"
        return
    model_info = show.get("model_info")
    if isinstance(model_info, dict):
        sizes = [_positive_int(v) for k, v in model_info.items() if str(k).endswith(".context_length")]
        sizes = [s for s in sizes if s]
        if sizes:
            # Without num_ctx Ollama runs the model with its server default window,
            # which can be far below what the model was trained for: stay small.
            info.context_tokens = min(sizes[0], DEFAULT_CONTEXT_TOKENS)
            info.context_source = "Ollama context_length, capped at the default"


def _probe_llamacpp(info: ServerInfo, props: Any) -> None:
    if not isinstance(props, dict):
        return
    settings = props.get("default_generation_settings")
    size = _positive_int(props.get("n_ctx")) or (
        _positive_int(settings.get("n_ctx")) if isinstance(settings, dict) else None)
    if size:
        info.context_tokens, info.context_source = size, "llama.cpp n_ctx"


def _probe_lmstudio(info: ServerInfo, model: Any) -> None:
    if not isinstance(model, dict):
        return
    size = _positive_int(model.get("loaded_context_length")) or _positive_int(model.get("max_context_length"))
    if size:
        info.context_tokens, info.context_source = size, "LM Studio context length"
