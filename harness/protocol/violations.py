"""A broken requirement, as the checkers report it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .requirements import requirement


@dataclass(frozen=True)
class Violation:
    """One requirement a message or description breaks.

    ``offset`` is the byte offset in a STUN datagram, ``line`` the 1-based line
    of an SDP; ``attribute`` names the STUN attribute or SDP attribute involved.
    """

    requirement: str
    rfc: str
    message: str
    offset: int | None = None
    attribute: str | None = None
    line: int | None = None

    @classmethod
    def of(
        cls,
        ident: str,
        message: str,
        *,
        offset: int | None = None,
        attribute: str | None = None,
        line: int | None = None,
    ) -> Violation:
        """A violation of catalogue entry ``ident`` whose RFC clause comes from the catalogue."""
        return cls(ident, requirement(ident).rfc, message, offset, attribute, line)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.attribute is not None:
            where.append(self.attribute)
        located = f" [{', '.join(where)}]" if where else ""
        return f"{self.requirement} ({self.rfc}){located}: {self.message}"
