#!/usr/bin/env python3
"""Benchmark one long lecture at 1 and at N workers: the whole CLI process against the local fakes.

A 3-hour fake YouTube video (six topics taking turns every 15 minutes, no
chapters) is processed with ``-p -w 1`` and with ``-p -w N`` into fresh
vaults, side by side in one invocation. The fakes run in a separate process
so their work does not compete with the app for the GIL; the fake Claude
answers each call after a fixed latency plus a time per 1,000 output tokens,
as a real model takes longer for a longer answer. The table shows each run's
wall time from process start to exit, the Claude calls made and the most at
once, and the N-worker time as a share of the 1-worker time.

    python scripts/bench_long.py                     # the README's numbers
    python scripts/bench_long.py --workers 4 --minutes 180 --claude-latency 1.5 --per-1k-output 4
    python scripts/bench_long.py --show-note         # also print the note the last run wrote
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

VIDEO_ID = "longlect180"


def _serve(conn, minutes: float, yt_latency: float, claude_latency: float, per_1k: float) -> None:
    """Child process: run both fakes with one long lecture; answer stats requests over the pipe."""
    from tests.fakes.anthropic import FakeAnthropic
    from tests.fakes.youtube import LECTURE_TOPICS, FakeYouTube, make_lecture

    youtube = FakeYouTube(latency=yt_latency).start()
    youtube.add_video(VIDEO_ID, title=f"A {minutes / 60:g}-Hour Lecture", channel="Bench Channel",
                      segments=make_lecture(LECTURE_TOPICS, minutes))
    claude = FakeAnthropic(api_key=None, latency=claude_latency, latency_per_1k_output=per_1k).start()
    conn.send({"youtube": youtube.base_url, "anthropic": claude.base_url})
    while (message := conn.recv()) != "stop":
        if message == "stats":
            conn.send({"calls": claude.count, "peak": claude.peak_concurrency})
            claude.reset_peak()
    youtube.stop()
    claude.stop()
    conn.send("stopped")


def run_cli(info: dict, workers: int, vault: str) -> tuple[float, bool, str]:
    """Run the whole CLI process on the lecture with -p -w N; return (wall seconds, ok, output)."""
    env = dict(os.environ)
    env.update(ANTHROPIC_API_KEY="sk-bench-local-fake", ANTHROPIC_BASE_URL=info["anthropic"],
               YT_STUDY_BUDDY_YOUTUBE_URL=info["youtube"], NO_PROXY="127.0.0.1,localhost",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "yt_study_buddy.cli", f"https://youtu.be/{VIDEO_ID}", "-p", "-w", str(workers),
           "--delay", "0", "--engine", "claude", "-o", vault]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode == 0, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=4, help="worker count compared with 1")
    p.add_argument("--minutes", type=float, default=180, help="length of the lecture")
    p.add_argument("--yt-latency", type=float, default=0.1, help="fake YouTube seconds per request")
    p.add_argument("--claude-latency", type=float, default=1.5, help="fake Claude seconds per call")
    p.add_argument("--per-1k-output", type=float, default=4.0,
                   help="fake Claude seconds per 1,000 output tokens, on top of --claude-latency")
    p.add_argument("--show-note", action="store_true", help="print the note the last run wrote")
    args = p.parse_args(argv)

    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, args.minutes, args.yt_latency, args.claude_latency,
                                               args.per_1k_output), daemon=True)
    server.start()
    if not conn.poll(60):
        print("the fake servers did not start", file=sys.stderr)
        return 1
    info = conn.recv()
    print(f"one {args.minutes:g}-minute lecture, YouTube {args.yt_latency}s/request, Claude "
          f"{args.claude_latency}s + {args.per_1k_output}s per 1k output tokens per call")
    rows = []
    note = ""
    try:
        for workers in (1, args.workers):
            with tempfile.TemporaryDirectory(prefix="bench-long-vault-") as vault:
                conn.send("stats")
                before = conn.recv()
                wall, ok, output = run_cli(info, workers, vault)
                conn.send("stats")
                after = conn.recv()
                if not ok:
                    print(output[-3000:], file=sys.stderr)
                notes = [p for p in Path(vault).rglob("*.md") if "Assessment" not in p.name]
                if notes:
                    note = notes[0].read_text(encoding="utf-8")
                parts = sum(1 for line in note.splitlines() if line.startswith("## Part "))
            rows.append({"workers": workers, "wall": wall, "ok": ok, "calls": after["calls"] - before["calls"],
                         "peak": after["peak"], "parts": parts})
            print(f"  -p -w {workers}: {wall:.1f}s, {'ok' if ok else 'FAILED'}", flush=True)
    finally:
        conn.send("stop")
        conn.poll(10)
        server.join(10)
    base = rows[0]["wall"]
    print(f"\n{'workers':>7} {'wall s':>7} {'share of 1 worker':>17} {'speedup':>8} {'parts':>5} "
          f"{'Claude calls':>12} {'most at once':>12}")
    for row in rows:
        print(f"{row['workers']:>7} {row['wall']:>7.1f} {row['wall'] / base * 100:>16.0f}% "
              f"{base / row['wall']:>7.2f}x {row['parts']:>5} {row['calls']:>12} {row['peak']:>12}")
    if args.show_note:
        print("\n" + note)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
