"""The defect switchboard: names, the environment variable, and a docstring per defect."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from harness.stack import defects as defects_module
from harness.stack.defects import (
    DEFECTS_ENV,
    Defect,
    defects_from_env,
    describe,
    parse_defects,
)
from harness.stack.errors import UnknownDefectError
from harness.stack.local.backend import LocalBackend

REQUIREMENT = re.compile(r"\b(STUN|SIG|ROUTE|FB|RACE|SESS)-\d+\b")


def test_defects_parse_by_value_or_name_in_any_case() -> None:
    assert parse_defects(["no-fingerprint", "NO_SESSION_HOLD", " Gateway-On-Other-Map "]) == {
        Defect.NO_FINGERPRINT,
        Defect.NO_SESSION_HOLD,
        Defect.GATEWAY_ON_OTHER_MAP,
    }
    assert parse_defects(["", " "]) == frozenset()


def test_an_unknown_defect_is_refused_with_the_list_of_names() -> None:
    with pytest.raises(UnknownDefectError, match="no-fingerprnt") as caught:
        parse_defects(["no-fingerprnt"])
    assert caught.value.hint is not None
    assert "no-fingerprint" in caught.value.hint


def test_the_environment_variable_is_off_unless_set() -> None:
    assert defects_from_env({}) == frozenset()
    assert defects_from_env({DEFECTS_ENV: ""}) == frozenset()
    both = {Defect.NO_FINGERPRINT, Defect.NO_SESSION_HOLD}
    assert defects_from_env({DEFECTS_ENV: describe(both)}) == both
    assert describe(both) == "no-fingerprint,no-session-hold"


def test_every_defect_has_a_one_line_docstring_citing_a_requirement() -> None:
    tree = ast.parse(Path(defects_module.__file__).read_text(encoding="utf-8"))
    enum = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Defect")
    documented = {}
    for member, doc in zip(enum.body, enum.body[1:], strict=False):
        if isinstance(member, ast.Assign) and isinstance(doc, ast.Expr):
            assert isinstance(doc.value, ast.Constant)
            documented[member.targets[0].id] = str(doc.value.value)  # type: ignore[attr-defined]
    assert set(documented) == {d.name for d in Defect}
    for name, text in documented.items():
        assert "\n" not in text, name
        assert REQUIREMENT.search(text), name


def test_backend_takes_defects_from_the_argument_else_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DEFECTS_ENV, "no-fingerprint")
    assert LocalBackend(run_root=tmp_path).defects == {Defect.NO_FINGERPRINT}
    assert LocalBackend(run_root=tmp_path, defects=()).defects == frozenset()
    monkeypatch.delenv(DEFECTS_ENV)
    assert LocalBackend(run_root=tmp_path).defects == frozenset()


def test_defects_reach_the_supervisors_spec(tmp_path: Path) -> None:
    backend = LocalBackend(run_root=tmp_path, defects={Defect.NO_SESSION_HOLD})
    backend._prepare_run_dir("/bin/true")  # what start() writes before forking
    spec = json.loads((backend.run_dir / "stack.json").read_text(encoding="utf-8"))
    assert spec["defects"] == ["no-session-hold"]
