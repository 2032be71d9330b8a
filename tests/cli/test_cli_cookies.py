"""--cookies from the command line: sent on every path, never printed, never written into the vault."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.fakes.youtube import make_segments
from tests.guard.loopback import guarded_env

FAR = int(time.time()) + 30 * 86400
VALUES = ("cli-sid-value-4c1e8f2a9b7d", "cli-secure-value-93be02d5c6aa")


def write_cookies(folder):
    path = folder / "cookies.txt"
    path.write_text("# Netscape HTTP Cookie File\n"
                    f".youtube.com\tTRUE\t/\tTRUE\t{FAR}\tSID\t{VALUES[0]}\n"
                    f"#HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t{FAR}\t__Secure-1PSID\t{VALUES[1]}\n",
                    encoding="utf-8")
    return path


def run(fake_youtube, tmp_path, *args):
    env = guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=fake_youtube.base_url, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "yt_study_buddy.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=tmp_path)


def test_cookies_reach_youtube_and_nothing_else(fake_youtube, tmp_path):
    ids = [f"cookiecli{i:02d}" for i in range(2)]
    for video_id in ids:
        fake_youtube.add_video(video_id, title=f"Cookie Lecture {video_id}",
                               segments=make_segments(["session", "browser", "login"], 12))
    fake_youtube.add_video("cookiegone1", title="Gone", scenario="unavailable")
    fake_youtube.add_playlist("PLcookiecli0000001", ids)
    proc = run(fake_youtube, tmp_path, "https://www.youtube.com/playlist?list=PLcookiecli0000001",
               "https://youtu.be/cookiegone1", "--cookies", str(write_cookies(tmp_path)), "-v",
               "--delay", "0", "-p", "-o", str(tmp_path / "vault"))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the unavailable video
    assert "Succeeded: 2" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
    for path in ("/playlist", "/watch", "/youtubei/v1/player", "/api/timedtext", "/oembed"):
        seen = [r.headers.get("Cookie", "") for r in fake_youtube.requests if r.path == path]
        assert seen and all(all(v in h for v in VALUES) for h in seen), path
    printed = proc.stdout + proc.stderr
    assert not any(v in printed for v in VALUES)
    files = [p for p in (tmp_path / "vault").rglob("*") if p.is_file()]
    assert any(p.name == "jobs.jsonl" for p in files) and len(files) > 4
    for path in files:
        data = path.read_bytes()
        assert not any(v.encode() in data for v in VALUES), path


def test_a_bad_cookies_file_is_a_usage_error(fake_youtube, tmp_path):
    bad = tmp_path / "cookies.txt"
    bad.write_text("SID=abc; HSID=def\n", encoding="utf-8")
    proc = run(fake_youtube, tmp_path, "https://youtu.be/cookiegone1", "--cookies", str(bad))
    assert proc.returncode == 2
    assert "not a Netscape cookies.txt" in proc.stderr and "Traceback" not in proc.stderr
    assert fake_youtube.requests == []
