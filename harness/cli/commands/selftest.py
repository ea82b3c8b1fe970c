"""``ullc-harness selftest``: plant each known bug in the reference stack, run the suites,
and print which suite test caught it. Exits 1 when a planted bug survives every test."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

NAME = "selftest"
HELP = (
    "Run the suites against the reference stack with each planted defect and print which "
    "test caught it (exit 1 if a defect survives)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--defect",
        action="append",
        default=[],
        metavar="NAME",
        help="only this defect (repeatable; see harness.stack.defects.Defect); default: all",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="run only the tests known to catch each defect, not every suite (minutes, not hours)",
    )
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")


def run(args: argparse.Namespace) -> int:
    from harness.selftest.catalog import CATALOG
    from harness.selftest.runner import Outcome, Verdict, judge, run_suites
    from harness.stack.defects import parse_defects

    wanted = parse_defects(args.defect) if args.defect else None
    entries = [e for e in CATALOG if wanted is None or e.defect in wanted]

    def runs(defect: Any, selected: list[Any]) -> list[Outcome]:
        """The suites (or the known tests, --quick) against ``defect``, per world needed."""
        outcomes: list[Outcome] = []
        worlds = sorted({e.world for e in selected if e.world is not None})
        default = [t for e in selected if e.world is None for t in e.tests]
        if not args.quick or default:
            outcomes += run_suites(default if args.quick else None, defect)
        for world in worlds:
            tests = [t for e in selected if e.world == world for t in e.tests]
            outcomes += run_suites(tests, defect, world=world)
        return outcomes

    print(f"selftest: clean reference stack ({len(entries)} defects to plant)", file=sys.stderr)
    clean = runs(None, entries)
    verdicts: list[Verdict] = []
    for entry in entries:
        print(f"selftest: planting {entry.defect.value}", file=sys.stderr)
        verdicts.append(judge(entry, runs(entry.defect, [entry]), clean, quick=args.quick))

    if args.json:
        print(json.dumps([_as_json(v) for v in verdicts], indent=2))
    else:
        print(_table(verdicts))
    return 0 if all(v.caught for v in verdicts) else 1


def _as_json(verdict: Any) -> dict[str, Any]:
    return {
        "defect": verdict.defect.value,
        "section": verdict.section,
        "caught": verdict.caught,
        "caught_by": list(verdict.caught_by),
        "failing_on_the_clean_stack": list(verdict.broken_clean),
        "clean_failures": dict(verdict.clean_messages),
        "breaks": verdict.defect.__doc__ or "",
    }


def _table(verdicts: list[Any]) -> str:
    rows = [("defect", "section", "caught by")]
    for v in verdicts:
        first = v.caught_by[0] if v.caught_by else "SURVIVED"
        if v.broken_clean:
            first += f" (fails on the clean stack too: {', '.join(v.broken_clean)})"
        rows.append((v.defect.value, v.section, first))
        rows.extend(("", "", also) for also in v.caught_by[1:])
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{r[0]:<{width[0]}}  {r[1]:<{width[1]}}  {r[2]}" for r in rows]
    caught = sum(v.caught for v in verdicts)
    lines.append(f"\n{caught}/{len(verdicts)} planted defects caught")
    return "\n".join(lines)
