"""``ullc-harness lint-sdp``: check a session description against specs/sdp.md."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "lint-sdp"
HELP = (
    "Check an SDP file against the ULLC profile and report each violation with its "
    "requirement ID, RFC clause and line; exit 0 conformant, 1 violations, 2 unusable input."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the SDP file ('-' reads stdin)")
    parser.add_argument(
        "--role",
        choices=["client", "bot"],
        default="client",
        help="whose description: the client's own (default) or the bot's (ICE-lite)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.data import samples
    from harness.errors import UsageError
    from harness.protocol.sdp import Role
    from harness.protocol.sdp_checker import check_sdp

    try:
        path = Path(args.file)
        if args.file != "-" and not path.is_file():
            path = samples.find(args.file) or path
        raw = sys.stdin.buffer.read() if args.file == "-" else path.read_bytes()
    except OSError as error:
        raise UsageError(
            f"{args.file}: cannot read ({error.strerror})", hint="pass the path of an SDP file"
        ) from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{args.file}: not UTF-8 text (byte {error.start})",
            hint="SDP is text (RFC 8866 §5); is this the right file?",
        ) from error
    violations = check_sdp(text, Role(args.role))
    if args.json:
        print(
            json.dumps(
                {
                    "file": args.file,
                    "role": args.role,
                    "conformant": not violations,
                    "violations": [v.to_dict() for v in violations],
                },
                indent=2,
            )
        )
    else:
        for violation in violations:
            print(f"{args.file}:{violation.line or 1}: {violation}")
        state = "conformant" if not violations else f"{len(violations)} violation(s)"
        print(f"{args.file} ({args.role}): {state}")
    return 1 if violations else 0
