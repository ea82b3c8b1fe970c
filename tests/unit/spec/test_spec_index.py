"""The requirement index reads every bold ID of specs/ with its level and text."""

from __future__ import annotations

import re
from pathlib import Path

from harness.spec_index import Level, parse, requirements

SPECS = Path(__file__).resolve().parents[3] / "specs"


def test_index_holds_every_bold_id_of_the_spec_files() -> None:
    written = {
        match
        for spec in SPECS.glob("*.md")
        if spec.name not in ("README.md", "implementers.md")
        for match in re.findall(r"\*\*([A-Z]+-\d+)\*\*", spec.read_text("utf-8"))
    }
    assert len(written) > 100
    assert {r.id for r in requirements()} == written


def test_level_is_the_strongest_key_word_and_a_bare_statement_binds_like_must() -> None:
    text = (
        "# T\n\n**SIG-1** A MAY b, c SHOULD d,\nand e MUST NOT f.\n\n"
        "**SIG-2** The gateway SHOULD answer.\n\n"
        "- **SIG-3** (RFC 8489 §5) The cookie is 0x2112A442.\n"
        "- **SIG-4** Agents MAY send it.\n"
    )
    found = {r.id: r for r in parse(text, "t.md")}
    assert [found[i].level for i in ("SIG-1", "SIG-2", "SIG-3", "SIG-4")] == [
        Level.MUST,
        Level.SHOULD,
        Level.MUST,
        Level.MAY,
    ]
    assert found["SIG-1"].text == "A MAY b, c SHOULD d, and e MUST NOT f."
    assert found["SIG-3"].line == 8
    assert found["SIG-4"].text == "Agents MAY send it."
