"""Stage cli: ``--doctor``: one line per check, exit 0 when the essentials hold, 1 otherwise."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

__all__ = ["run_doctor_cli"]


def run_doctor_cli(args: argparse.Namespace, tor_config: Any, out: TextIO) -> int:
    """Run the doctor with the flags given (-o, --engine, --base-url, --model, --tor, --proxy, --cookies) and print it."""
    from yt_study_buddy.doctor import run_doctor

    checks = run_doctor(output=args.output, engine=args.engine, tor=args.tor, tor_config=tor_config,
                        proxy=args.proxy, cookies=args.cookies, base_url=args.base_url, model=args.model)
    for check in checks:
        print(check.line(), file=out)
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        print(f"{len(failed)} problem(s) to fix first: {', '.join(failed)}.", file=out)
        return 1
    warned = sum(c.status == "warn" for c in checks)
    print("The essentials hold" + (f" ({warned} warning(s) above)." if warned else "."), file=out)
    return 0
