"""--doctor with --engine openai: the model server is asked whether it runs and serves the model."""

from __future__ import annotations

from tests.fakes.openai_compat import FakeOpenAICompat
from tests.test_doctor import by_name, closed_port, reachable  # noqa: F401 - fixture
from yt_study_buddy.config import Settings
from yt_study_buddy.doctor import healthy, run_doctor


def checks_for(youtube, tmp_path, **kwargs):
    settings = Settings(youtube_base_url=youtube.base_url, openai_base_url=kwargs.pop("server", None),
                        openai_api_key=kwargs.pop("key", None))
    return run_doctor(output=tmp_path / "vault", settings=settings, **kwargs)


def test_a_running_server_with_the_model_is_ok_and_replaces_the_claude_line(reachable, fake_openai, tmp_path):
    checks = checks_for(reachable, tmp_path, server=fake_openai.base_url, model="llama3.2")
    found = by_name(checks)
    assert "claude" not in found and healthy(checks)
    assert found["model server"].status == "ok" and "serves llama3.2" in found["model server"].detail
    assert fake_openai.paths == ["GET /v1/models"]  # one request, no generation


def test_no_server_running_says_how_to_start_one(reachable, tmp_path):
    checks = checks_for(reachable, tmp_path, engine="openai", base_url=f"http://127.0.0.1:{closed_port()}/v1",
                        model="llama3.2")
    check = by_name(checks)["model server"]
    assert check.status == "fail" and "ollama serve" in check.fix and not healthy(checks)


def test_an_unknown_model_lists_the_servers_and_a_rejected_key_is_not_shown(reachable, tmp_path):
    key = "sk-doctor-secret-key-0123456789abcdef"
    fake = FakeOpenAICompat(models=("qwen2.5:7b", "mistral:latest"), api_key=key).start()
    try:
        unknown = by_name(checks_for(reachable, tmp_path, server=fake.base_url, key=key, model="llama3"))
        assert unknown["model server"].status == "fail"
        assert "no model 'llama3'; it has: mistral:latest, qwen2.5:7b" in unknown["model server"].detail
        wrong = "sk-doctor-wrong-key-0123456789abcdef"
        rejected = by_name(checks_for(reachable, tmp_path, server=fake.base_url, key=wrong, model="qwen2.5:7b"))
        assert rejected["model server"].status == "fail" and "OPENAI_API_KEY" in rejected["model server"].fix
        assert wrong not in rejected["model server"].line()
    finally:
        fake.stop()
