"""``ullc-harness lint-stun``: decode STUN datagrams and list every violation of specs/stun.md."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.protocol.stun_capture import Datagram
    from harness.protocol.stun_checker import CheckReport

NAME = "lint-stun"
HELP = (
    "Decode STUN messages (hex, raw file or pcap) and report each violation with its "
    "requirement ID and RFC clause; exit 0 conformant, 1 violations, 2 unusable input."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "message",
        metavar="MESSAGE",
        help="hex (spaces/newlines allowed) or a file: raw bytes, hex text or pcap/pcapng",
    )
    parser.add_argument(
        "--password",
        help="ICE password (short-term), or the long-term password of a message with REALM",
    )
    parser.add_argument(
        "--request", metavar="MESSAGE", help="the request this message answers (hex or file)"
    )
    parser.add_argument(
        "--source",
        metavar="IP:PORT",
        help="the client's address as the responder saw it (checks XOR-MAPPED-ADDRESS)",
    )
    parser.add_argument(
        "--ufrag",
        help="the responder's ufrag (with --request: a USERNAME naming another one calls for "
        "401 in the ice profile)",
    )
    parser.add_argument(
        "--profile",
        choices=["ullc", "rfc8489", "ice", "classic", "rfc"],
        default="ullc",
        help="ullc: all of specs/stun.md (default); rfc8489 (alias rfc): any RFC 8489 agent, "
        "RFC 3489 peers per RFC 8489 §11; ice: an RFC 8445 responder, credentials required; "
        "classic: an RFC 3489 server. With --request the answer must also be the outcome "
        "the request calls for (e.g. 420 for an unknown comprehension-required attribute)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.protocol.stun_capture import load_datagrams, parse_address
    from harness.protocol.stun_checker import Profile, check_stun
    from harness.protocol.stun_outcome import Credentials, judge_answers

    datagrams = load_datagrams(args.message)
    request: bytes | None = None
    if args.request is not None:
        requests = load_datagrams(args.request)
        if len(requests) != 1:
            raise UsageError(
                f"--request holds {len(requests)} messages; give exactly one",
                hint="lint a whole capture without --request: responses are paired by "
                "transaction ID",
            )
        request = requests[0].data
    source = parse_address(args.source) if args.source else None
    profile = Profile(args.profile)

    # In a capture, answer each response with the request of the same
    # transaction seen earlier, and its UDP source as the observed address.
    seen: dict[bytes, Datagram] = {}
    reports: list[tuple[Datagram, CheckReport]] = []
    for datagram in datagrams:
        tx = datagram.data[8:20]
        paired = seen.get(tx) if request is None and len(datagrams) > 1 else None
        answered = request if request is not None else (paired.data if paired else None)
        observed = source if source is not None else (paired.source if paired else None)
        report = check_stun(
            datagram.data,
            request=answered,
            password=args.password,
            observed=observed,
            profile=profile,
        )
        if answered is not None:
            # The response judged against its request: the outcome it calls for.
            judged = judge_answers(
                answered,
                [datagram.data],
                profile=profile,
                credentials=Credentials(args.ufrag, args.password),
                observed=observed,
            )
            extra = tuple(v for v in judged.violations if v not in report.violations)
            report = dataclasses.replace(report, violations=report.violations + extra)
        if report.message_class is not None and report.message_class.name == "REQUEST":
            seen.setdefault(tx, datagram)
        reports.append((datagram, report))

    conformant = all(report.conformant for _, report in reports)
    if args.json:
        print(json.dumps(_as_json(reports, conformant), indent=2))
    else:
        for index, (datagram, report) in enumerate(reports, start=1):
            _print_report(index, datagram, report)
        total = sum(len(r.violations) for _, r in reports)
        print(
            f"{len(reports)} message(s), {total} violation(s): "
            + ("conformant" if conformant else "NOT conformant")
        )
    return 0 if conformant else 1


def _print_report(index: int, datagram: Datagram, report: CheckReport) -> None:
    from harness.protocol.stun_attributes import describe

    where = f" {datagram.source[0]}:{datagram.source[1]} -> " if datagram.source else " "
    if datagram.destination:
        where += f"{datagram.destination[0]}:{datagram.destination[1]}"
    print(f"message {index} ({datagram.origin}){where.rstrip()}")
    tx = report.transaction_id.hex() if report.transaction_id else "-"
    print(f"  {report.describe()}, {len(report.data)} bytes, transaction {tx}")
    for attr in report.attributes:
        shown = f"malformed: {attr.error}" if attr.error else describe(attr.type, attr.value)
        print(f"  {attr.name:<26} @{attr.offset:<4} len {attr.length:<3} {shown}")
    for note in report.notes:
        print(f"  note: {note}")
    if report.conformant:
        print("  conformant")
    for violation in report.violations:
        print(f"  VIOLATION {violation}")


def _as_json(reports: list[tuple[Datagram, CheckReport]], conformant: bool) -> dict[str, Any]:
    from harness.protocol.stun_attributes import describe

    messages = []
    for datagram, report in reports:
        messages.append(
            {
                "origin": datagram.origin,
                "source": list(datagram.source) if datagram.source else None,
                "destination": list(datagram.destination) if datagram.destination else None,
                "length": len(report.data),
                "method": report.method,
                "class": report.message_class.name.lower() if report.message_class else None,
                "transaction_id": report.transaction_id.hex() if report.transaction_id else None,
                "attributes": [
                    {
                        "type": attr.type,
                        "name": attr.name,
                        "offset": attr.offset,
                        "length": attr.length,
                        "value": None if attr.error else describe(attr.type, attr.value),
                        "error": attr.error,
                    }
                    for attr in report.attributes
                ],
                "violations": [v.to_dict() for v in report.violations],
                "notes": list(report.notes),
                "conformant": report.conformant,
            }
        )
    return {"conformant": conformant, "messages": messages}
