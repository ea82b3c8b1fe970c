"""The requirement index: every requirement of specs/ as data.

A requirement is a paragraph or list item that starts with a bold ID (``**SIG-3** ...``,
``- **STUN-1** ...``) and runs to the next blank line, heading or ID. Its level is the
strongest RFC 2119 key word in it (MUST > SHOULD > MAY), so a paragraph with one MUST among
SHOULDs counts as a MUST. A requirement with no key word at all states a fact of the
protocol ("the magic cookie is 0x2112A442"), which binds like a MUST.
Read from the package's own copy of the spec (``harness.specs``), so the index of an
installed harness is the spec it ships with.

Numbers a requirement states are markers (``{call_deadline = 5 s}``, see
:mod:`harness.spec_quantities`): a requirement carries them as ``quantities``,
and its ``text`` shows them in plain words. :func:`statements` lists every
marker of the spec, inside requirements or not, for the consistency check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from importlib.resources import files

from harness.spec_quantities import (
    MARKER,
    Quantity,
    Statement,
    quantities_in,
    quantity_of,
    render,
)

FAMILIES = ("STUN", "SDP", "SIG", "ROUTE", "FB", "RACE", "CTL", "TGT", "TOPO", "SESS", "CLI")
ID_PATTERN = re.compile(rf"\*\*((?:{'|'.join(FAMILIES)})-\d+)\*\*")
_KEY_WORDS = re.compile(r"\b(MUST(?: NOT)?|SHOULD(?: NOT)?|REQUIRED|SHALL(?: NOT)?|MAY)\b")


class Level(IntEnum):
    """RFC 2119 strength; higher is stronger."""

    MAY = 1
    SHOULD = 2
    MUST = 3


_LEVEL_OF_WORD = {
    "MUST": Level.MUST,
    "MUST NOT": Level.MUST,
    "REQUIRED": Level.MUST,
    "SHALL": Level.MUST,
    "SHALL NOT": Level.MUST,
    "SHOULD": Level.SHOULD,
    "SHOULD NOT": Level.SHOULD,
    "MAY": Level.MAY,
}


@dataclass(frozen=True)
class Requirement:
    id: str
    family: str
    number: int
    level: Level
    text: str
    """The paragraph without its bold ID, white space folded, quantity markers in plain words."""
    file: str
    """The spec file's name, e.g. ``signaling.md``."""
    line: int
    withdrawn: bool
    quantities: tuple[Quantity, ...] = ()
    """The numbers the requirement states, as written in its markers."""
    source: str = ""
    """The paragraph as written, markers included."""


def _unbullet(line: str) -> str:
    stripped = line.strip()
    return stripped[2:] if stripped.startswith(("- ", "* ")) else stripped


def _paragraphs(text: str) -> Iterator[tuple[int, int, str]]:
    """(first line, last line, text) of each paragraph that starts with a bold ID."""
    current: list[str] = []
    start = end = 0
    for number, line in enumerate(text.splitlines(), start=1):
        starts_requirement = ID_PATTERN.match(_unbullet(line)) is not None
        if not line.strip() or line.startswith("#") or starts_requirement:
            if current:
                yield start, end, " ".join(current)
            current = []
        if starts_requirement:
            start = end = number
            current = [_unbullet(line)]
        elif current and line.strip():
            current.append(line.strip())
            end = number
    if current:
        yield start, end, " ".join(current)


def parse(text: str, file: str) -> list[Requirement]:
    found = []
    for line, _, paragraph in _paragraphs(text):
        match = ID_PATTERN.match(paragraph)
        assert match is not None
        requirement_id = match.group(1)
        body = paragraph[match.end() :].strip()
        levels = [_LEVEL_OF_WORD[word] for word in _KEY_WORDS.findall(body)]
        family, _, number = requirement_id.partition("-")
        found.append(
            Requirement(
                id=requirement_id,
                family=family,
                number=int(number),
                level=max(levels, default=Level.MUST),
                text=render(body),
                file=file,
                line=line,
                withdrawn="*withdrawn*" in body.lower(),
                quantities=quantities_in(body),
                source=body,
            )
        )
    return found


def statements_in(text: str, file: str) -> list[Statement]:
    """Every quantity marker of one spec file, attributed to the requirement it is in."""
    spans = [
        (start, end, ID_PATTERN.match(paragraph)) for start, end, paragraph in _paragraphs(text)
    ]
    found = []
    for match in MARKER.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        owner = next((m.group(1) for s, e, m in spans if m and s <= line <= e), None)
        found.append(Statement(quantity_of(match), file, line, owner))
    return found


def _spec_files() -> list[tuple[str, str]]:
    """(name, text) of every requirement file of the shipped spec, by name."""
    specs = files("harness.specs")
    return [
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in sorted(specs.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".md") and entry.name not in NOT_REQUIREMENT_FILES
    ]


NOT_REQUIREMENT_FILES = frozenset({"README.md", "implementers.md"})
"""The index of specs/ and the page generated from this index hold no requirements."""


@cache
def requirements() -> tuple[Requirement, ...]:
    """Every requirement of the shipped spec, in file order then document order."""
    found: list[Requirement] = []
    for name, text in _spec_files():
        found.extend(parse(text, name))
    return tuple(found)


@cache
def statements() -> tuple[Statement, ...]:
    """Every quantity the shipped spec states, in requirements, definitions and tables."""
    return tuple(s for name, text in _spec_files() for s in statements_in(text, name))


def by_id() -> dict[str, Requirement]:
    return {requirement.id: requirement for requirement in requirements()}
