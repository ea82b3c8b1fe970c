"""The in-code catalogue of requirement IDs matches specs/stun.md and specs/sdp.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.protocol.requirements import REQUIREMENTS

SPECS = Path(__file__).resolve().parents[3] / "specs"


def spec_entries(name: str) -> dict[str, str]:
    text = (SPECS / name).read_text("utf-8")
    return dict(re.findall(r"\*\*((?:STUN|SDP)-\d+)\*\* \(([^)]*)\)", text))


@pytest.mark.parametrize("spec", ["stun.md", "sdp.md"])
def test_every_spec_requirement_is_catalogued_with_the_same_clause(spec: str) -> None:
    entries = spec_entries(spec)
    assert entries, f"no requirement found in specs/{spec}"
    for ident, clause in entries.items():
        assert ident in REQUIREMENTS, f"{ident} is in specs/{spec} but not in the catalogue"
        assert REQUIREMENTS[ident].rfc == clause, ident


def test_every_catalogued_requirement_is_in_a_spec() -> None:
    specified = spec_entries("stun.md") | spec_entries("sdp.md")
    assert set(REQUIREMENTS) == set(specified)
