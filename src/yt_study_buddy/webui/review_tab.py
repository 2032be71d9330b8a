"""Stage webui: the Review tab: due flashcards one at a time, "Show answer", then Again / Hard / Good / Easy.

Scheduling is ``study.review`` (FSRS); this module only draws. Ratings run in
button callbacks, before the page redraws, so the next card shows at once.
Everything works offline. The vault's cards are also offered as an Anki
package, built only when the download is clicked.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import streamlit as st

from yt_study_buddy.config import redact
from yt_study_buddy.errors import StudyBuddyError
from yt_study_buddy.models import format_timestamp
from yt_study_buddy.study.deck import DeckCard
from yt_study_buddy.study.review import RATINGS, ReviewQueue
from yt_study_buddy.vault.render import markdown_text
from yt_study_buddy.webui.library import folder_problem, safe_markdown

__all__ = ["review_tab", "due_text"]

_ALL = "All subjects"
_CURRENT, _REVEALED, _MESSAGE = "review_current", "review_revealed", "review_message"
_HELP = {"again": "Forgot it: see it again in a minute.", "hard": "Recalled with effort.",
         "good": "Recalled it.", "easy": "Knew it at once: wait longer."}


def due_text(when: datetime, now: datetime | None = None) -> str:
    """Return when a card is due again, in words ('in 10 minutes', 'in 3 days')."""
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = round(seconds / size)
            return f"in {n} {unit}{'s' if n != 1 else ''}"
    return "in under a minute"


def _rate(queue: ReviewQueue, card: DeckCard, rating: str) -> None:
    try:
        due = queue.rate(card, rating)
    except StudyBuddyError as exc:
        st.session_state[_MESSAGE] = ("error", f"Could not save the rating: {redact(exc.reason)}")
        return
    st.session_state[_MESSAGE] = ("info", f"“{rating.capitalize()}”: this card comes back {due_text(due)}.")
    st.session_state[_REVEALED] = False
    st.session_state.pop(_CURRENT, None)


def _reveal() -> None:
    st.session_state[_REVEALED] = True


def _card(queue: ReviewQueue, card: DeckCard, left: int) -> None:
    # Subject and title come from the vault: shown as text, never as markup.
    st.caption(f"{left} to study · {markdown_text(card.subject)} · {markdown_text(card.title)}")
    with st.container(border=True):
        st.markdown(safe_markdown(f"#### {card.card.front}"))
        if not st.session_state.get(_REVEALED):
            st.button("Show answer", key="review_show", type="primary", on_click=_reveal)
            return
        st.markdown(safe_markdown(f"**{card.card.back}**"))
        if card.card.cloze:
            st.markdown(safe_markdown(card.card.cloze.replace("==", "**")))
        if card.card.timestamp is not None:
            moment = format_timestamp(card.card.timestamp)
            link = card.source_link
            title = markdown_text(card.title)
            st.caption(f"[{title}, at {moment}]({link})" if link else f"{title}, at {moment}")
    for column, rating in zip(st.columns(len(RATINGS)), RATINGS):
        column.button(rating.capitalize(), key=f"review_{rating}", help=_HELP[rating],
                      on_click=_rate, args=(queue, card, rating), use_container_width=True)


def review_tab(output: Path) -> None:
    """Due counts per subject and the current card of the chosen subject."""
    problem = folder_problem(output)  # a PermissionError from is_dir() is a message, not a traceback
    if problem:
        st.error(problem)
        return
    if not output.is_dir():
        st.info(f"No notes in {output} yet: process some videos first.")
        return
    queue = ReviewQueue(output)
    try:
        cards = queue.cards()
    except StudyBuddyError as exc:
        st.error(f"Cannot read the flashcards: {redact(exc.reason)}")
        return
    if not cards:
        st.info("No flashcards yet: every note processed from now on ends with a set of them.")
        return
    counts = {c.subject: c for c in queue.counts(cards=cards)}
    st.dataframe([{"subject": c.subject, "due": c.due, "new": c.new, "cards": c.total}
                  for c in counts.values()], hide_index=True)
    total = sum(c.to_study for c in counts.values())
    subject = st.selectbox("Study", [_ALL, *counts], key="review_subject",
                           format_func=lambda s: f"{s} ({total if s == _ALL else counts[s].to_study} to study)")
    message = st.session_state.pop(_MESSAGE, None)
    if message:
        (st.error if message[0] == "error" else st.info)(message[1])
    due = queue.due(None if subject == _ALL else subject, cards=cards)
    if not due:
        st.success("Nothing to study right now: every card is scheduled for later.")
    else:
        current = next((c for c in due if c.key == st.session_state.get(_CURRENT)), due[0])
        st.session_state[_CURRENT] = current.key
        _card(queue, current, len(due))
    st.divider()
    root = queue.vault.root
    st.download_button("Download all cards for Anki (.apkg)", data=lambda: _apkg(root),
                       file_name="study-buddy.apkg", mime="application/octet-stream", key="anki_download",
                       help="One deck per subject under “Study Buddy”; importing a newer package updates the cards.")


def _apkg(root: Path) -> bytes:
    from yt_study_buddy.study.anki import build_apkg
    from yt_study_buddy.study.deck import vault_cards

    return build_apkg(vault_cards(root))
