"""``ullc-harness bench``: run benchmark sections, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

NAME = "bench"
HELP = "Run the benchmarks (timing targets) and write reports/bench.json."


def configure(parser: argparse.ArgumentParser) -> None:
    from harness.bench import SECTIONS

    names = [section.name for section in SECTIONS]
    parser.add_argument(
        "--only", action="append", choices=names, help="run only this section (repeatable)"
    )
    parser.add_argument("--output", type=Path, default=Path("reports/bench.json"))


def run(args: argparse.Namespace) -> int:
    from harness.bench import SECTIONS

    chosen = [s for s in SECTIONS if not args.only or s.name in args.only]
    output: Path = args.output
    results: dict[str, Any] = {}
    if output.exists():  # keep other sections' last results when running one
        try:
            results = json.loads(output.read_text())
        except ValueError:
            results = {}
    rows: list[tuple[str, str, str]] = []
    for section in chosen:
        result = section.load()()
        results[section.name] = result.to_json()
        rows += [
            (f"{section.name}: {metric}", value, target) for metric, value, target in result.rows()
        ]
    widths = [max(len(row[i]) for row in [("metric", "value", "target"), *rows]) for i in range(3)]
    for row in [("metric", "value", "target"), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(f"wrote {output}")
    return 0
