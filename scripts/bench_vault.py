#!/usr/bin/env python3
"""Benchmark a vault that grows all semester: add one lecture, re-run everything, whole CLI process.

Generates lectures as local caption files (no network, offline engine): courses
of 30 lectures, each course with its own terms, a pool of words every course
uses, and two terms new to each lecture. A vault of N notes is built the way a
semester builds it, one course per run (not timed). Then each figure is one
whole ``youtube-study-buddy`` process, start to exit:

    add one     one new lecture of the first course (median of --repeat runs, each on a fresh copy)
    re-run all  the whole list again: every lecture already has its note
    relink      ``--relink`` alone: every note linked again (the full pass)

and, inside one process, what the web Library does: its first load of the
vault (the index, verified by stat), a rerun (cached), and drawing the middle
note's neighbourhood.

    python scripts/bench_vault.py                           # the README's numbers
    python scripts/bench_vault.py --sizes 30,300 --repeat 3
    python scripts/bench_vault.py --src /path/to/other/checkout/src   # another version, side by side
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PER_COURSE = 30
SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "do", "la", "zu", "fe", "gi", "xo", "bra", "ten",
             "mor", "sil", "qua", "dex", "lum", "par", "cin"]
SHARED = ["energy", "model", "system", "process", "structure", "function", "equilibrium", "gradient", "network",
          "signal", "pressure", "rate", "cycle", "field", "pattern", "balance", "flow", "memory", "feedback",
          "boundary", "density", "frequency", "resistance", "stability", "symmetry", "variance", "sample",
          "hypothesis", "evidence", "theory"]
TEMPLATES = [
    "Today we look at the {a} and how it shapes the {b}.",
    "The {a} depends on the {b}, which is why the {c} matters.",
    "When the {a} changes, the {b} follows, and we call that the {c}.",
    "Remember that {a} is not the same thing as {b}.",
    "A good example of {a} is the {b} we saw last week.",
    "So the key idea is {a}: without it the {b} makes no sense.",
    "Let me write {a} on the board next to {b} and {c}.",
    "Most students confuse {a} with {b} at first.",
]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def term(rng: random.Random) -> str:
    return word(rng) if rng.random() < 0.6 else f"{word(rng)} {word(rng)}"


def lecture(index: int, rng: random.Random, courses: dict[int, list[str]]) -> tuple[str, str]:
    """Return (title, caption text) of lecture number index."""
    course = index // PER_COURSE
    terms = courses.setdefault(course, [term(rng) for _ in range(40)])
    own = [term(rng), term(rng)]
    focus = rng.sample(terms, 10) + rng.sample(SHARED, 3) + own
    lines, start = [], 0.0
    for n in range(120):
        a, b, c = rng.choice(focus), rng.choice(focus), rng.choice(focus)
        text = rng.choice(TEMPLATES).format(a=a, b=b, c=c)
        lines.append(f"{n + 1}\n{_stamp(start)} --> {_stamp(start + 4.5)}\n{text}\n")
        start += 5.0
    title = f"Course {course + 1} lecture {index + 1}: {own[0]} and {focus[0]}"
    return title, f"Title: {title}\n\n" + "\n".join(lines)


def _stamp(seconds: float) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}".replace(".", ",")


def make_lectures(folder: Path, count: int, extra: int, seed: int = 1) -> tuple[list[Path], list[Path]]:
    """Write count caption files (course by course), then extra new lectures of the first course."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    courses: dict[int, list[str]] = {}
    paths, new = [], []
    for i in range(count):
        _, text = lecture(i, rng, courses)
        paths.append(folder / f"lecture{i:05d}.srt")
        paths[-1].write_text(text, encoding="utf-8")
    for i in range(extra):
        _, text = lecture(0, rng, courses)
        new.append(folder / f"new{i}.srt")
        new[-1].write_text(text.replace("Title: ", f"Title: New {i}: ", 1), encoding="utf-8")
    return paths, new


def cli(src: Path, *args: str) -> float:
    """Run one whole CLI process; return its wall time in seconds."""
    env = {**os.environ, "PYTHONPATH": str(src), "ANTHROPIC_API_KEY": ""}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "yt_study_buddy.cli", "--engine", "offline", *args],
                          capture_output=True, text=True, env=env, timeout=3600)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"CLI failed ({proc.returncode}): {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def write_list(path: Path, items: list[Path]) -> Path:
    path.write_text("".join(f"{p}\n" for p in items), encoding="utf-8")
    return path


def build(src: Path, vault: Path, lectures: list[Path], work: Path) -> float:
    """Build a vault one course per run; return the total time."""
    total = 0.0
    for start in range(0, len(lectures), PER_COURSE):
        chunk = lectures[start:start + PER_COURSE]
        listed = write_list(work / "course.txt", chunk)
        total += cli(src, "-o", str(vault), "--subject", f"Course {start // PER_COURSE + 1}", "--file", str(listed))
    return total


def supports_relink(src: Path) -> bool:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-m", "yt_study_buddy.cli", "--help"], capture_output=True, text=True,
                         env=env, timeout=120).stdout
    return "--relink" in out


LIBRARY = """
import sys, time
from yt_study_buddy.webui.library import build_graph_dot, load_library, neighbourhood
t0 = time.perf_counter(); lib = load_library(sys.argv[1]); t1 = time.perf_counter()
load_library(sys.argv[1]); t2 = time.perf_counter()
note = lib.notes[len(lib.notes) // 2]
build_graph_dot(neighbourhood(lib, note.video_id), focus=note.video_id, universe=lib); t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def library_times(src: Path, vault: Path) -> list[float]:
    """(first load, cached rerun, neighbourhood graph) of the web Library, in seconds."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", LIBRARY, str(vault)], capture_output=True, text=True, env=env,
                         timeout=600, check=True).stdout
    return [float(x) for x in out.split()]


def measure(src: Path, size: int, lectures: list[Path], extra: list[Path], work: Path, repeat: int) -> dict:
    vault = work / f"vault-{size}"
    built = build(src, vault, lectures[:size], work)
    adds = []
    for i in range(repeat):
        copy = work / f"copy-{size}-{i}"
        shutil.copytree(vault, copy, symlinks=True)
        adds.append(cli(src, "-o", str(copy), "--subject", "Course 1", str(extra[i])))
        shutil.rmtree(copy)
    listed = write_list(work / "all.txt", lectures[:size])
    reruns = [cli(src, "-o", str(vault), "--file", str(listed)) for _ in range(repeat)]
    relink = cli(src, "-o", str(vault), "--relink") if supports_relink(src) else None
    try:
        library = library_times(src, vault)
    except subprocess.CalledProcessError:
        library = None  # a version without the index-based Library
    shutil.rmtree(vault)
    return {"size": size, "build": built, "add": statistics.median(adds), "adds": adds,
            "rerun": statistics.median(reruns), "reruns": reruns, "relink": relink, "library": library}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="30,300,3000", help="vault sizes (notes), comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the package source to run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-vault-"))
    try:
        lectures, extra = make_lectures(work / "captions", max(sizes), args.repeat)
        rows = []
        for size in sizes:
            row = measure(args.src.resolve(), size, lectures, extra, work, args.repeat)
            rows.append(row)
            print(f"# {size} notes: build {row['build']:.1f} s, add {row['adds']}, re-run {row['reruns']}, "
                  f"relink {row['relink']}, library {row['library']}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0]
    print(f"source: {args.src}; python {sys.version.split()[0]}; {os.cpu_count()} cores; median of {args.repeat}")
    print("| notes | add one lecture | vs smallest | re-run all | relink all (--relink) "
          "| Library: first load / rerun / neighbourhood |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        relink = f"{row['relink']:.2f} s" if row["relink"] is not None else "n/a"
        lib = " / ".join(f"{t * 1000:.0f} ms" for t in row["library"]) if row["library"] else "n/a"
        print(f"| {row['size']} | {row['add']:.2f} s | {row['add'] / base['add']:.2f}x | {row['rerun']:.2f} s "
              f"| {relink} | {lib} |")
    print("build times (one run per course of 30, not part of the figures): "
          + ", ".join(f"{row['size']} notes {row['build']:.0f} s" for row in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
