"""The README's command-line and environment tables say what the code reads, and --help says it too."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from yt_study_buddy import config
from yt_study_buddy.cli.command import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _table(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def _env_names() -> set[str]:
    source = inspect.getsource(config.load_settings)
    constants = {name: getattr(config, name) for name in re.findall(r"\b([A-Z_]+_ENV)\b", source)}
    names = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', source)) | set(constants.values())
    return names


def test_every_flag_is_in_the_readme_table():
    flags = {opt for action in build_parser()._actions for opt in action.option_strings if opt.startswith("--")}
    table = _table("Command line")
    missing = sorted(flag for flag in flags - {"--help"} if f"`{flag}" not in table and f" {flag}" not in table)
    assert not missing, f"flags missing from the README's Command line table: {missing}"


def test_every_environment_variable_is_in_the_readme_and_in_help():
    names = _env_names()
    assert {"ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "TOR_CONTROL_PASSWORD", "YT_STUDY_BUDDY_YOUTUBE_URL"} <= names
    table = _table("Environment")
    help_text = build_parser().format_help()
    missing = sorted(n for n in names if f"`{n}`" not in table)
    assert not missing, f"missing from the README's Environment table: {missing}"
    missing = sorted(n for n in names if not re.search(rf"(?<![A-Z_]){n}(?![A-Z_])", help_text))
    assert not missing, f"missing from --help's environment line: {missing}"
