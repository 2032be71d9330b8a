"""Proxy URL helpers and ProxyPool, with real requests through a loopback SOCKS5 server."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.fakes.http import LoopbackServer
from tests.fakes.socks import FakeSocks5Server
from yt_study_buddy.errors import InputError
from yt_study_buddy.net.proxy import (
    ProxyPool,
    mask_proxy_url,
    proxy_credentials,
    requests_proxies,
    validate_proxy_url,
    with_credentials,
)

SECRET = "s3cret-pa55"


# --- validate / mask / credentials ------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("socks5h://127.0.0.1:9050", "socks5h://127.0.0.1:9050"),
    ("  SOCKS5://Proxy.Example:1080  ", "socks5://proxy.example:1080"),
    ("http://user:pw@proxy.example:3128/", "http://user:pw@proxy.example:3128"),
    ("https://proxy.example:443", "https://proxy.example:443"),
    ("socks4://10.0.0.1:1080", "socks4://10.0.0.1:1080"),
    ("socks4a://10.0.0.1:1080", "socks4a://10.0.0.1:1080"),
    ("socks5h://[::1]:9050", "socks5h://[::1]:9050"),
])
def test_validate_accepts_supported_schemes(url, expected):
    assert validate_proxy_url(url) == expected


@pytest.mark.parametrize("url, why", [
    ("", "empty"),
    ("   ", "empty"),
    (f"ftp://bob:{SECRET}@proxy.example:21", "scheme"),
    (f"socks5://bob:{SECRET}@proxy.example", "needs a port"),
    (f"http://bob:{SECRET}@proxy.example:0", "needs a port"),
    (f"http://bob:{SECRET}@proxy.example:70000", "port"),
    (f"http://bob:{SECRET}@proxy.example:http", "port"),
    (f"bob:{SECRET}@proxy.example:1080", "scheme"),
    ("socks5://:1080", "no host"),
    (f"http://bob:{SECRET}@proxy.example:3128/some/path", "only scheme://host:port"),
])
def test_validate_rejects_bad_urls_without_showing_the_password(url, why):
    with pytest.raises(InputError) as info:
        validate_proxy_url(url)
    assert why in str(info.value)
    assert SECRET not in str(info.value)
    if url.strip():
        assert "proxy URL" in str(info.value)


def test_rejection_names_the_url():
    with pytest.raises(InputError, match=r"ftp://\*\*\*@proxy.example:21"):
        validate_proxy_url(f"ftp://bob:{SECRET}@proxy.example:21")


@pytest.mark.parametrize("url, shown", [
    (f"socks5h://bob:{SECRET}@proxy.example:1080", "socks5h://***@proxy.example:1080"),
    (f"http://bob@proxy.example:3128", "http://***@proxy.example:3128"),
    ("http://proxy.example:3128", "http://proxy.example:3128"),
    (f"bob:{SECRET}@proxy.example:1080", "***@proxy.example:1080"),
    (f"http://bob:p@ss{SECRET}@proxy.example:1", "http://***@proxy.example:1"),
    ("", ""),
])
def test_mask_hides_user_and_password(url, shown):
    assert mask_proxy_url(url) == shown


def test_with_credentials_replaces_and_quotes():
    url = with_credentials("socks5h://old:creds@127.0.0.1:9050", "user one", "p@ss:w/rd")
    assert url == "socks5h://user%20one:p%40ss%3Aw%2Frd@127.0.0.1:9050"
    assert proxy_credentials(url) == ("user one", "p@ss:w/rd")
    assert with_credentials("http://[::1]:8080", "a", "b") == "http://a:b@[::1]:8080"
    with pytest.raises(InputError):
        with_credentials("gopher://h:1", "a", "b")


def test_requests_proxies_mapping():
    assert requests_proxies(None) is None
    assert requests_proxies("socks5h://127.0.0.1:1") == {
        "http": "socks5h://127.0.0.1:1", "https": "socks5h://127.0.0.1:1"}


# --- ProxyPool -----------------------------------------------------------------


def test_pool_without_proxy_gives_none():
    pool = ProxyPool(None, isolate_per_thread=True)
    assert pool.for_current_thread() is None
    pool.rotate_all()
    assert pool.for_current_thread() is None


def test_pool_without_isolation_shares_the_url():
    pool = ProxyPool("http://proxy.example:3128")
    seen: list[str | None] = []
    thread = threading.Thread(target=lambda: seen.append(pool.for_current_thread()))
    thread.start()
    thread.join()
    assert seen == [pool.for_current_thread()] == ["http://proxy.example:3128"]


def test_pool_rejects_a_bad_url():
    with pytest.raises(InputError):
        ProxyPool("tor://127.0.0.1:9050")


def test_pool_repr_hides_credentials():
    pool = ProxyPool(f"socks5://bob:{SECRET}@proxy.example:1080")
    assert SECRET not in repr(pool)


def test_isolated_pool_is_stable_per_thread_and_distinct_across_threads():
    pool = ProxyPool("socks5h://127.0.0.1:9050", isolate_per_thread=True)
    per_thread: dict[int, list[str]] = {}
    gate = threading.Barrier(6)

    def work(i: int) -> None:
        gate.wait()  # all alive at once, so thread idents are not reused
        per_thread[i] = [pool.for_current_thread() for _ in range(3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(set(urls)) == 1 for urls in per_thread.values())
    users = {proxy_credentials(urls[0])[0] for urls in per_thread.values()}
    assert len(users) == 6
    assert all(url.startswith("socks5h://") and url.endswith("@127.0.0.1:9050")
               for urls in per_thread.values() for url in urls)


def test_rotate_all_gives_every_thread_new_credentials():
    pool = ProxyPool("socks5h://127.0.0.1:9050", isolate_per_thread=True)
    before = pool.for_current_thread()
    pool.rotate_all()
    after = pool.for_current_thread()
    assert after != before
    assert proxy_credentials(after)[0] != proxy_credentials(before)[0]
    assert pool.for_current_thread() == after


def test_two_pools_never_share_usernames():
    a = ProxyPool("socks5h://127.0.0.1:9050", isolate_per_thread=True)
    b = ProxyPool("socks5h://127.0.0.1:9050", isolate_per_thread=True)
    assert proxy_credentials(a())[0] != proxy_credentials(b())[0]


# --- through a real SOCKS5 server ---------------------------------------------


class _Echo:
    """Answers every request with its path and Host header."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def handle(self, handler) -> None:
        with self._lock:
            self.requests.append((handler.path, handler.headers.get("Host", "")))
        handler.send_bytes(200, f"{handler.path} via {handler.headers.get('Host')}".encode())


@pytest.fixture
def echo():
    fake = _Echo()
    with LoopbackServer(fake) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        yield fake, port


def test_socks5h_sends_the_hostname_to_the_proxy(echo):
    fake, port = echo
    with FakeSocks5Server(routes={"www.youtube.com": ("127.0.0.1", port)}) as socks:
        pool = ProxyPool(socks.url("socks5h"))
        # conftest makes resolving www.youtube.com locally an error, so success
        # means the name went to the proxy unresolved.
        answer = requests.get("http://www.youtube.com/watch?v=abc",
                              proxies=requests_proxies(pool.for_current_thread()), timeout=10)
        assert answer.status_code == 200
        assert answer.text == "/watch?v=abc via www.youtube.com"
        (conn,) = socks.connections
        assert (conn.host, conn.port, conn.address_type) == ("www.youtube.com", 80, "domain")
        assert fake.requests == [("/watch?v=abc", "www.youtube.com")]


def test_each_worker_thread_connects_with_its_own_username(echo):
    _, port = echo
    with FakeSocks5Server(default_route=("127.0.0.1", port), require_auth=True) as socks:
        pool = ProxyPool(socks.url("socks5h"), isolate_per_thread=True)
        expected: dict[int, str] = {}
        errors: list[BaseException] = []
        gate = threading.Barrier(4)

        def work(i: int) -> None:
            gate.wait()
            url = pool.for_current_thread()
            expected[i] = proxy_credentials(url)[0]
            try:
                with requests.Session() as session:  # one session per worker, as in the app
                    for n in range(2):
                        session.get(f"http://video-{i}.youtube.example/{n}",
                                    proxies=requests_proxies(url), timeout=10).raise_for_status()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        by_host = {c.host: c.username for c in socks.connections}
        assert set(by_host) == {f"video-{i}.youtube.example" for i in range(4)}
        # every request of worker i went out under worker i's username, and the
        # four workers used four different usernames (four Tor circuits)
        assert all(by_host[f"video-{i}.youtube.example"] == expected[i] for i in range(4))
        assert len(set(expected.values())) == 4
        assert all(c.address_type == "domain" for c in socks.connections)


def test_rotated_credentials_reach_the_proxy(echo):
    _, port = echo
    with FakeSocks5Server(default_route=("127.0.0.1", port)) as socks:
        pool = ProxyPool(socks.url("socks5h"), isolate_per_thread=True)
        requests.get("http://www.youtube.com/a", proxies=requests_proxies(pool()), timeout=10)
        pool.rotate_all()
        requests.get("http://www.youtube.com/b", proxies=requests_proxies(pool()), timeout=10)
        first, second = socks.connections
        assert first.username and second.username and first.username != second.username
        assert first.password != second.password


def test_proxy_that_refuses_the_target_is_an_error_not_a_bypass(echo):
    fake, _ = echo
    with FakeSocks5Server() as socks:  # no routes: domain names are refused
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get("http://www.youtube.com/x",
                         proxies=requests_proxies(socks.url("socks5h")), timeout=10)
        assert [c.accepted for c in socks.connections] == [False]
        assert fake.requests == []


# --- YouTubeClient through the proxy ------------------------------------------------

# A name only the SOCKS server knows: a request that bypassed the proxy would
# have to resolve it locally, which conftest turns into a test failure.
_PROXY_ONLY_HOST = "youtube.fake"


@pytest.fixture
def youtube_behind_socks():
    from tests.fakes.youtube import FakeYouTube

    with FakeYouTube() as fake:
        port = int(fake.base_url.rsplit(":", 1)[1])
        with FakeSocks5Server(routes={_PROXY_ONLY_HOST: ("127.0.0.1", port)},
                              require_auth=True) as socks:
            yield fake, socks


def _client(fake, pool, *, fake_extractor: bool = True):
    from yt_study_buddy.sources.youtube import YouTubeClient

    # The fake's yt-dlp extractor handles watch pages only; playlists use yt-dlp's own.
    extractors = fake.ytdlp_extractors() if fake_extractor else None
    return YouTubeClient(base_url=f"http://{_PROXY_ONLY_HOST}", proxy_for_thread=pool,
                         ytdlp_extractors=extractors, timeout=20)


def test_youtube_client_fetches_through_per_thread_socks5h(youtube_behind_socks):
    fake, socks = youtube_behind_socks
    ids = ["aaaaaaaaaa1", "bbbbbbbbbb2"]
    for n, video_id in enumerate(ids):
        fake.add_video(video_id, title=f"Lecture {n} on proxies")
    pool = ProxyPool(socks.url("socks5h"), isolate_per_thread=True)
    client = _client(fake, pool.for_current_thread)
    users: dict[str, str] = {}
    results: dict[str, tuple] = {}
    errors: list[BaseException] = []
    gate = threading.Barrier(len(ids))

    def work(video_id: str) -> None:
        gate.wait()
        users[video_id] = proxy_credentials(pool.for_current_thread())[0]
        try:
            results[video_id] = (client.fetch_transcript(video_id), client.fetch_metadata(video_id))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(v,)) for v in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    for n, video_id in enumerate(ids):
        transcript, meta = results[video_id]
        assert transcript.segments and meta.title == f"Lecture {n} on proxies"
    assert fake.count("/watch") and fake.count("/api/timedtext") and fake.count("/oembed")
    conns = socks.connections
    assert conns and all(c.accepted and c.host == _PROXY_ONLY_HOST and c.address_type == "domain"
                         for c in conns)
    # each worker's traffic carried its own username: two workers, two circuits
    assert {c.username for c in conns} == set(users.values())
    assert len(set(users.values())) == 2


def test_youtube_client_ytdlp_paths_go_through_the_proxy(youtube_behind_socks):
    fake, socks = youtube_behind_socks
    fake.fail_oembed = True  # metadata falls back to yt-dlp
    fake.add_video("ccccccccc_3", title="Metadata via yt-dlp")
    pool = ProxyPool(socks.url("socks5h"), isolate_per_thread=True)
    meta = _client(fake, pool.for_current_thread).fetch_metadata("ccccccccc_3")
    assert meta.title == "Metadata via yt-dlp"
    assert fake.count("/ytdlp/info")
    user = proxy_credentials(pool.for_current_thread())[0]
    conns = socks.connections
    assert len(conns) >= 2  # the oEmbed attempt and yt-dlp's own connection
    assert all(c.host == _PROXY_ONLY_HOST and c.username == user for c in conns)


def test_playlist_expansion_goes_through_the_proxy(youtube_behind_socks):
    fake, socks = youtube_behind_socks
    ids = ["eeeeeeeeee5", "ffffffffff6"]
    for video_id in ids:
        fake.add_video(video_id, title=f"Part {video_id}")
    fake.add_playlist("PLproxytest1", ids)
    pool = ProxyPool(socks.url("socks5h"), isolate_per_thread=True)
    found = _client(fake, pool, fake_extractor=False).expand_playlist(
        "https://www.youtube.com/playlist?list=PLproxytest1")
    assert found == ids
    conns = socks.connections
    assert conns and all(c.host == _PROXY_ONLY_HOST and c.username for c in conns)


def test_youtube_client_with_a_dead_proxy_fails_without_bypassing_it():
    from tests.fakes.youtube import FakeYouTube
    from yt_study_buddy.errors import NetworkError

    with FakeYouTube() as fake:
        fake.add_video("ddddddddd_4", title="Never fetched")
        with FakeSocks5Server() as socks:
            dead = socks.url("socks5h")
        client = _client(fake, ProxyPool(dead).for_current_thread)
        with pytest.raises(NetworkError):
            client.fetch_metadata("ddddddddd_4")
        assert fake.requests == []


def test_a_proxy_password_is_a_secret_everywhere(tmp_path, caplog):
    """The password in --proxy never reaches a log, an error or the UI, however it is spelled in the URL."""
    import logging

    from yt_study_buddy import YouTubeStudyNotes
    from yt_study_buddy.config import redact

    YouTubeStudyNotes(base_dir=tmp_path / "v", proxy="socks5h://me:p%40ss-word-77@127.0.0.1:1080")
    assert redact("connect p@ss-word-77 / p%40ss-word-77 failed") == "connect *** / *** failed"
    with caplog.at_level(logging.WARNING):
        logging.getLogger("proxy.test").warning("proxy socks5h://me:p%40ss-word-77@127.0.0.1:1080 refused")
    assert "ss-word-77" not in caplog.text and "***" in caplog.text
