"""``ullc-harness connect``: place calls against a target and print what they measured.

Exit status: 0 when every call connected, 1 when some failed (or the gateway
could not be reached), 2 for bad input (a broken target file, a bad flag).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cli.arguments import positive_int

if TYPE_CHECKING:
    from harness.client.result import CallResult
    from harness.client.stats import CallStats
    from harness.target.model import Target

NAME = "connect"
HELP = "place N calls (ULLC or sequential) against a target and print latency statistics"

PROGRESS_FROM = 20
"""Runs at least this long report progress on stderr."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        type=Path,
        metavar="FILE",
        help="target file (TOML, specs/target-file.md); default: start the embedded reference"
        " stack for the run and tear it down after",
    )
    parser.add_argument(
        "--backend",
        choices=["local", "docker"],
        default="local",
        help="without --target: how the embedded reference stack runs (default local)",
    )
    parser.add_argument(
        "--calls", type=positive_int, required=True, metavar="N", help="number of calls"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=1,
        metavar="C",
        help="simultaneous clients, each with its own gateway connection (default 1)",
    )
    parser.add_argument(
        "--mode",
        choices=["ullc", "sequential"],
        default="ullc",
        help="ullc (parallel, default) or sequential (the baseline, SIG-9)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also print every call's timeline (in --json: a 'results' array)",
    )


def _progress(total: int) -> Any:
    step = max(1, total // 10)

    def report(done: int, _total: int, _result: CallResult) -> None:
        if sys.stderr.isatty():
            end = "\n" if done == total else ""
            print(f"\r  calls: {done}/{total}", end=end, file=sys.stderr, flush=True)
        elif done % step == 0 or done == total:
            print(f"  calls: {done}/{total}", file=sys.stderr, flush=True)

    return report if total >= PROGRESS_FROM else None


def _summary(target: Target, mode: str, stats: CallStats) -> dict[str, Any]:
    return {"target": target.name, "mode": mode, **stats.to_json()}


def _print_timeline(index: int, result: CallResult) -> None:
    state = "connected" if result.connected else result.failure
    print(f"call {index + 1}: {state}", end="")
    if result.connect_ms is not None:
        print(f" in {result.connect_ms:.1f} ms", end="")
    print(f" (dc {result.dc or '-'}{', fell back' if result.fell_back else ''})")
    for event in result.timeline:
        details = " ".join(f"{k}={v}" for k, v in event.detail.items())
        print(f"  {event.t_ms:9.2f} ms  {event.kind.value:<17} {details}")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from harness.client.gateway import GatewayUnavailableError
    from harness.client.runner import run_calls
    from harness.signaling.messages import Mode
    from harness.target.loader import load_target

    mode = Mode(args.mode)
    stack: AbstractContextManager[Any]
    if args.target is not None:
        target = load_target(args.target)
        stack = nullcontext()
    else:
        from harness.stack.backend import start_stack

        print(
            f"starting the embedded reference stack ({args.backend}) ...",
            file=sys.stderr,
            flush=True,
        )
        stack = start_stack(args.backend)

    with stack as running:
        if running is not None:
            target = load_target(running.target_path)
        try:
            results, stats = asyncio.run(
                run_calls(
                    target,
                    args.calls,
                    concurrency=args.concurrency,
                    mode=mode,
                    progress=_progress(args.calls),
                )
            )
        except GatewayUnavailableError as error:
            print(f"ullc-harness connect: {error}", file=sys.stderr)
            return 1

    if args.json:
        body = _summary(target, mode.value, stats)
        if args.timeline:
            body["results"] = [result.to_json(timeline=True) for result in results]
        print(json.dumps(body))
    else:
        if args.timeline:
            for index, result in enumerate(results):
                _print_timeline(index, result)
            print()
        print(f"target: {target.name}   mode: {mode.value}")
        print(stats.table())
    return 0 if stats.failed == 0 else 1
