"""--doctor: one line per check against fake YouTube and Anthropic servers, reachable or not, with and without a key."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date

import pytest

from tests.fakes.anthropic import DEFAULT_KEY
from tests.fakes.socks import FakeSocks5Server
from tests.fakes.tor import TOR_TEST_PASSWORD, tor_password  # noqa: F401 - fixture
from tests.guard.loopback import guarded_env
from yt_study_buddy.config import Settings
from yt_study_buddy.doctor import healthy, run_doctor
from yt_study_buddy.sources.youtube import PROBE_VIDEO_ID


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_for(youtube_url, claude=None, key=None):
    return Settings(api_key=key, anthropic_base_url=claude.base_url if claude else None,
                    youtube_base_url=youtube_url)


def by_name(checks):
    return {c.name: c for c in checks}


@pytest.fixture
def reachable(fake_youtube):
    fake_youtube.add_video(PROBE_VIDEO_ID, title="Me at the zoo")
    return fake_youtube


def test_all_good_with_an_accepted_key(reachable, fake_anthropic, tmp_path):
    checks = run_doctor(output=tmp_path / "vault", settings=settings_for(reachable.base_url, fake_anthropic,
                                                                           DEFAULT_KEY))
    found = by_name(checks)
    assert [c.name for c in checks] == ["python", "packages", "yt-dlp", "js runtime", "youtube", "claude", "vault"]
    assert found["youtube"].status == "ok" and "HTTP 200" in found["youtube"].detail
    assert found["claude"].status == "ok" and "accepted" in found["claude"].detail
    assert found["vault"].status == "ok" and not (tmp_path / "vault").exists()
    assert healthy(checks)
    assert [r.path for r in reachable.requests] == ["/oembed"]  # one cheap request
    assert all(DEFAULT_KEY not in c.line() for c in checks)


def test_a_rejected_key_fails_without_being_shown(reachable, fake_anthropic, tmp_path):
    wrong = "sk-ant-wrong-key-for-the-doctor-0123"
    found = by_name(run_doctor(output=tmp_path, settings=settings_for(reachable.base_url, fake_anthropic, wrong)))
    assert found["claude"].status == "fail" and "rejected (HTTP 401)" in found["claude"].detail
    assert "ANTHROPIC_API_KEY" in found["claude"].fix
    assert wrong not in found["claude"].line() and "sk-ant" not in found["claude"].line()


def test_without_a_key_it_warns_unless_claude_is_required(reachable, tmp_path):
    settings = settings_for(reachable.base_url)
    auto = run_doctor(output=tmp_path, settings=settings)
    assert by_name(auto)["claude"].status == "warn" and healthy(auto)
    required = run_doctor(output=tmp_path, settings=settings, engine="claude")
    assert by_name(required)["claude"].status == "fail" and not healthy(required)


def test_unreachable_youtube_and_claude_fail(tmp_path):
    dead = f"http://127.0.0.1:{closed_port()}"
    settings = Settings(api_key=DEFAULT_KEY, anthropic_base_url=dead, youtube_base_url=dead)
    found = by_name(run_doctor(output=tmp_path, settings=settings, timeout=5))
    assert found["youtube"].status == "fail" and "could not reach YouTube" in found["youtube"].detail
    assert "network" in found["youtube"].fix
    assert found["claude"].status == "fail" and "unreachable" in found["claude"].detail


def test_a_blocked_ip_fails_with_what_helps(fake_youtube, tmp_path):
    fake_youtube.add_video(PROBE_VIDEO_ID, title="Me at the zoo", scenario="http_429")
    found = by_name(run_doctor(output=tmp_path, settings=settings_for(fake_youtube.base_url)))
    assert found["youtube"].status == "fail" and "429" in found["youtube"].detail
    assert "--cookies" in found["youtube"].fix


def test_cookies_are_checked_and_sent_with_the_probe(reachable, tmp_path):
    value = "doctor-sid-value-5e2c7a9d81"
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n"
                       f".youtube.com\tTRUE\t/\tTRUE\t{int(time.time()) + 86400}\tSID\t{value}\n"
                       f".youtube.com\tTRUE\t/\tTRUE\t{int(time.time()) - 86400}\tOLD\told-value-123456\n",
                       encoding="utf-8")
    checks = run_doctor(output=tmp_path, settings=settings_for(reachable.base_url), cookies=cookies)
    found = by_name(checks)
    assert found["cookies"].status == "warn" and "2 cookies" in found["cookies"].detail
    assert "1 of them expired" in found["cookies"].detail
    assert "with your cookies" in found["youtube"].detail
    assert f"SID={value}" in reachable.requests[0].headers.get("Cookie", "")
    assert all(value not in c.line() for c in checks)


def test_a_bad_cookies_file_fails(reachable, tmp_path):
    bad = tmp_path / "cookies.txt"
    bad.write_text("SID=abc\n", encoding="utf-8")
    found = by_name(run_doctor(output=tmp_path, settings=settings_for(reachable.base_url), cookies=bad))
    assert found["cookies"].status == "fail" and "Netscape" in found["cookies"].detail


def test_the_probe_goes_through_the_proxy_and_hides_its_password(reachable, tmp_path):
    port = int(reachable.base_url.rsplit(":", 1)[1])
    with FakeSocks5Server(default_route=("127.0.0.1", port), require_auth=True) as socks:
        proxy = f"socks5h://user:proxy-pass-77a1@127.0.0.1:{socks.port}"
        checks = run_doctor(output=tmp_path, settings=settings_for("http://youtube.fake"), proxy=proxy)
        assert [c.host for c in socks.connections] == ["youtube.fake"]
    found = by_name(checks)
    assert found["youtube"].status == "ok" and "through socks5h://***@127.0.0.1" in found["youtube"].detail
    assert all("proxy-pass-77a1" not in c.line() for c in checks)


@pytest.mark.tor
def test_tor_control_port_and_the_probe_through_tors_socks_port(reachable, tor_password, tmp_path):
    from yt_study_buddy.net.tor import TorConfig

    port = int(reachable.base_url.rsplit(":", 1)[1])
    with FakeSocks5Server(default_route=("127.0.0.1", port), require_auth=True) as socks:
        config = TorConfig(control_port=tor_password.control_port, socks_port=socks.port,
                           password=TOR_TEST_PASSWORD)
        found = by_name(run_doctor(output=tmp_path, settings=settings_for("http://youtube.fake"),
                                   tor=True, tor_config=config))
        assert socks.connections and socks.connections[0].username  # a per-worker Tor identity
    assert found["tor"].status == "ok"
    assert found["youtube"].status == "ok" and "through Tor" in found["youtube"].detail


def test_tor_down_fails_and_skips_the_probe(fake_youtube, tmp_path):
    from yt_study_buddy.net.tor import TorConfig

    config = TorConfig(control_port=closed_port(), socks_port=closed_port())
    found = by_name(run_doctor(output=tmp_path, settings=settings_for(fake_youtube.base_url),
                               tor=True, tor_config=config, timeout=5))
    assert found["tor"].status == "fail" and "ControlPort" in found["tor"].fix
    assert found["youtube"].status == "fail" and fake_youtube.requests == []


def test_an_old_ytdlp_is_a_warning_saying_how_to_upgrade(reachable, tmp_path):
    found = by_name(run_doctor(output=tmp_path, settings=settings_for(reachable.base_url),
                               today=date(2031, 1, 1)))
    assert found["yt-dlp"].status == "warn" and "days old" in found["yt-dlp"].detail
    assert "pip install -U 'yt-dlp[default]'" in found["yt-dlp"].fix


def test_a_file_as_vault_fails(reachable, tmp_path):
    target = tmp_path / "notes.md"
    target.write_text("not a folder", encoding="utf-8")
    found = by_name(run_doctor(output=target, settings=settings_for(reachable.base_url)))
    assert found["vault"].status == "fail" and "is a file" in found["vault"].detail
    assert list(tmp_path.iterdir()) == [target]


def test_an_existing_vault_is_checked_as_a_batch_would_and_left_clean(reachable, tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    found = by_name(run_doctor(output=vault, settings=settings_for(reachable.base_url)))
    assert found["vault"].status == "ok" and "writable" in found["vault"].detail
    # A check leaves no vault behind: a later run on tmp_path must not see one "below it".
    assert list(vault.iterdir()) == []
    (vault / ".study-buddy").mkdir()
    (vault / ".study-buddy" / "index.json").write_text("{}", encoding="utf-8")
    assert by_name(run_doctor(output=vault, settings=settings_for(reachable.base_url)))["vault"].status == "ok"
    assert (vault / ".study-buddy" / "index.json").read_text(encoding="utf-8") == "{}"  # a real vault is kept
    assert not [p for p in vault.rglob("*") if p.name.endswith(".tmp")]


def test_a_folder_holding_other_vaults_fails(reachable, tmp_path):
    (tmp_path / "course-a" / ".study-buddy").mkdir(parents=True)
    found = by_name(run_doctor(output=tmp_path, settings=settings_for(reachable.base_url)))
    assert found["vault"].status == "fail" and "holds other vaults" in found["vault"].detail


def _cli(tmp_path, env, *args):
    # Reports which LLM SDKs the doctor imported, after it ran in this very process.
    code = ("import sys; from yt_study_buddy.cli.command import main; rc = main(sys.argv[1:]); "
            "print('SDKS', sorted(m for m in ('anthropic', 'openai') if m in sys.modules)); sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, "--doctor", "-o", str(tmp_path / "vault"), *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


def test_cli_exit_codes_one_line_per_check_and_no_llm_sdk(reachable, fake_anthropic, tmp_path):
    env = guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=reachable.base_url, ANTHROPIC_BASE_URL=fake_anthropic.base_url,
                      ANTHROPIC_API_KEY=DEFAULT_KEY)
    good = _cli(tmp_path, env)
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.splitlines()
    statuses = [line.split()[0] for line in lines[:7]]
    # the JS runtime depends on the machine: ok with one, a warning without
    assert statuses[:3] == ["ok"] * 3 and statuses[3] in ("ok", "warn") and statuses[4:] == ["ok"] * 3
    assert "The essentials hold" in lines[7] and "SDKS []" in lines[8]
    assert DEFAULT_KEY not in good.stdout + good.stderr
    env["YT_STUDY_BUDDY_YOUTUBE_URL"] = f"http://127.0.0.1:{closed_port()}"
    bad = _cli(tmp_path, env)
    assert bad.returncode == 1 and "fail  youtube:" in bad.stdout and "problem(s) to fix first: youtube" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr
