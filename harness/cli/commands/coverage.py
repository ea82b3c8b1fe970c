"""``ullc-harness coverage``: which suite test checks each requirement of specs/.

Every MUST and SHOULD is either cited by a suite test (``@pytest.mark.requirements``) or
explained in specs/untested.toml; the command exits 1 when one is neither, so CI can run it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "coverage"
HELP = "Print the requirement coverage table: suite tests per spec ID, or why it is untested."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the table as Markdown to FILE"
    )


def run(args: argparse.Namespace) -> int:
    from harness.spec_coverage.table import current

    table = current()
    if args.markdown is not None:
        args.markdown.write_text(table.markdown(), encoding="utf-8")
    if args.json:
        print(json.dumps(table.to_json(), indent=2))
    else:
        print(table.text(), end="")
    return 1 if table.problems else 0
