"""Pages generated from the requirement index: the implementer's checklists (specs/implementers.md).

The page lists, for a server (gateway, edges, DCs) and for a client, every
MUST and SHOULD of the spec, one line each with its ID, in the order an
implementer builds them. Which requirement belongs to which step is the one
thing written here by hand (:data:`SERVER_STEPS`, :data:`CLIENT_STEPS`); every
word of each line comes from the index, so the page cannot drift from the
spec. A requirement that binds neither role (the reference stack's topology,
the harness's own hops) is named in :data:`NEITHER_ROLE`; a new MUST or SHOULD
that is in no step and not there stops the generator with its ID, so adding a
requirement forces a decision about who builds it.

    python -m harness.spec_pages            # rewrite specs/implementers.md
    python -m harness.spec_pages --check    # exit 1 if the committed page is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.spec_index import Level, Requirement, by_id, requirements

PAGE_NAME = "implementers.md"


@dataclass(frozen=True)
class Step:
    title: str
    ids: tuple[str, ...]


def _step(title: str, ids: str) -> Step:
    return Step(title, tuple(ids.split()))


SERVER_STEPS: tuple[Step, ...] = (
    _step("Describe the target to the harness", "TGT-1 TGT-2 TGT-3 TGT-4 TGT-9"),
    _step("Gateway transport: the WebSocket", "SIG-1 SIG-2 SIG-3"),
    _step(
        "Latency map and the routing function (gateway and edges)",
        "ROUTE-2 ROUTE-3 ROUTE-1 ROUTE-4 ROUTE-5 ROUTE-6 ROUTE-7",
    ),
    _step(
        "Session Creation: validate, route, answer",
        "SIG-6 SIG-18 SIG-7 SIG-10 SIG-11 SIG-12 SIG-13 SIG-9",
    ),
    _step("Session store of a DC", "SESS-1 SESS-2 SESS-6"),
    _step(
        "STUN wire format (parse and build)",
        "STUN-1 STUN-2 STUN-3 STUN-5 STUN-6 STUN-7 STUN-8 STUN-9 STUN-10 STUN-11 STUN-12 "
        "STUN-13 STUN-14 STUN-15 STUN-16 STUN-20",
    ),
    _step("DC media ingress: look each check up by ufrag", "SESS-3 SESS-4 SESS-5"),
    _step(
        "Bot: the responder rules, in their order",
        "STUN-40 STUN-41 STUN-42 STUN-43 STUN-44 STUN-45 STUN-46 STUN-47 STUN-48 STUN-49 "
        "STUN-50 RACE-5",
    ),
    _step("The set-up race: hold early checks", "RACE-3 RACE-4"),
    _step("Fallback when the bet loses", "FB-1 FB-3 FB-5 FB-6"),
    _step(
        "Control API (optional, unlocks chaos and fallback suites)",
        "CTL-1 CTL-2 CTL-3 CTL-4 CTL-5 CTL-6",
    ),
)
"""A server in build order: describe it, accept signaling, route, store, answer checks."""

CLIENT_STEPS: tuple[Step, ...] = (
    _step("Describe the target to your client", "TGT-1 TGT-9 TGT-10"),
    _step("Before the call: connection, credentials, descriptions", "SIG-2 SIG-17 SIG-8"),
    _step(
        "The two pre-generated SDPs",
        "SDP-1 SDP-2 SDP-3 SDP-4 SDP-5 SDP-6 SDP-7 SDP-8 SDP-9 SDP-10 SDP-11 SDP-12 SDP-13 "
        "SDP-14 SDP-15",
    ),
    _step(
        "STUN wire format (build checks, judge responses)",
        "STUN-1 STUN-2 STUN-3 STUN-4 STUN-5 STUN-6 STUN-7 STUN-8 STUN-9 STUN-10 STUN-11 "
        "STUN-12 STUN-14 STUN-15 STUN-16",
    ),
    _step("The check", "STUN-20 STUN-21 STUN-22 STUN-23 STUN-24 STUN-25"),
    _step("On call: first check and session.create together", "SIG-3 SIG-4 SIG-5 RACE-1"),
    _step(
        "Transactions: pacing, what counts, connected",
        "STUN-30 RACE-2 STUN-33 STUN-34 STUN-31 STUN-32",
    ),
    _step("Fallback: the second target", "FB-2 FB-4"),
    _step("Outcomes: every call ends typed", "SIG-14 SIG-15 SIG-16"),
    _step(
        "Under test: the contract and bounds of the client suite",
        "CLI-1 CLI-2 CLI-3 CLI-4 CLI-5 CLI-6 CLI-7 CLI-8 CLI-9",
    ),
)
"""A client in build order: prepare, find the edge, check, race, fall back, report."""

NEITHER_ROLE: dict[str, str] = {
    "TGT-5": "STUN-only targets (a plain STUN server, no ULLC roles)",
    "TGT-6": "the `[reference]` section, written by `ullc-harness up` only",
    "TGT-7": "what the harness does with a user target's endpoints",
    "TGT-8": "what the suites read from a target file",
    "SESS-7": "how the reference stack stores sessions (other implementations are free)",
    **{f"TOPO-{n}": "the reference stack's emulated world" for n in range(1, 11)},
}
"""MUSTs and SHOULDs that bind the harness or its reference stack, not an implementer."""


class ChecklistError(HarnessError):
    """The steps do not cover the spec, or name IDs the spec does not define."""


def _checked(level: Level) -> bool:
    return level >= Level.SHOULD


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"`*])")
_SHORTEST_LINE = 100
"""A shorter first sentence is a title ("Default media port."): the next one joins it."""


def _first_sentence(text: str) -> str:
    # A sentence ends at ". " before a capital or an opening bracket; "e.g." and
    # "§6.2.1" are followed by lower case or digits, so they do not end one.
    for match in _SENTENCE_END.finditer(text):
        head = text[: match.start()]
        if len(head) >= _SHORTEST_LINE:
            return head
    return text


def _line(requirement: Requirement) -> str:
    marker = "" if requirement.level is Level.MUST else " *(SHOULD)*"
    sentence = _first_sentence(requirement.text)
    return (
        f"- [ ] **{requirement.id}**{marker} {sentence} "
        f"([{requirement.file}:{requirement.line}]({requirement.file}))"
    )


def coverage_problems(
    steps_by_role: Sequence[tuple[str, Sequence[Step]]],
    index: dict[str, Requirement],
) -> list[str]:
    """What is wrong with the step tables: unknown IDs, uncovered MUST/SHOULDs, stray MAYs."""
    problems = []
    placed: set[str] = set(NEITHER_ROLE)
    for role, steps in steps_by_role:
        seen: set[str] = set()
        for step in steps:
            for ident in step.ids:
                if ident not in index:
                    problems.append(f"{role} step {step.title!r} names {ident}, not in specs/")
                elif ident in seen:
                    problems.append(f"{role} checklist lists {ident} twice")
                seen.add(ident)
        placed |= seen
    for ident in NEITHER_ROLE:
        if ident not in index:
            problems.append(f"NEITHER_ROLE names {ident}, not in specs/")
    for requirement in index.values():
        if _checked(requirement.level) and not requirement.withdrawn:
            if requirement.id not in placed:
                problems.append(
                    f"{requirement.id} ({requirement.file}:{requirement.line}) is a "
                    f"{requirement.level.name} in no checklist step and not in NEITHER_ROLE"
                )
    return problems


def _checklist(title: str, steps: Sequence[Step], index: dict[str, Requirement]) -> list[str]:
    lines = [f"## {title}", ""]
    for number, step in enumerate(steps, start=1):
        listed = [
            index[ident]
            for ident in step.ids
            if _checked(index[ident].level) and not index[ident].withdrawn
        ]
        if not listed:
            continue
        lines += [f"### {number}. {step.title}", ""]
        lines += [_line(requirement) for requirement in listed]
        lines.append("")
    return lines


def implementers_page() -> str:
    """The text of specs/implementers.md, from the shipped spec."""
    index = by_id()
    roles = (("server", SERVER_STEPS), ("client", CLIENT_STEPS))
    problems = coverage_problems(roles, index)
    if problems:
        raise ChecklistError(
            "the implementer checklists do not match specs/:\n  " + "\n  ".join(problems),
            hint="place each requirement in harness/spec_pages.py (a step or NEITHER_ROLE)",
        )
    must = sum(1 for r in requirements() if r.level is Level.MUST and not r.withdrawn)
    should = sum(1 for r in requirements() if r.level is Level.SHOULD and not r.withdrawn)
    lines = [
        "# Implementer's checklists",
        "",
        "<!-- GENERATED by `python -m harness.spec_pages` from the requirement index",
        "     (harness/spec_index.py). Do not edit: change specs/*.md or the step",
        "     tables in harness/spec_pages.py, then regenerate. -->",
        "",
        "Every MUST and SHOULD of the spec, one line per requirement with its ID, in",
        "the order an implementer builds them; SHOULDs are marked *(SHOULD)*, MAYs",
        "are left out. Each line is the requirement's first sentence: the linked",
        "paragraph is the whole rule. A requirement both roles need is in both lists.",
        "Numbers are the spec's quantities (`{name OP value unit}` markers in specs/*.md),",
        "shown in plain words.",
        "",
        f"The spec has {must} MUST and {should} SHOULD requirements in force.",
        "",
        *_checklist("Server: gateway, edges, DCs", SERVER_STEPS, index),
        *_checklist("Client", CLIENT_STEPS, index),
        "## Not for implementers",
        "",
        "These bind the harness and its reference stack:",
        "",
        *(f"- **{ident}**: {why}" for ident, why in NEITHER_ROLE.items()),
        "",
    ]
    return "\n".join(lines)


def default_page_path() -> Path:
    """specs/implementers.md of the source tree this module runs from."""
    return Path(__file__).resolve().parent.parent / "specs" / PAGE_NAME


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.spec_pages", description="Generate specs/implementers.md."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--output", type=Path, default=default_page_path())
    args = parser.parse_args(argv)
    page = implementers_page()
    path: Path = args.output
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != page:
            print(f"{path} is stale: run `python -m harness.spec_pages`", file=sys.stderr)
            return 1
        return 0
    path.write_text(page, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
