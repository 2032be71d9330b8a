#!/usr/bin/env python3
"""Benchmark batch processing at several worker counts against the local fakes.

The fake YouTube and fake Anthropic servers run in a separate process (so their
work does not compete with the app for the GIL) with configurable latency and
limits. Each batch runs twice into a fresh vault: as the whole CLI process, from
start to exit, as a user feels it (``youtube-study-buddy -p -w N ...``), and
in-process through the library API, side by side. The table shows both wall
times, speedups against 1 worker and efficiency against the ideal speedup
(min(workers, videos)); then the CLI re-running the finished batch. A second scenario caps the fake Claude at a few
concurrent requests (429 with retry-after beyond) and reports how many requests
were refused.

    python scripts/bench_parallel.py                      # the README's numbers
    python scripts/bench_parallel.py --workers 1,3,6 --videos 12 --claude-latency 2.5
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

TOPICS = [
    ["neural", "network", "layer", "weights", "activation"],
    ["gradient", "descent", "learning", "rate", "loss"],
    ["photosynthesis", "chlorophyll", "light", "glucose", "energy"],
    ["supply", "demand", "price", "market", "equilibrium"],
    ["recursion", "base", "case", "stack", "function"],
    ["entropy", "heat", "temperature", "system", "energy"],
]


def _serve(conn, videos: int, yt_latency: float, claude_latency: float,
           claude_max_concurrent: int | None, retry_after: float) -> None:
    """Child process: run both fakes and answer stats requests over the pipe."""
    from tests.fakes.anthropic import FakeAnthropic
    from tests.fakes.youtube import FakeYouTube, make_segments

    youtube = FakeYouTube(latency=yt_latency).start()
    ids = []
    for i in range(videos):
        video_id = f"bench{i:06d}"
        youtube.add_video(video_id, title=f"Benchmark Lecture {i + 1}", channel="Bench Channel",
                          segments=make_segments(TOPICS[i % len(TOPICS)], 120))
        ids.append(video_id)
    claude = FakeAnthropic(api_key=None, latency=claude_latency, max_concurrent=claude_max_concurrent,
                           retry_after=retry_after).start()
    conn.send({"youtube": youtube.base_url, "anthropic": claude.base_url, "ids": ids})
    while True:
        message = conn.recv()
        if message == "stats":
            conn.send({"claude_requests": claude.count, "claude_429": claude.rate_limited,
                       "claude_peak": claude.peak_concurrency,
                       "youtube_requests": len(youtube.requests), "youtube_peak": youtube.peak_concurrency})
        elif message == "stop":
            youtube.stop()
            claude.stop()
            conn.send("stopped")
            return


class Fakes:
    """Handle on the fakes' process."""

    def __init__(self, **options):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), kwargs=options, daemon=True)
        self._proc.start()
        if not self._conn.poll(60):
            raise RuntimeError("the fake servers did not start")
        self.info = self._conn.recv()

    def stats(self) -> dict:
        self._conn.send("stats")
        return self._conn.recv()

    def close(self) -> None:
        self._conn.send("stop")
        self._conn.poll(10)
        self._proc.join(10)


def run_batch(fakes: Fakes, workers: int, delay: float, assessments: bool = True) -> dict:
    """Process every fake video once into a fresh vault; return timings and counts."""
    from yt_study_buddy import YouTubeStudyNotes
    from yt_study_buddy.config import Settings

    settings = Settings(api_key="sk-bench-local-fake", anthropic_base_url=fakes.info["anthropic"],
                        youtube_base_url=fakes.info["youtube"])
    urls = [f"https://youtu.be/{i}" for i in fakes.info["ids"]]
    before = fakes.stats()
    with tempfile.TemporaryDirectory(prefix="bench-vault-") as vault:
        app = YouTubeStudyNotes(base_dir=vault, parallel=workers > 1, max_workers=workers, delay=delay,
                                engine="claude", settings=settings, generate_assessments=assessments)
        start = time.perf_counter()
        report = app.process_urls(urls)
        wall = time.perf_counter() - start
        app.close()
    after = fakes.stats()
    failures = [r for r in report.results if not r.success]
    return {
        "workers": workers, "wall": wall, "ok": len(report.results) - len(failures),
        "failed": len(failures), "errors": sorted({r.error or "" for r in failures}),
        "claude_requests": after["claude_requests"] - before["claude_requests"],
        "claude_429": after["claude_429"] - before["claude_429"],
    }


def cli_env(fakes: Fakes) -> dict[str, str]:
    """The environment that points the CLI at the fakes."""
    env = dict(os.environ)
    env.update(ANTHROPIC_API_KEY="sk-bench-local-fake", ANTHROPIC_BASE_URL=fakes.info["anthropic"],
               YT_STUDY_BUDDY_YOUTUBE_URL=fakes.info["youtube"], NO_PROXY="127.0.0.1,localhost",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    return env


def run_cli(fakes: Fakes, workers: int, delay: float, vault: str) -> dict:
    """Run the whole CLI process on every fake video; return its wall time from start to exit."""
    urls = [f"https://youtu.be/{i}" for i in fakes.info["ids"]]
    flags = ["-p", "-w", str(workers)] if workers > 1 else []
    cmd = [sys.executable, "-m", "yt_study_buddy.cli", *urls, *flags, "--delay", str(delay),
           "--engine", "claude", "-o", vault]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=cli_env(fakes), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
    return {"workers": workers, "wall": wall, "ok": proc.returncode == 0}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=12)
    p.add_argument("--workers", default="1,3,6", help="comma-separated worker counts (1 is the baseline)")
    p.add_argument("--yt-latency", type=float, default=0.1, help="fake YouTube seconds per request")
    p.add_argument("--claude-latency", type=float, default=2.5, help="fake Claude seconds per call")
    p.add_argument("--delay", type=float, default=0.25, help="the app's --delay")
    p.add_argument("--limited-workers", type=int, default=8, help="workers for the rate-limited scenario")
    p.add_argument("--claude-max-concurrent", type=int, default=2,
                   help="fake Claude concurrency cap for the rate-limited scenario (0 = skip it)")
    p.add_argument("--retry-after", type=float, default=1.0)
    args = p.parse_args(argv)
    counts = sorted({int(w) for w in args.workers.split(",")} | {1})

    print(f"{args.videos} videos, YouTube {args.yt_latency}s/request, Claude {args.claude_latency}s/call, "
          f"--delay {args.delay}")
    fakes = Fakes(videos=args.videos, yt_latency=args.yt_latency, claude_latency=args.claude_latency,
                  claude_max_concurrent=None, retry_after=args.retry_after)
    rows, procs = [], []
    rerun = None
    try:
        for workers in counts:
            with tempfile.TemporaryDirectory(prefix="bench-cli-vault-") as vault:
                proc = run_cli(fakes, workers, args.delay, vault)
                if workers == counts[-1]:
                    rerun = run_cli(fakes, workers, args.delay, vault)
            procs.append(proc)
            row = run_batch(fakes, workers, args.delay)
            rows.append(row)
            print(f"  ran {workers} worker(s): CLI process {proc['wall']:.1f}s, in-process {row['wall']:.1f}s, "
                  f"{row['ok']} ok, {row['failed']} failed", flush=True)
    finally:
        fakes.close()
    base, pbase = rows[0]["wall"], procs[0]["wall"]
    print(f"\n{'workers':>7} {'CLI s':>7} {'CLI speedup':>11} {'in-proc s':>9} {'in-proc speedup':>15} "
          f"{'ideal':>6} {'CLI efficiency':>14} {'failed':>6}")
    for row, proc in zip(rows, procs):
        speedup, pspeedup = base / row["wall"], pbase / proc["wall"]
        ideal = min(row["workers"], args.videos)
        print(f"{row['workers']:>7} {proc['wall']:>7.1f} {pspeedup:>10.2f}x {row['wall']:>9.1f} {speedup:>14.2f}x "
              f"{ideal:>5}x {pspeedup / ideal * 100:>13.0f}% {row['failed']:>6}")
    if rerun is not None:
        print(f"\nCLI re-run of the finished batch ({args.videos} videos, all already in the vault): "
              f"{rerun['wall']:.2f}s")
    status = 0 if all(r["failed"] == 0 for r in rows) and all(p["ok"] for p in procs) else 1

    if args.claude_max_concurrent:
        print(f"\nRate-limited Claude: at most {args.claude_max_concurrent} concurrent requests "
              f"(429, retry-after {args.retry_after}s beyond), {args.limited_workers} workers")
        fakes = Fakes(videos=args.videos, yt_latency=args.yt_latency, claude_latency=args.claude_latency,
                      claude_max_concurrent=args.claude_max_concurrent, retry_after=args.retry_after)
        try:
            row = run_batch(fakes, args.limited_workers, args.delay)
        finally:
            fakes.close()
        share = row["claude_429"] / row["claude_requests"] * 100 if row["claude_requests"] else 0.0
        print(f"  wall {row['wall']:.1f}s, {row['ok']}/{args.videos} videos ok, "
              f"{row['claude_429']} of {row['claude_requests']} Claude requests got 429 ({share:.1f}%)")
        for error in row["errors"]:
            print(f"  error: {error}")
        if row["failed"]:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
