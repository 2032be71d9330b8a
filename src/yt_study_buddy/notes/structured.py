"""Stage notes: read a model's JSON answer: repair almost-JSON, then validate it against the tool's schema.

Local models often answer with *almost* JSON: wrapped in a Markdown code
fence, with a sentence before it, trailing commas, single quotes. Strict
``json.loads`` comes first; only when it fails does ``json_repair`` (a
well-kept library for exactly this) try. Whatever comes out must then pass
the JSON schema the prompt asked for (``jsonschema``), so a "repair" that
turned prose into an empty string never reaches the vault.
"""

from __future__ import annotations

import json
from typing import Any

from yt_study_buddy.notes import prompts

__all__ = ["AnswerProblem", "read_tool_answer", "tool_schema"]


class AnswerProblem(ValueError):
    """The answer is not a JSON object matching the schema; ``str()`` says why, briefly."""


def tool_schema(tool: str) -> dict[str, Any]:
    """The JSON schema of one of prompts.TOOLS."""
    for spec in prompts.TOOLS:
        if spec["name"] == tool:
            return spec["input_schema"]
    raise KeyError(tool)


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    import json_repair  # lazy: only reached when a server answered almost-JSON

    try:
        return json_repair.loads(text)
    except (ValueError, RecursionError):
        return None


def read_tool_answer(text: str | None, tool: str) -> dict[str, Any]:
    """Parse ``text`` as the arguments of ``tool``; raise AnswerProblem when it is not that."""
    if not text or not text.strip():
        raise AnswerProblem("the answer was empty")
    value = _parse(text.strip())
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]  # one object wrapped in a list: a common slip
    if not isinstance(value, dict):
        raise AnswerProblem("the answer is not a JSON object")
    from jsonschema import Draft202012Validator  # lazy: a run that generates nothing never loads it

    validator = Draft202012Validator(tool_schema(tool))
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "the top level"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise AnswerProblem(f"at {where}: {first.message[:160]}{more}")
    return value
