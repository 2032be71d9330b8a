"""Studying in a real browser: reveal an answer, follow a note link, rate a card (Debian chromium, Playwright).

Set YT_STUDY_BUDDY_REVIEW_SCREENSHOT=<path.png> to keep a screenshot of the Review tab
(the README's docs/review.png is made this way).
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from tests.study.conftest import build_vault
from tests.webui.test_streamlit_browser import (  # noqa: F401  (fixtures; skips the module without chromium)
    CHROMIUM,
    CHROMIUM_ARGS,
    STARTUP_SECONDS,
    fake_tube,
    streamlit_server,
    sync_playwright,
)
from yt_study_buddy.webui.library import load_library

pytestmark = pytest.mark.browser


def test_reveal_an_answer_follow_a_note_link_and_rate_a_card(tmp_path, streamlit_server):
    url, vault, log = streamlit_server
    build_vault(vault)
    notes = load_library(vault).notes
    note = next(n for n in notes if n.title == "Cellular Respiration and ATP")
    other = next(n for n in notes if n.title.startswith("Photosynthesis"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            # A busy machine can take longer than Playwright's 30 s default for a rerun.
            page.set_default_timeout(STARTUP_SECONDS * 1000)
            # A link into the app: the Library tab, the note selected, its assessment open.
            page.goto(f"{url}/?tab=Library&note={note.video_id}&view=assessment", wait_until="domcontentloaded")
            page.get_by_role("heading", name="Assessment: Cellular Respiration and ATP").wait_for(
                timeout=STARTUP_SECONDS * 1000)
            fold = page.get_by_test_id("stExpander").filter(visible=True).first
            answer = fold.get_by_test_id("stExpanderDetails")
            assert not answer.is_visible()  # folded until asked
            fold.get_by_text("Show answer").click()
            answer.wait_for(state="visible")
            assert answer.inner_text().strip()

            # Back to the note: its wiki link to another note opens that note in the app.
            page.get_by_role("tab", name="Notes").click()
            link = page.locator(f"a[href*='note={other.video_id}']").first
            link.wait_for()
            with page.context.expect_page() as opened:
                link.click()
            linked = opened.value
            linked.get_by_role("heading", name=other.title, exact=True).wait_for(timeout=STARTUP_SECONDS * 1000)
            assert re.search(rf"note={other.video_id}", linked.url)
            linked.close()
            obsidian = page.get_by_role("link", name="Open in Obsidian")
            assert obsidian.get_attribute("href").startswith("obsidian://open?vault=notes&file=Biology%2F")

            # Review: a due card, its answer, a rating.
            page.get_by_role("tab", name="Review").click()
            page.get_by_role("button", name="Show answer").click()
            good = page.get_by_role("button", name="Good", exact=True)
            good.wait_for()
            page.wait_for_timeout(300)  # let the answer finish drawing
            shot = tmp_path / "review.png"
            page.screenshot(path=str(shot), full_page=True)
            if os.environ.get("YT_STUDY_BUDDY_REVIEW_SCREENSHOT"):
                shutil.copyfile(shot, os.environ["YT_STUDY_BUDDY_REVIEW_SCREENSHOT"])
            good.click()
            page.get_by_text(re.compile(r"“Good”: this card comes back in \d+ minutes")).wait_for()
            page.get_by_role("button", name="Show answer").wait_for()  # the next card, answer hidden
        finally:
            browser.close()
    state = json.loads((vault / ".study-buddy" / "review.json").read_text(encoding="utf-8"))
    assert [e["last_rating"] for e in state["cards"].values()] == ["good"]
    assert "Traceback" not in log.read_text(errors="replace")
