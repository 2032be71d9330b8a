"""End to end: `streamlit run` on 127.0.0.1 driven by headless Chromium through Playwright.

The app talks to the fake YouTube (started in this process) and uses the
offline engine. Chromium is Debian's (/usr/bin/chromium); a browser is never
downloaded. Set YT_STUDY_BUDDY_SCREENSHOT=<path.png> to keep a screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.guard.loopback import guarded_env
from yt_study_buddy.sources.inputs import read_list_file

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
STARTUP_SECONDS = 90
BATCH_SECONDS = 240
# A dead proxy for everything but loopback: the browser cannot reach the internet even by accident.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1;localhost;[::1]"]

if not Path(CHROMIUM).is_file():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) "
                "to run the browser test", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                      "(pip install -e '.[dev]')").sync_playwright


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {STARTUP_SECONDS} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def fake_tube():
    from tests.fakes.youtube import FakeYouTube

    fake = FakeYouTube()
    fake.add_video("aaaaaaaaaaa", title="Entropy and Information Theory")
    fake.add_video("bbbbbbbbbbb", title="Gradient Descent in Practice")
    fake.add_video("ccccccccccc", title="Information Gain and Decision Trees")
    fake.add_playlist("PLstudybuddy0001", ["bbbbbbbbbbb", "ccccccccccc"])
    with fake:
        yield fake


@pytest.fixture
def streamlit_server(tmp_path, fake_tube):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "ANTHROPIC_BASE_URL")}
    env.update({"YT_STUDY_BUDDY_YOUTUBE_URL": fake_tube.base_url, "HOME": str(tmp_path),
                "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])})
    # The streamlit server is Python: guard it like the test process (chromium has its dead proxy).
    env = guarded_env(env)
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    log = tmp_path / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [streamlit, "run", str(REPO / "streamlit_app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url, tmp_path / "notes", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _open(browser, url: str):
    """A page on the app, its first run finished; every wait allows for a busy machine."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # Playwright's 30 s default for each wait and click ran out on a loaded 2-core machine.
    page.set_default_timeout(STARTUP_SECONDS * 1000)
    page.goto(url, wait_until="domcontentloaded")
    _wait_until_idle(page)
    return page


def _wait_until_idle(page) -> None:
    """Wait for the title, then for the script run that drew it to end (before touching widgets)."""
    page.get_by_role("heading", name="YouTube Study Buddy").wait_for()
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")


def _notes(vault: Path) -> list[Path]:
    if not vault.is_dir():
        return []
    return [p for p in vault.rglob("*.md") if ".study-buddy" not in p.parts and not p.stem.endswith(" - Assessment")]


def test_process_videos_in_a_real_browser(streamlit_server, tmp_path):
    url, vault, log = streamlit_server
    caption = next(Path(e.base_dir) / e.text for e in read_list_file(REPO / "examples" / "lectures.txt"))
    expected = 4  # a video, a playlist of two, one uploaded caption file
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _open(browser, url)
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_text("Enable Parallel Processing").wait_for()
            sidebar.get_by_text("No Claude API key").wait_for()

            box = page.get_by_label("YouTube URLs (one per line)")
            box.fill("https://youtu.be/aaaaaaaaaaa\n"
                     "https://www.youtube.com/playlist?list=PLstudybuddy0001\n")
            box.press("Control+Enter")  # commit the text area before clicking
            page.get_by_test_id("stFileUploaderDropzoneInput").nth(1).set_input_files(str(caption))
            page.get_by_text(caption.name).wait_for()

            page.get_by_role("button", name="Process Videos").click()
            finished = page.get_by_text(re.compile(rf"Finished: {expected} videos"))
            finished.wait_for(timeout=BATCH_SECONDS * 1000)
            text = finished.inner_text()
            assert f"{expected} done, 0 failed" in text, text + "\n" + log.read_text(errors="replace")[-2000:]
            # One notice about the missing key: the sidebar's, not a second one in the page.
            assert page.get_by_text("No ANTHROPIC_API_KEY set").count() == 0
            assert page.get_by_test_id("stDataFrame").first.is_visible()

            titles = sorted(p.stem for p in _notes(vault))
            assert len(titles) == expected, titles
            assert {"Entropy and Information Theory", "Gradient Descent in Practice",
                    "Information Gain and Decision Trees"} <= set(titles)
            assert (vault / ".study-buddy" / "uploads" / caption.name).is_file()
            shot = os.environ.get("YT_STUDY_BUDDY_SCREENSHOT")
            page.wait_for_timeout(500)  # let the table finish drawing
            page.screenshot(path=str(tmp_path / "process.png"), full_page=True)
            if shot:
                shutil.copyfile(tmp_path / "process.png", shot)

            # The Library tab renders a note and the knowledge graph.
            page.get_by_role("tab", name="Library").click()
            page.get_by_role("heading", name="Overview").first.wait_for()  # a note, rendered
            page.get_by_role("tab", name="Knowledge graph").click()
            page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for()
            assert page.locator("[data-testid='stGraphVizChart'] svg g.node").count() == expected
            page.screenshot(path=str(tmp_path / "library.png"), full_page=True)

            page.get_by_role("tab", name="Logs").click()
            page.get_by_role("heading", name="Job history").wait_for()
        finally:
            browser.close()
    assert "Traceback" not in log.read_text(errors="replace")


def test_stop_in_a_real_browser_cancels_waiting_videos_and_keeps_finished_notes(streamlit_server, fake_tube):
    url, vault, log = streamlit_server
    fake_tube.latency = 0.4  # every request is slow: the batch is still running when we look
    ids = [f"stopbrowse{n}" for n in range(10)]
    for n, video_id in enumerate(ids):
        fake_tube.add_video(video_id, title=f"Stoppable lecture {n} on entropy")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _open(browser, url)
            # One video at a time: after the first note, most videos are still waiting their turn.
            page.get_by_test_id("stSidebar").get_by_text("Enable Parallel Processing").click()
            box = page.get_by_label("YouTube URLs (one per line)")
            box.fill("\n".join(f"https://youtu.be/{i}" for i in ids))
            box.press("Control+Enter")
            process = page.get_by_role("button", name="Process Videos")
            process.click()

            # The page redraws for a running batch: Stop shown, Process disabled, counts in the status.
            stop = page.get_by_role("button", name="Stop")
            stop.wait_for()
            assert process.is_disabled()
            page.get_by_text(re.compile(r"Processing: \d+/10 done · \d+ running")).first.wait_for()
            deadline = time.monotonic() + BATCH_SECONDS
            while not _notes(vault):
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
                time.sleep(0.2)
            assert stop.is_visible() and process.is_disabled()
            page.screenshot(path=str(vault.parent / "running.png"), full_page=True)
            # A reload is a new session: it finds the running batch, its Stop, and Process stays disabled.
            page.reload(wait_until="domcontentloaded")
            page.get_by_role("heading", name="YouTube Study Buddy").wait_for()
            stop.wait_for()
            assert process.is_disabled()
            stop.click()

            finished = page.get_by_text(re.compile(r"Finished: 10 videos"))
            finished.wait_for(timeout=BATCH_SECONDS * 1000)
            summary = finished.inner_text()
            page.get_by_role("button", name="Process Videos").and_(
                page.locator("button:not([disabled])")).wait_for()
            assert page.get_by_role("button", name="Stop").count() == 0
        finally:
            browser.close()
    done = len(_notes(vault))
    match = re.search(r"(\d+) done, 0 failed, (\d+) cancelled\. Stopped early: stopped at your request", summary)
    assert match, summary
    assert int(match.group(1)) == done >= 1 and done + int(match.group(2)) == 10, summary
    # The videos never finished are logged as cancelled and retryable; the finished notes are kept.
    import json

    records = [json.loads(line) for line in (vault / ".study-buddy" / "jobs.jsonl").read_text().splitlines()]
    latest = {r["video_id"]: r for r in records}
    assert sorted(latest) == sorted(ids)
    cancelled = [r for r in latest.values() if r["status"] == "failed"]
    assert len(cancelled) == 10 - done and all(r["error_kind"] == "cancelled" and r["retryable"] for r in cancelled)
    assert "Traceback" not in log.read_text(errors="replace")
