"""``ullc-harness bench``: run benchmark sections, print a table each, write JSON and a plot.

A missed target is printed as MISSED and the command still exits 0: the bench
reports, it does not judge CI (DESIGN section 9: benchmarks, never timed tests).
It exits 1 only when a section could not run at all (for example the stack did
not start), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cli.arguments import positive_int

if TYPE_CHECKING:
    from harness.bench.common import Row

NAME = "bench"
HELP = "Run the benchmarks (timing targets) and write reports/bench.json and bench.png."
HEADER: tuple[str, str, str, str] = ("metric", "value", "target", "verdict")


def configure(parser: argparse.ArgumentParser) -> None:
    from harness.bench import SECTIONS

    names = [section.name for section in SECTIONS]
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="SECTION",
        help=f"run only this section (repeatable): {', '.join(names)}",
    )
    parser.add_argument(
        "--calls",
        type=positive_int,
        metavar="N",
        help="calls per mode in ullc_vs_sequential (default 100)",
    )
    parser.add_argument(
        "--concurrent",
        type=positive_int,
        metavar="N",
        help="simultaneous calls in concurrency (default 500, the size the target is for)",
    )
    parser.add_argument(
        "--starts", type=positive_int, metavar="K", help="stack starts in startup (default 5)"
    )
    parser.add_argument(
        "--backend",
        choices=["local", "docker"],
        default="local",
        help="the backend startup measures (docker: results under startup_docker)",
    )
    parser.add_argument("--output", type=Path, default=Path("reports/bench.json"))
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="PNG",
        help="where to draw the latency plot (default: bench.png next to --output)",
    )


def _table(rows: list[Row]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [HEADER, *rows]
    )


def _previous(output: Path) -> dict[str, Any]:
    """Other sections' last results, kept when only some sections run."""
    if not output.exists():
        return {}
    try:
        body = json.loads(output.read_text())
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def run(args: argparse.Namespace) -> int:
    from harness.bench import SECTIONS, BenchOptions
    from harness.bench.common import MachineLoad, Verdict

    options = BenchOptions(
        calls=args.calls, concurrent=args.concurrent, starts=args.starts, backend=args.backend
    )
    chosen = [s for s in SECTIONS if not args.only or s.name in args.only]
    output: Path = args.output
    results = _previous(output)
    missed: list[str] = []
    broken: list[str] = []
    for section in chosen:
        key = section.result_key(options)
        print(f"  [bench] {key}: {section.help} ...", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            result = section.run(options)
        except Exception as error:  # one broken section must not lose the others' numbers
            broken.append(section.name)
            results[key] = {
                "verdict": "error",
                "error": f"{type(error).__name__}: {error}",
                "load": {"after": list(MachineLoad.now())},
            }
            print(f"\n== {section.name}: ERROR ==\n{type(error).__name__}: {error}\n")
            continue
        body = result.to_json()
        body["seconds"] = round(time.monotonic() - began, 2)
        results[key] = body
        verdict = str(body.get("verdict", ""))
        print(f"\n== {section.name}: {verdict} ({body['seconds']:.0f} s) ==")
        print(_table(result.rows()))
        missed += [
            f"{section.name}: {key}"
            for key, value in body.get("verdicts", {}).items()
            if value == Verdict.MISSED.value
        ]
    output.parent.mkdir(parents=True, exist_ok=True)
    results["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {output}")
    plot = _plot(results, args.plot or output.with_suffix(".png"))
    if plot is not None:
        print(f"wrote {plot}")
    if missed:
        print(f"MISSED: {'; '.join(missed)} (reported, not failed: the bench exits 0)")
    if broken:
        print(f"ERROR: sections that could not run: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


def _plot(results: dict[str, Any], path: Path) -> Path | None:
    from harness.bench.plot import render

    try:
        return render(results, path)
    except (KeyError, TypeError, ValueError) as error:
        # An old or hand-edited bench.json must not turn a finished run into a crash.
        print(f"ullc-harness bench: no plot ({type(error).__name__}: {error})", file=sys.stderr)
        return None
