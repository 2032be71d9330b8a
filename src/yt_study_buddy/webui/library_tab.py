"""Stage webui: the Library tab: find a note, read it with answers hidden until asked, follow its links.

The notes come from ``library.load_library`` (the vault's index, no note read
per rerun); only the chosen note and its assessment are opened, and a search
reads note text only for notes whose title and concepts don't match, each
once while it is unchanged. A note's wiki links open the linked note in the
app (a new browser tab on the Library with that note selected); "Open in
Obsidian" opens the same file in the vault. Assessment answers and flashcard
backs stay folded until the learner opens each one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from yt_study_buddy.models import format_timestamp
from yt_study_buddy.vault.flashcards import parse_flashcards, strip_flashcards
from yt_study_buddy.vault.render import markdown_text
from yt_study_buddy.vault.scan import stamp_of
from yt_study_buddy.webui.library import (
    MAX_GRAPH_NOTES,
    Library,
    LibraryNote,
    build_graph_dot,
    folder_problem,
    link_url,
    load_library,
    neighbourhood,
    read_note,
    read_note_body,
    safe_markdown,
)
from yt_study_buddy.webui.study_view import (
    link_notes,
    link_targets,
    obsidian_url,
    search_notes,
    split_answers,
)

__all__ = ["library_tab", "graph_section", "show_parts", "NOTE_KEY"]

#: The selected note; a link names it in the ``note`` query parameter.
NOTE_KEY = "note"
_LINK_USED = "library_link_used"
_ALL_SUBJECTS = "All subjects"
_VIEWS = ["Notes", "Assessment", "Knowledge graph"]


def show_parts(markdown: str) -> None:
    """Show a page with each hidden part (an answer) folded under "Show answer"."""
    for part in split_answers(markdown):
        if part.hidden:
            with st.expander("Show answer" if part.label == "Answer" else f"Show {part.label.lower()}"):
                st.markdown(safe_markdown(part.text))
        else:
            st.markdown(safe_markdown(part.text))


def _flashcards(body: str) -> None:
    cards = parse_flashcards(body)
    if not cards:
        return
    st.markdown("## Flashcards")
    st.caption(f"{len(cards)} cards; review them in the Review tab, in Obsidian or in Anki.")
    for card in cards:
        st.markdown(safe_markdown(card.front))
        with st.expander("Show answer"):
            st.markdown(safe_markdown(card.back))
            if card.timestamp is not None:
                moment = format_timestamp(card.timestamp)
                safe = link_url(card.link)
                st.caption(f"[At {moment} in the video]({safe})" if safe else f"At {moment}")


@st.cache_data(max_entries=2000, show_spinner=False)
def _body_text(path: str, stamp: Any) -> str:
    """A note's text for searching, read once per version of the file."""
    return read_note_body(path)


def _search_text(note: LibraryNote) -> str:
    stamp = stamp_of(note.path)
    return _body_text(str(note.path), stamp) if stamp is not None else ""


def _output_param(output: Path, default: str) -> str | None:
    return None if str(output) == str(Path(default).expanduser()) else str(output)


def _note_from_link(by_id: dict[str, LibraryNote]) -> None:
    """Select the note a link opened the page with (?note=...), once per browser session."""
    wanted = st.query_params.get(NOTE_KEY)
    if wanted and not st.session_state.get(_LINK_USED):
        st.session_state[_LINK_USED] = True
        if wanted in by_id:
            st.session_state[NOTE_KEY] = wanted


def library_tab(output: Path, default_output: str) -> None:
    """Search or browse notes by subject, read one with its flashcards and assessment, see the knowledge graph."""
    problem = folder_problem(output)
    if problem:
        st.error(problem)
        return
    library = load_library(output)  # the index, cached by its mtime: no note read, no lock
    notes = library.notes
    if not notes:
        st.info(f"No notes in {output} yet: process some videos first.")
        return
    counts: dict[str, int] = {}
    for n in notes:
        counts[n.subject] = counts.get(n.subject, 0) + 1
    subjects = sorted(counts, key=str.casefold)
    search, subject = st.columns([3, 2])
    query = search.text_input("Search", key="library_search", placeholder="titles, concepts and text")
    choice = subject.selectbox("Subject", [_ALL_SUBJECTS, *subjects], key="library_subject",
                               format_func=lambda s: s if s == _ALL_SUBJECTS else f"{s} ({counts[s]})")
    shown = notes if choice == _ALL_SUBJECTS else [n for n in notes if n.subject == choice]
    shown = search_notes(shown, query or "", _search_text)
    if not shown:
        st.info("No note matches the search.")
    by_id = {n.video_id: n for n in shown}
    _note_from_link(by_id)
    picked = st.selectbox(f"Note ({len(shown)} of {len(notes)})", list(by_id), key=NOTE_KEY,
                          format_func=lambda vid: f"{by_id[vid].title}  ·  {by_id[vid].subject}")
    note = by_id.get(picked) if picked else None
    view = st.query_params.get("view")
    read, test, graph = st.tabs(_VIEWS, default="Assessment" if view == "assessment" else None)
    targets = link_targets(notes)
    param = _output_param(output, default_output)
    with read:
        if note is not None:
            meta, body = read_note(note.path)
            _note_header(note, output, str(meta.get("url") or ""))
            if body:
                # The cards are drawn below, each answer folded.
                st.markdown(safe_markdown(link_notes(strip_flashcards(body), targets, output=param)))
                _flashcards(body)
            else:
                st.markdown("*This note can't be read (moved or deleted?).*")
    with test:
        if note is None or note.assessment is None:
            st.info("No assessment for this note.")
        else:
            show_parts(link_notes(read_note_body(note.assessment), targets, output=param))
    with graph:
        graph_section(library, shown, note)


def _note_header(note: LibraryNote, output: Path, url: str) -> None:
    safe = link_url(url)
    source = f"[Watch the video]({safe})" if safe else "from a caption file"
    left, right = st.columns([4, 1])
    left.caption(f"Subject: {markdown_text(note.subject)} · {source}")
    right.link_button("Open in Obsidian", obsidian_url(output, note.path),
                      help="Opens this note in Obsidian (the output folder must be open there as a vault).")


def graph_section(library: Library, shown: list[Any], note: Any) -> None:
    """The knowledge graph's numbers and its picture: the subject, or the chosen note's neighbourhood."""
    stats = library.stats
    numbers = {"Notes": stats.get("total_notes"), "Concepts": stats.get("total_concepts"),
               "Subjects": len(stats.get("subjects") or {})}
    for column, (name, value) in zip(st.columns(len(numbers)), numbers.items()):
        column.metric(name, value)
    if len(shown) <= MAX_GRAPH_NOTES:
        st.graphviz_chart(build_graph_dot(shown, focus=note.video_id if note else None, universe=library))
        st.caption("Notes are joined where they share concepts; the labels name shared concepts.")
    elif note is not None:
        around = neighbourhood(library, note.video_id)
        st.graphviz_chart(build_graph_dot(around, focus=note.video_id, universe=library))
        st.caption(f"{len(shown)} notes are too many for one picture: this is “{markdown_text(note.title)}” and the notes "
                   "around it (choose a subject or another note to move).")
