"""Stage notes: which note engine a batch uses, and building it from the settings.

Choosing is cheap and loads no SDK, so a front end can report a choice that
cannot work (no key, a bad server URL) as a usage error before any video, and
a run that generates nothing never pays for an SDK import.
"""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass

from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.config import Settings
from yt_study_buddy.errors import InputError
from yt_study_buddy.notes.engine import NoteEngine

__all__ = ["EngineChoice", "choose_engine", "build_engine"]

OFFLINE_NOTICE = ("No ANTHROPIC_API_KEY set: using the offline engine (no LLM). "
                  "For a local model see --engine openai.")


@dataclass(frozen=True)
class EngineChoice:
    """The engine's name, and what to tell the user about an automatic choice."""

    name: str
    notice: str | None = None


def choose_engine(choice: str, settings: Settings, base_url: str | None = None) -> EngineChoice:
    """Resolve 'auto' and check the choice can work; raise InputError when it can't."""
    notice = None
    if choice == "auto":
        # A named model server wins over a key in the environment; a key alone
        # for OpenAI never switches engines (it may be there for other tools).
        if base_url:
            choice = "openai"
        elif settings.has_api_key:
            choice = "claude"
        elif settings.openai_base_url:
            choice = "openai"
        else:
            choice, notice = "offline", OFFLINE_NOTICE
    if base_url and choice != "openai":
        raise InputError("--base-url names an OpenAI-compatible server: use it with --engine openai")
    if choice == "claude" and not settings.has_api_key:
        raise InputError("--engine claude needs an API key: set ANTHROPIC_API_KEY "
                         "(or put it in a .env file), or use --engine offline")
    if choice == "openai":
        from yt_study_buddy.notes.openai_server import config_problem

        problem = config_problem(base_url or settings.openai_base_url, settings.openai_api_key)
        if problem:
            raise InputError(problem)
    return EngineChoice(choice, notice)


def build_engine(name: str, settings: Settings, limits: ServiceLimits, *, model: str | None = None,
                 base_url: str | None = None, batch_ledger: Any = None) -> NoteEngine:
    """Create the chosen engine (this imports its SDK); ``batch_ledger``: Claude through Message Batches."""
    if name == "claude":
        from yt_study_buddy.notes.claude import ClaudeEngine

        return ClaudeEngine(api_key=settings.api_key or "", base_url=settings.anthropic_base_url,
                            model=model or settings.model, limits=limits, batch_ledger=batch_ledger)
    if name == "openai":
        from yt_study_buddy.notes.openai_compat import OpenAIEngine

        return OpenAIEngine(model=model or settings.openai_model,
                            base_url=base_url or settings.openai_base_url,
                            api_key=settings.openai_api_key, limits=limits,
                            context_tokens=settings.context_tokens)
    from yt_study_buddy.notes.offline import OfflineEngine

    return OfflineEngine()
