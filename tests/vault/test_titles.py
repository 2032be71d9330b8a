"""Titles are untrusted: HTML, wiki links and Markdown syntax in a title (YouTube's or a caption file's
`Title:` line) show as the text they are, in the note's heading and body; the front matter keeps them as is."""

from __future__ import annotations

import re

import pytest

from tests.vault.test_store import make_job
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.models import VideoMeta
from yt_study_buddy.vault.filenames import clean_title
from yt_study_buddy.vault.render import markdown_text, split_front_matter
from yt_study_buddy.vault.store import Vault

HOSTILE = [
    '<img src=x onerror="alert(1)"> Photosynthesis',
    "Photosynthesis [[Secret Note]] and [[Other|alias]]",
    "**Bold** _it_ `code` ~~gone~~ ==mark== $x^2$ %%hidden%% #tag",
    "[click](javascript:alert(1)) & &amp; &lt;b&gt;",
    "<script>alert(1)</script>",
    "back\\slash \\[[not a link]]",
]


def rendered_text(markdown: str) -> tuple[str, str]:
    """(HTML, visible text) of one line of Markdown, rendered as CommonMark with inline HTML on (as Obsidian does)."""
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).render(markdown)
    text = re.sub(r"<[^>]+>", "", html)
    return html, text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


@pytest.mark.parametrize("title", HOSTILE)
def test_escaped_text_renders_as_itself(title):
    html, text = rendered_text(markdown_text(title))
    assert text.strip() == title
    assert "<img" not in html and "<script" not in html and "<a " not in html and "<em" not in html
    assert not re.search(r"(?<!\\)\[\[", markdown_text(title))  # no wiki link for Obsidian either


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_title_in_note_and_assessment(tmp_path, title):
    job = make_job("aaaaaaaaaaa", title)
    job["meta"] = VideoMeta(video_id="aaaaaaaaaaa", title=title, channel="<b>Chan</b> [[x]]", source="youtube",
                            url="https://www.youtube.com/watch?v=aaaaaaaaaaa")
    note, assessment = Vault(tmp_path).write_note(**job)
    meta, body = split_front_matter(note.read_text(encoding="utf-8"))
    assert meta["title"] == clean_title(title)  # YAML keeps it exactly
    heading = body.split("\n", 1)[0]
    info = body.split("\n")[2]
    for line in (heading, info):
        html, _ = rendered_text(line)
        assert "<img" not in html and "<script" not in html and "<b>" not in html
        assert not re.search(r"(?<!\\)\[\[(?!.*- Assessment\]\])", line), line
    assert rendered_text(heading)[1].strip() == clean_title(title)
    a_meta, a_body = split_front_matter(assessment.read_text(encoding="utf-8"))
    a_heading = a_body.split("\n", 1)[0]
    assert rendered_text(a_heading)[1].strip() == f"Assessment: {clean_title(title)}"
    assert not re.search(r"(?<!\\)\[\[", a_heading)


def test_caption_file_title_line_is_escaped(tmp_path):
    lecture = tmp_path / "lecture.vtt"
    lecture.write_text("WEBVTT\nTitle: <img src=x onerror=alert(1)> [[Trap]]\n\n"
                       "00:00:01.000 --> 00:00:05.000\nPhotosynthesis turns light into sugar.\n\n"
                       "00:00:05.000 --> 00:00:09.000\nChlorophyll absorbs the light.\n", encoding="utf-8")
    report = YouTubeStudyNotes(base_dir=tmp_path / "notes", engine="offline").process_urls([str(lecture)])
    assert report.ok, [r.error for r in report.results]
    for path in (tmp_path / "notes").rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        body = split_front_matter(text)[1]
        assert "<img" not in body and not re.search(r"(?<!\\)\[\[Trap", body), path
