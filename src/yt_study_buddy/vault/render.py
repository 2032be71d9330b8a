"""Stage vault: markdown for a study note and its assessment, with YAML front matter.

Rendering is a pure function of its inputs, so the same video gives the same
bytes whichever worker wrote it and whenever (``created`` and ``updated`` aside).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable, Mapping

from yt_study_buddy.markdown import FRONT_MATTER, strip_title
from yt_study_buddy.vault.filenames import clean_title
from yt_study_buddy.vault.flashcards import render_flashcards, strip_flashcards
from yt_study_buddy.models import ASSESSMENT_CATEGORIES, Assessment, NotesResult, VideoMeta, format_timestamp, youtube_link

__all__ = [
    "render_note",
    "render_assessment",
    "markdown_text",
    "dump_front_matter",
    "split_front_matter",
    "split_front_matter_raw",
    "front_matter_block",
    "subject_tag",
    "wikilink",
    "link_target",
    "note_url",
    "NOTE_TYPE",
    "ASSESSMENT_TYPE",
    "ANSWER_CALLOUT",
]

NOTE_TYPE = "study-note"
ASSESSMENT_TYPE = "assessment"
#: Opens each model answer in an assessment: a collapsed callout, so the answer is hidden until opened.
ANSWER_CALLOUT = "> [!success]- Answer"


_LOCAL_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_dumper: Any = None


class _DateTime(str):
    """A local 'YYYY-MM-DDTHH:mm:ss' written as a YAML timestamp, not a quoted string."""


# Characters Markdown or Obsidian read as syntax (emphasis, code, links, wiki links, tags, tables,
# highlights, math, comments, block references): a backslash makes each show as itself.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]#|~=$%^])")
# Only "&" that would start an entity ("&amp;", "&#60;") needs escaping; "Q&A" stays as typed.
_ENTITY_START = re.compile(r"&(?=#?[0-9A-Za-z]+;)")


def markdown_text(text: str) -> str:
    """Return text (a title, a channel name) escaped to show as itself in Markdown: no HTML, links or markup."""
    text = _ENTITY_START.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SYNTAX.sub(r"\\\1", text)


def _when(value: str | None) -> str | None:
    # Other shapes (an older note's '...+00:00') stay strings, written as they were.
    return _DateTime(value) if value and _LOCAL_DATETIME.fullmatch(value) else value


def _front_matter_dumper() -> Any:
    """A safe YAML dumper writing values the way Obsidian's properties expect them."""
    global _dumper
    if _dumper is None:
        import yaml  # lazy: only the vault path needs YAML

        class Dumper(yaml.SafeDumper):
            pass

        def represent_time(dumper: Any, value: str) -> Any:
            # Unquoted, so Obsidian shows a Date & time property (a plain YAML timestamp).
            return dumper.represent_scalar("tag:yaml.org,2002:timestamp", str(value))

        def represent_str(dumper: Any, value: str) -> Any:
            if value.startswith("[[") and value.endswith("]]"):
                # A link in a property must be a quoted string; "[[" alone would start a YAML list.
                return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
            return dumper.represent_str(value)

        Dumper.add_representer(str, represent_str)
        Dumper.add_representer(_DateTime, represent_time)
        _dumper = Dumper
    return _dumper


def dump_front_matter(metadata: dict[str, Any], body: str) -> str:
    """Return '---' YAML front matter (safe dump, keys in given order) followed by body."""
    import yaml  # lazy: only the vault path needs YAML

    # A note read back and rewritten (a rename) keeps its dates as Obsidian wants them.
    metadata = {k: _when(v.isoformat()) if isinstance(v, datetime) and v.tzinfo is None else v
                for k, v in metadata.items()}
    # width: never fold long titles, so the output does not depend on YAML's line wrapping.
    dumped = yaml.dump(metadata, Dumper=_front_matter_dumper(), sort_keys=False, allow_unicode=True,
                       default_flow_style=False, width=1_000_000)
    return f"---\n{dumped}---\n\n{body.lstrip(chr(10))}"


def wikilink(stem: str) -> str:
    """Return '[[stem]]', the form a note link takes in a property."""
    return f"[[{stem}]]"


def link_target(value: object) -> str:
    """Return the note a property points at: '[[X]]' or 'X.md' (older notes) both give 'X'; '' for none."""
    text = str(value or "").strip()
    if text.startswith("[[") and text.endswith("]]"):
        text = text[2:-2].split("|", 1)[0].strip()
    elif text.endswith(".md"):
        text = text[:-3]
    return text


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return (metadata, body) of a markdown file; ({}, text) when it has none or it is broken."""
    from frontmatter.default_handlers import YAMLHandler  # lazy: only the vault path needs it

    # Split by hand rather than frontmatter.loads, which strips the body: a rewrite must
    # keep every other byte of the file as it was.
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = YAMLHandler().load(match.group(1) or "")
    except Exception:  # noqa: BLE001 - a hand-edited note with broken YAML is just "not ours"
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    return meta, text[match.end():].lstrip("\n")


def split_front_matter_raw(text: str) -> tuple[str, str]:
    """Return (front matter block verbatim, body); ('', text) when there is none."""
    match = FRONT_MATTER.match(text)
    if not match:
        return "", text
    return text[:match.end()], text[match.end():]


def front_matter_block(text: str) -> str | None:
    """Return the raw text between the front matter's '---' lines, or None when there is none."""
    match = FRONT_MATTER.match(text)
    return (match.group(1) or "") if match else None


def subject_tag(subject: str) -> str:
    """Return an Obsidian tag made from a subject name (no spaces)."""
    tag = re.sub(r"[^\w/-]+", "-", subject.casefold(), flags=re.UNICODE).strip("-/")
    return tag


def note_url(meta: VideoMeta) -> str:
    """Return the link to the video, or '' for a local file."""
    if meta.source == "local":
        return meta.url if meta.url.startswith(("http://", "https://")) else ""
    return meta.url or youtube_link(meta.video_id)


def _card_ref(meta: VideoMeta) -> Callable[[float], str]:
    """How a card points at its moment: a link into the video, or a plain stamp for a local file."""
    if meta.source == "local":
        return lambda seconds: f"[{format_timestamp(seconds)}]"
    return lambda seconds: f"[{format_timestamp(seconds)}]({youtube_link(meta.video_id, seconds)})"


def render_note(meta: VideoMeta, subject: str, notes: NotesResult, *, created: str,
                assessment_name: str | None, transcript_method: str | None,
                duration: float | None = None, updated: str | None = None,
                card_comments: Mapping[str, str] | None = None) -> str:
    """Return the note file: front matter, '# Title', the video link line, the notes, then the flashcards.

    ``card_comments``: the Spaced Repetition scheduling comments of the note being
    replaced, kept for each card that is written again unchanged.
    """
    title = clean_title(meta.title) or meta.video_id
    tags = ["study-notes"]
    tag = subject_tag(subject)
    if tag and tag not in tags:
        tags.append(tag)
    url = note_url(meta)
    channel = clean_title(meta.channel)
    front = {
        "type": NOTE_TYPE,
        "title": title,
        # Obsidian finds the note by its title even where the file name had to differ ("A: B" -> "A - B").
        "aliases": [title],
        "video_id": meta.video_id,
        # A caption file has no video page or channel: no empty properties.
        **({"url": url} if url else {}),
        **({"channel": channel} if channel else {}),
        "subject": subject,
        "tags": tags,
        "created": _when(created),
        # Only on a rewrite: a first write must be the same bytes whoever writes it (created aside).
        **({"updated": _when(updated)} if updated else {}),
        "source": meta.source,
        "engine": notes.engine,
        "model": notes.model,
        "concepts": [clean_title(c) for c in notes.concepts if clean_title(c)],
        "duration": int(duration) if duration else None,
        "transcript_method": transcript_method,
        "assessment": wikilink(assessment_name) if assessment_name else None,
    }
    info = [f"[Watch on YouTube]({url})" if url and meta.source != "local" else
            (f"[Source]({url})" if url else "Source: local lecture file")]
    if channel:
        info.append(markdown_text(channel))
    if duration:
        info.append(format_timestamp(duration))
    if assessment_name:
        # One line: renderers that join soft line breaks still show it cleanly.
        info.append(f"Assessment: [[{assessment_name}]]")
    # Titles are untrusted (YouTube's, a caption file's): shown as text, never as HTML or links.
    header = [f"# {markdown_text(title)}", "", " · ".join(info)]
    # The section is the vault's to write: one an engine wrote itself would give every card twice.
    body = "\n".join(header) + "\n\n" + strip_title(strip_flashcards(notes.markdown)) + "\n"
    cards = render_flashcards(notes.flashcards, subject_tag=tag, time_ref=_card_ref(meta), keep=card_comments)
    if cards:
        body += "\n" + cards
    return dump_front_matter(front, body)


def _time_ref(meta: VideoMeta, seconds: float | None) -> str:
    if seconds is None:
        return ""
    stamp = format_timestamp(seconds)
    if meta.source == "local":
        return f"[{stamp}]"
    # Escaped brackets: shows as "[M:SS]" and links to that moment.
    return f"[\\[{stamp}\\]]({youtube_link(meta.video_id, seconds)})"


def _grouped(assessment: Assessment) -> list[tuple[str, list]]:
    order = list(ASSESSMENT_CATEGORIES)
    extra = sorted({q.category for q in assessment.questions if q.category not in ASSESSMENT_CATEGORIES})
    groups = []
    for cat in order + extra:
        qs = [q for q in assessment.questions if q.category == cat]
        if qs:
            groups.append((cat, qs))
    return groups


def _callout(lines: list[str]) -> list[str]:
    """Return lines as a collapsed Obsidian callout: the answer stays hidden until it is opened."""
    return [ANSWER_CALLOUT, *[f"> {line}".rstrip() for line in lines]]


def render_assessment(meta: VideoMeta, assessment: Assessment, *, note_name: str,
                      subject: str | None = None, created: str | None = None) -> str:
    """Return the assessment file: questions by category, each followed by its answer in a collapsed callout."""
    title = clean_title(meta.title) or meta.video_id
    tags = ["study-notes", "assessment"]
    tag = subject_tag(subject or "")
    if tag and tag not in tags:
        tags.append(tag)
    front = {
        "type": ASSESSMENT_TYPE,
        "title": f"{title} - Assessment",
        "aliases": [f"{title} - Assessment"],
        "video_id": meta.video_id,
        "note": wikilink(note_name),
        **({"subject": subject} if subject else {}),
        "tags": tags,
        **({"created": _when(created)} if created else {}),
    }
    lines = [f"# Assessment: {markdown_text(title)}", "", f"Back to notes: [[{note_name}]]", "",
             "Answer each question yourself first, then open its answer to compare.", ""]
    n = 0
    for cat, qs in _grouped(assessment):
        lines += [f"## {ASSESSMENT_CATEGORIES.get(cat, cat.replace('_', ' ').capitalize())}", ""]
        for q in qs:
            n += 1
            answer = q.answer.strip().splitlines()
            if q.key_concepts:
                answer += ["", "Key concepts: " + ", ".join(clean_title(c) for c in q.key_concepts)]
            ref = _time_ref(meta, q.timestamp)
            if ref:
                answer += ["", f"In the video: {ref}"]
            lines += [f"{n}. {clean_title(q.question)}", "", *_callout(answer), ""]
    body = "\n".join(lines).rstrip("\n") + "\n"
    return dump_front_matter(front, body)
