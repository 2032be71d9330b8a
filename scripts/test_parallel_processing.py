#!/usr/bin/env python3
"""Integration check: fetch transcripts and titles sequentially, then in parallel, and compare.

By default it runs against the local fake YouTube server (no network needed);
``--real`` talks to real YouTube instead (needs internet; YouTube may rate-limit).

    python scripts/test_parallel_processing.py
    python scripts/test_parallel_processing.py --workers 5 --latency 0.3
    python scripts/test_parallel_processing.py --real
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from yt_study_buddy.errors import StudyBuddyError  # noqa: E402
from yt_study_buddy.batch.limits import StartSpacer  # noqa: E402
from yt_study_buddy.batch.pool import ParallelVideoProcessor, ProcessingResult  # noqa: E402

REAL_URLS = [
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com/watch?v=9bZkp7q19f0",
    "https://www.youtube.com/watch?v=jNQXAC9IVRw",
]


def make_job(client, spacer: StartSpacer):
    """Return a function that fetches one video's transcript and title."""
    from yt_study_buddy.sources.urls import parse_video_id

    def process_video(url: str) -> ProcessingResult:
        start = time.perf_counter()
        video_id = parse_video_id(url)
        try:
            spacer.wait()
            transcript = client.fetch_transcript(video_id)
            meta = client.fetch_metadata(video_id)
            return ProcessingResult(url=url, video_id=video_id, success=True, title=meta.title,
                                    method=transcript.method, duration_seconds=time.perf_counter() - start)
        except StudyBuddyError as exc:
            return ProcessingResult(url=url, video_id=video_id, success=False, error=exc.reason,
                                    retryable=exc.retryable, duration_seconds=time.perf_counter() - start)

    return process_video


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; exit 1 if any fetch failed or the results differ."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", action="store_true", help="use real YouTube (needs internet)")
    p.add_argument("--videos", type=int, default=9, help="fake videos to serve (ignored with --real)")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--latency", type=float, default=0.2, help="fake YouTube seconds per request")
    p.add_argument("--delay", type=float, default=0.0, help="spacing between video starts")
    args = p.parse_args(argv)

    from yt_study_buddy.sources.youtube import YouTubeClient

    fake = None
    if args.real:
        urls, base_url = REAL_URLS, None
    else:
        from tests.fakes.youtube import FakeYouTube, make_segments

        fake = FakeYouTube(latency=args.latency).start()
        urls = []
        for i in range(args.videos):
            video_id = f"integ{i:06d}"
            fake.add_video(video_id, title=f"Integration Video {i + 1}",
                           segments=make_segments(["topic", f"word{i}", "lecture"], 40))
            urls.append(f"https://www.youtube.com/watch?v={video_id}")
        base_url = fake.base_url
    try:
        print(f"Sequential: {len(urls)} videos")
        client = YouTubeClient(base_url=base_url)
        job = make_job(client, StartSpacer(args.delay))
        start = time.perf_counter()
        sequential = [job(u) for u in urls]
        sequential_time = time.perf_counter() - start
        print(f"  {sequential_time:.2f}s")

        print(f"Parallel: {args.workers} workers")
        client = YouTubeClient(base_url=base_url)
        processor = ParallelVideoProcessor(max_workers=args.workers, rate_limit_delay=0,
                                           progress_callback=lambda s, c, t: print(f"  [{c}/{t}] {s}"))
        start = time.perf_counter()
        parallel = processor.process_videos_parallel(urls, make_job(client, StartSpacer(args.delay)))
        parallel_time = time.perf_counter() - start
    finally:
        if fake is not None:
            fake.stop()

    print("=" * 50)
    print(f"Sequential: {sequential_time:.2f}s   Parallel: {parallel_time:.2f}s   "
          f"Speedup: {sequential_time / parallel_time:.2f}x")
    same = [(s.success, s.title, s.method) for s in sequential] == [(r.success, r.title, r.method) for r in parallel]
    print(f"Same results: {'yes' if same else 'NO'}")
    for result in parallel:
        if not result.success:
            print(f"  FAILED {result.url}: {result.error}")
    return 0 if same and all(r.success for r in parallel) else 1


if __name__ == "__main__":
    sys.exit(main())
