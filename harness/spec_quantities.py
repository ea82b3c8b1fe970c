"""Numbers the spec states, as data: the ``{name OP value unit}`` markers of specs/*.md.

A requirement that states a number a second requirement could contradict (a
randomness floor, a port, a timeout, a bound, a pacing interval) writes it as a
marker, for example ``{ufrag_random_bits >= 60 bits}``, ``{tp_range in 20..100 ms}``
or ``{call_deadline = 5 s}``. The marker names the quantity, so every place that
states it can be compared; readers of the index and of the generated pages see
it rendered as plain words ("at least 60 bits", "20..100 ms", "5 s").

Two statements of one quantity must agree after normalisation (seconds to
milliseconds; ``< n`` to ``<= n - 1`` for counted units), which
:func:`conflicts` checks: that is how SIG-8's 60 bits and SDP-6's 24 bits could
not both stand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

_NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"
MARKER = re.compile(
    rf"\{{(?P<name>[a-z][a-z0-9_]*)\s+(?P<op>>=|<=|=|<|>|in)\s+(?P<low>{_NUMBER})"
    rf"(?:\.\.(?P<high>{_NUMBER}))?(?:\s+(?P<unit>[A-Za-z%]+))?\}}"
)
"""One marker; a range (``in a..b``) is the only form with two numbers."""
LOOKS_LIKE_MARKER = re.compile(r"\{[a-z][a-z0-9_]*\s+(?:>=|<=|=|<|>|in)\s")
"""Anything that starts like a marker; what does not then parse is a typo to report."""

_TO_BASE = {"s": ("ms", Decimal(1000))}
COUNTED_UNITS = frozenset({"bits", "bytes", "characters", "datagrams", "sends", ""})
"""Units of whole numbers, where ``< n`` means ``<= n - 1``."""
_WORDS = {">=": "at least", "<=": "at most", ">": "more than"}


@dataclass(frozen=True)
class Quantity:
    """One marker: ``name op low[..high] unit`` as written."""

    name: str
    op: str
    """One of ``=``, ``>=``, ``<=``, ``<``, ``>``, ``in``."""
    low: Decimal
    high: Decimal | None
    """The upper end of an ``in`` range, else None."""
    unit: str
    written: str
    """The marker as it appears in the spec."""

    def normalized(self) -> tuple[str, Decimal, Decimal | None, str]:
        """A form in which two statements of the same fact are equal."""
        unit, factor = _TO_BASE.get(self.unit, (self.unit, Decimal(1)))
        low = self.low * factor
        high = None if self.high is None else self.high * factor
        op = self.op
        if unit in COUNTED_UNITS and op in ("<", ">"):
            low, op = (low - 1, "<=") if op == "<" else (low + 1, ">=")
        return op, low, high, unit

    def rendered(self) -> str:
        """Plain words for readers: ``at least 60 bits``, ``20..100 ms``, ``5 s``."""
        value = (
            _plain(self.low) if self.high is None else f"{_plain(self.low)}..{_plain(self.high)}"
        )
        text = f"{value} {self.unit}".rstrip()
        if self.op == "<":
            return f"{'fewer' if self.unit in COUNTED_UNITS else 'less'} than {text}"
        word = _WORDS.get(self.op)
        return f"{word} {text}" if word else text

    def describe(self) -> str:
        op, low, high, unit = self.normalized()
        value = _plain(low) if high is None else f"{_plain(low)}..{_plain(high)}"
        return f"{op} {value} {unit}".rstrip()


@dataclass(frozen=True)
class Statement:
    """Where a quantity is stated: a requirement ID, or a file and line outside any."""

    quantity: Quantity
    file: str
    line: int
    requirement: str | None

    @property
    def where(self) -> str:
        place = f"{self.file}:{self.line}"
        return f"{self.requirement} ({place})" if self.requirement else place


@dataclass(frozen=True)
class Conflict:
    name: str
    statements: tuple[Statement, ...]

    def __str__(self) -> str:
        lines = [f"quantity {self.name} is stated with different values:"]
        lines += [
            f"  {s.where}: {s.quantity.written} (means {s.quantity.describe()})"
            for s in self.statements
        ]
        return "\n".join(lines)


def _plain(number: Decimal) -> str:
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return str(number.normalize())


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def quantity_of(match: re.Match[str]) -> Quantity:
    high = match.group("high")
    return Quantity(
        name=match.group("name"),
        op=match.group("op"),
        low=_decimal(match.group("low")),
        high=None if high is None else _decimal(high),
        unit=match.group("unit") or "",
        written=match.group(0),
    )


def quantities_in(text: str) -> tuple[Quantity, ...]:
    return tuple(quantity_of(match) for match in MARKER.finditer(text))


def render(text: str) -> str:
    """``text`` with every marker replaced by its plain words."""
    return MARKER.sub(lambda match: quantity_of(match).rendered(), text)


def malformed(text: str) -> Iterator[tuple[int, str]]:
    """(offset, excerpt) of every marker-like brace that does not parse as a marker."""
    for start in LOOKS_LIKE_MARKER.finditer(text):
        if MARKER.match(text, start.start()) is None:
            end = text.find("}", start.start())
            yield start.start(), text[start.start() : end + 1 if end >= 0 else start.end() + 20]


def conflicts(statements: Iterable[Statement]) -> list[Conflict]:
    """Every quantity stated with more than one meaning, each with all its statements."""
    by_name: dict[str, list[Statement]] = {}
    for statement in statements:
        by_name.setdefault(statement.quantity.name, []).append(statement)
    return [
        Conflict(name, tuple(found))
        for name, found in sorted(by_name.items())
        if len({s.quantity.normalized() for s in found}) > 1
    ]
