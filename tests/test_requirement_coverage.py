"""Every MUST and SHOULD of specs/ is cited by a suite test or explained in specs/untested.toml
(issue 10), and the explanations point at tests that exist.

The table is built from the installed package (spec, collected suites, untested.toml), the
way ``ullc-harness coverage`` builds it; the join itself is checked on made-up requirements
so that each kind of problem is shown to be reported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import UsageError
from harness.spec_coverage.citations import Citation
from harness.spec_coverage.table import CoverageTable, build, current
from harness.spec_coverage.untested import explanations, parse
from harness.spec_index import Level, Requirement

ROOT = Path(__file__).resolve().parent.parent
TEST_FILE = re.compile(r"\b((?:tests|suites)/[\w/]+\.py)\b")
TEST_NAME = re.compile(r"(?<![/\w])(test_\w+)\b(?!\.py)")


@pytest.fixture(scope="module")
def table() -> CoverageTable:
    return current()


def test_every_must_and_should_is_tested_or_explained(table: CoverageTable) -> None:
    assert table.rows, "no requirements: the check would be vacuous"
    assert not table.problems, "\n".join(table.problems)
    counts = {c.level: c for c in table.counts()}
    assert counts["MUST"].missing == 0
    assert counts["MUST"].tested + counts["MUST"].explained == counts["MUST"].total


def test_the_table_sees_parametrized_marks_built_at_import(table: CoverageTable) -> None:
    # The STUN rows build their marks from a table at import: a static read would miss them.
    row = next(r for r in table.rows if r.requirement.id == "STUN-45")
    assert any("test_responder_rule[bad_integrity]" in t for t in row.tests), row.tests


def test_explanations_name_test_files_and_functions_that_exist() -> None:
    for requirement_id, reason in explanations().items():
        files = TEST_FILE.findall(reason)
        if not files:
            continue  # a reason without a test (TGT-8: nothing to break)
        texts = []
        for name in files:
            path = ROOT / name
            assert path.is_file(), f"{requirement_id}: names {name}, which does not exist"
            texts.append(path.read_text("utf-8"))
        for function in TEST_NAME.findall(reason):
            assert any(f"def {function}" in text for text in texts), (
                f"{requirement_id}: names {function}, found in none of {files}"
            )


def _req(rid: str, level: Level = Level.MUST) -> Requirement:
    family, _, number = rid.partition("-")
    return Requirement(rid, family, int(number), level, "text", "x.md", 1, False)


def test_build_reports_each_kind_of_gap() -> None:
    # A made-up family, so these IDs are no citations of the real spec (tests/test_spec_ids.py).
    requirements = [
        _req("FAKE-1"),
        _req("FAKE-2"),
        _req("FAKE-3", Level.SHOULD),
        _req("FAKE-4", Level.MAY),
        _req("FAKE-5"),
    ]
    citations = [Citation("a.py::t", ("FAKE-1", "FAKE-5")), Citation("b.py::u", ("FAKE-99",))]
    reasons = {"FAKE-2": "client rule", "FAKE-5": "stale", "FAKE-77": "unknown"}

    table = build(requirements, citations, reasons)

    status = {r.requirement.id: r.status for r in table.rows}
    assert status == {
        "FAKE-1": "tested",
        "FAKE-2": "explained",
        "FAKE-3": "missing",
        "FAKE-4": "optional",
        "FAKE-5": "tested",
    }
    joined = "\n".join(table.problems)
    assert "FAKE-3 (SHOULD) is cited by no suite test" in joined
    assert "FAKE-5 is tested by a.py::t but specs/untested.toml says it is not" in joined
    assert "specs/untested.toml explains FAKE-77, which specs/ does not define" in joined
    assert "FAKE-99 is cited by b.py::u" in joined
    assert len(table.problems) == 4
    assert {c.level: (c.tested, c.explained, c.missing) for c in table.counts()} == {
        "MUST": (2, 1, 0),
        "SHOULD": (0, 0, 1),
        "MAY": (0, 0, 0),
    }


def test_withdrawn_requirements_are_left_out() -> None:
    withdrawn = Requirement("FAKE-9", "FAKE", 9, Level.MUST, "*withdrawn*", "x.md", 1, True)
    assert build([withdrawn], [], {}).rows == []


def test_untested_file_must_map_ids_to_reasons() -> None:
    assert parse('"SIG-1" = """a\n  reason"""') == {"SIG-1": "a reason"}
    with pytest.raises(UsageError, match="non-empty reason"):
        parse('"SIG-1" = ""')
    with pytest.raises(UsageError, match="not valid TOML"):
        parse("SIG-1 = ")


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_coverage_command_prints_json_and_writes_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    markdown = tmp_path / "coverage.md"

    assert main(["coverage", "--json", "--markdown", str(markdown)]) == 0

    body = json.loads(capsys.readouterr().out)
    must = next(c for c in body["counts"] if c["level"] == "MUST")
    assert must["missing"] == 0
    assert body["problems"] == []
    by_id = {r["id"]: r for r in body["requirements"]}
    assert by_id["ROUTE-7"]["status"] == "tested"
    assert (
        "happy_path/test_happy_path.py::test_routing_bet_hits_every_call_with_one_map"
        in (by_id["ROUTE-7"]["tests"])
    )
    assert by_id["SIG-8"]["status"] == "explained"
    text = markdown.read_text("utf-8")
    assert "| ROUTE-7 | MUST |" in text
    assert "*not tested here:* Client rule" in text
