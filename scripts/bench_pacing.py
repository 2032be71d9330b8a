#!/usr/bin/env python3
"""Benchmark Claude pacing: requests refused and throughput against the bucket bound, before and after.

The fake Anthropic API (its own process) limits requests, input tokens and
output tokens per minute with token buckets like the real API's and reports
them in ``anthropic-ratelimit-*`` headers. The whole CLI process (start to
exit) turns the same set of 30-minute lectures (local caption files, so
YouTube plays no part) into a fresh vault twice, side by side:

- before: ``YT_STUDY_BUDDY_CLAUDE_PACING=0``: the app only reacts to 429s
  (retry-after, shared backoff, adaptive concurrency), as it did before;
- after: the default: the app waits before a call the buckets can't take.

For each run: Claude requests let through and refused (429), the whole
process's wall time, and the span from the first to the last request let
through beside the bucket bound: the shortest span in which buckets that
start full could let that much through (per bucket: what is beyond its size,
at its refill rate; the largest of the three), also counting, as the API
does, that a call holds its ``max_tokens`` of the output bucket until its
answer is in. Efficiency = that bound / span.
Last, one lecture through the standard API and through ``--batch-api`` gives
the cost of one lecture from the fake's usage accounting and today's prices.

    python scripts/bench_pacing.py                     # the README's numbers (about 3 minutes)
    python scripts/bench_pacing.py --videos 6 --rpm 50 --itpm 30000 --otpm 8000 --latency 2
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
    ["gradient", "descent", "learning", "rate", "loss", "convergence"],
    ["photosynthesis", "chlorophyll", "light", "glucose", "energy", "carbon"],
    ["supply", "demand", "price", "market", "equilibrium", "elasticity"],
    ["recursion", "base", "case", "stack", "function", "induction"],
    ["entropy", "heat", "temperature", "system", "energy", "reversible"],
    ["mitochondria", "respiration", "membrane", "proton", "gradient", "enzyme"],
    ["neural", "network", "layer", "weights", "activation", "backpropagation"],
    ["sorting", "merge", "quick", "pivot", "complexity", "partition"],
]
FILLER = ("so today we will look closely at how {a} relates to {b} and why the {c} matters "
          "when we think about the {d} in practice")


def _stamp(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.000"


def write_lecture(path: Path, topic: list[str], minutes: float, cue_seconds: float = 10.0) -> None:
    """A WebVTT lecture of `minutes`: a cue of some 27 words every 10 s (about 160 words a minute)."""
    lines = ["WEBVTT", ""]
    count = int(minutes * 60 / cue_seconds)
    for n in range(count):
        words = [topic[(n + k) % len(topic)] for k in range(4)]
        text = FILLER.format(a=words[0], b=words[1], c=words[2], d=words[3]) + f" (point {n})"
        lines += [_stamp(n * cue_seconds) + " --> " + _stamp((n + 1) * cue_seconds), text, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _serve(conn, rpm: int | None, itpm: int | None, otpm: int | None, latency: float) -> None:
    """Child process: one fake Anthropic with buckets; answer stats requests over the pipe."""
    from tests.fakes.anthropic import FakeAnthropic

    fake = FakeAnthropic(api_key=None, latency=latency, rpm=rpm, itpm=itpm, otpm=otpm,
                         batch_latency=1.0).start()
    conn.send(fake.base_url)
    while True:
        message = conn.recv()
        if message == "stats":
            b = fake.buckets
            conn.send({"requests": fake.count, "refused": fake.rate_limited, "admitted": b.admitted,
                       "input": b.input_counted, "output": b.output_counted, "limits": b.limits(),
                       "least_unused_hold": min(b.unused_holds, default=0.0),
                       "span": (b.last_admitted - b.first_admitted) if b.first_admitted else 0.0})
        elif message == "stop":
            fake.stop()
            conn.send("stopped")
            return


def bucket_bound(stats: dict, *, held: bool = False) -> float:
    """Shortest span in which full buckets could let through what this run needed (seconds).

    ``held``: count that the API holds a call's max_tokens of the output bucket
    from admission until the answer is in: the last call let through needs its
    whole max_tokens free, so at least (all output used + the smallest
    max_tokens-beyond-use of any call - the bucket's size) must flow in first.
    """
    need = {"requests": stats["admitted"], "input": stats["input"], "output": stats["output"]}
    if held:
        need["output"] += stats["least_unused_hold"]
    bound = 0.0
    for name, limit in stats["limits"].items():
        # The first request is let through at the start of the span: the rest must flow in.
        beyond = need[name] - limit
        bound = max(bound, beyond / (limit / 60.0)) if beyond > 0 else bound
    return bound


def run(args: argparse.Namespace, lectures: Path, pacing: bool, *, limits: bool = True,
        extra: tuple[str, ...] = ()) -> dict:
    """One whole CLI process against a fresh fake; its wall time and the fake's counts."""
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    buckets = (args.rpm, args.itpm, args.otpm) if limits else (None, None, None)
    proc = ctx.Process(target=_serve, args=(child, *buckets, args.latency), daemon=True)
    proc.start()
    if not conn.poll(60):
        raise RuntimeError("the fake did not start")
    base_url = conn.recv()
    env = dict(os.environ)
    env.update(ANTHROPIC_API_KEY="sk-bench-local-fake", ANTHROPIC_BASE_URL=base_url,
               NO_PROXY="127.0.0.1,localhost", YT_STUDY_BUDDY_CLAUDE_PACING="1" if pacing else "0",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-pacing-vault-") as vault:
            cmd = [sys.executable, "-m", "yt_study_buddy.cli", "--file", str(lectures), "-p", "-w",
                   str(args.workers), "--engine", "claude", "--model", args.model, "-o", vault, *extra]
            start = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            conn.send("stats")
            stats = conn.recv()
            cost_lines = [ln for ln in done.stdout.splitlines() if ln.startswith(("Model tokens:", "Tokens:", "Estimated cost"))]
    finally:
        conn.send("stop")
        conn.poll(10)
        proc.join(10)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    stats.update(wall=wall, ok=done.returncode == 0, cost_lines=cost_lines, bound=bucket_bound(stats),
                 held_bound=bucket_bound(stats, held=True))
    return stats


def main(argv: list[str] | None = None) -> int:
    """Run both modes and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=6)
    p.add_argument("--minutes", type=float, default=30.0, help="length of each lecture")
    p.add_argument("--workers", type=int, default=6)
    p.add_argument("--rpm", type=int, default=50, help="requests per minute (Tier 1 Sonnet: 50)")
    p.add_argument("--itpm", type=int, default=30_000, help="input tokens per minute (Tier 1: 30,000)")
    p.add_argument("--otpm", type=int, default=8_000, help="output tokens per minute (Tier 1: 8,000)")
    p.add_argument("--latency", type=float, default=2.0, help="fake Claude seconds per call")
    p.add_argument("--model", default="claude-sonnet-5-5")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-pacing-lectures-") as folder:
        lectures = Path(folder) / "lectures.txt"
        names = []
        for n in range(args.videos):
            path = Path(folder) / f"lecture_{n + 1:02d}.vtt"
            write_lecture(path, TOPICS[n % len(TOPICS)], args.minutes)
            names.append(path.name)
        lectures.write_text("\n".join(names) + "\n", encoding="utf-8")
        print(f"{args.videos} lectures of {args.minutes:g} min, -w {args.workers}, fake Claude "
              f"{args.latency:g}s/call, buckets: {args.rpm} requests, {args.itpm:,} input tokens, "
              f"{args.otpm:,} output tokens per minute", flush=True)
        rows = []
        for name, pacing in (("before (no pacing)", False), ("after (paced)", True)):
            row = run(args, lectures, pacing)
            row["name"] = name
            rows.append(row)
            print(f"  {name}: {row['wall']:.1f}s, {row['refused']} of {row['requests']} refused", flush=True)

    print(f"\n{'run':<20} {'requests':>8} {'refused':>8} {'share':>6} {'wall s':>7} {'span s':>7} "
          f"{'bound s':>7} {'held s':>7} {'efficiency':>10} {'ok':>3}")
    for row in rows:
        share = row["refused"] / row["requests"] * 100 if row["requests"] else 0.0
        efficiency = row["held_bound"] / row["span"] * 100 if row["span"] else 0.0
        print(f"{row['name']:<20} {row['requests']:>8} {row['refused']:>8} {share:>5.1f}% {row['wall']:>7.1f} "
              f"{row['span']:>7.1f} {row['bound']:>7.1f} {row['held_bound']:>7.1f} {efficiency:>9.0f}% "
              f"{'yes' if row['ok'] else 'no':>3}")
    print("bound: tokens used only; held: also max_tokens held while a call runs (the API's way); "
          "efficiency = held / span")
    after = rows[-1]
    print(f"\nLet through: {after['admitted']} requests, {after['input']:,} input tokens counted "
          f"(cache reads are free of the bucket), {after['output']:,} output tokens")
    # The unpaced run may fail videos (that is what it shows); the paced one must not.
    status = 0 if after["ok"] else 1

    # The cost of one lecture, from the fake's usage accounting and the price table.
    with tempfile.TemporaryDirectory(prefix="bench-cost-lecture-") as folder:
        one = Path(folder) / "one.txt"
        write_lecture(Path(folder) / "lecture.vtt", TOPICS[0], args.minutes)
        one.write_text("lecture.vtt\n", encoding="utf-8")
        print(f"\nOne {args.minutes:g}-minute lecture ({args.model}, no rate limits):")
        for name, extra in (("standard API", ()), ("--batch-api", ("--batch-api",))):
            row = run(args, one, True, limits=False, extra=extra)
            status |= 0 if row["ok"] else 1
            print(f"  {name}:")
            for line in row["cost_lines"]:
                print(f"    {line}")
    return status


if __name__ == "__main__":
    sys.exit(main())
