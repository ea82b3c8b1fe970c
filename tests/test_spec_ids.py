"""Every requirement ID cited in code, suites or tests is defined in some specs/*.md."""

from __future__ import annotations

import re
from pathlib import Path

from harness.spec_index import FAMILIES as SPEC_FAMILIES
from harness.spec_index import requirements

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(rf"\b({'|'.join(SPEC_FAMILIES)})-\d+\b")
SCANNED = ("harness", "suites", "tests")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".json", ".txt", ".sdp", ".hex", ".yaml", ".yml", ".cfg"}


def defined_ids() -> set[str]:
    """The IDs of the spec the package ships (harness.spec_index reads specs/ through it)."""
    return {requirement.id for requirement in requirements()}


def cited_ids() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*")):
            if (
                not path.is_file()
                or path.suffix not in TEXT_SUFFIXES
                or "__pycache__" in path.parts
            ):
                continue
            text = path.read_text("utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                for match in CITED.finditer(line):
                    cited.setdefault(match.group(0), []).append(
                        f"{path.relative_to(ROOT)}:{number}"
                    )
    return cited


def test_the_scan_finds_ids_at_all() -> None:
    # Guards against a regex or path change that would make the next test vacuous.
    assert "STUN-1" in defined_ids()
    assert "STUN-9" in cited_ids()


def test_every_cited_requirement_id_is_defined_in_specs() -> None:
    defined = defined_ids()
    undefined = {ident: where for ident, where in cited_ids().items() if ident not in defined}
    report = "\n".join(
        f"{ident}: cited at {', '.join(where[:3])}{' ...' if len(where) > 3 else ''}"
        for ident, where in sorted(undefined.items())
    )
    assert not undefined, (
        f"requirement IDs cited but never defined as **ID** in specs/*.md:\n{report}"
    )
