"""Each single STUN defect is reported with the right requirement ID, by the checker and the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from stun_defects import BOT, DEFECTS, VALID, Defect

from harness.cli import main
from harness.protocol.stun_checker import check_stun


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_checker_names_the_broken_requirement(defect: Defect) -> None:
    report = check_stun(
        defect.data,
        request=defect.request,
        password=defect.password,
        observed=defect.observed,
        profile=defect.profile,
    )
    found = report.requirement_ids
    if defect.expected is not None:
        assert found == defect.expected, [str(v) for v in report.violations]
    else:
        assert defect.must_include in found, [str(v) for v in report.violations]
    for violation in report.violations:
        assert violation.rfc.startswith("RFC "), violation


@pytest.mark.parametrize("name", list(VALID))
def test_valid_ullc_messages_have_no_violation(name: str) -> None:
    data, request, observed = VALID[name]
    report = check_stun(data, request=request, password=BOT.pwd, observed=observed)
    assert report.conformant, [str(v) for v in report.violations]


def _cli_args(defect: Defect) -> list[str]:
    args = ["lint-stun", defect.data.hex(" "), "--profile", defect.profile.value]
    if defect.password is not None:
        args += ["--password", defect.password]
    if defect.request is not None:
        args += ["--request", defect.request.hex()]
    if defect.observed is not None:
        args += ["--source", f"{defect.observed[0]}:{defect.observed[1]}"]
    return args


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_lint_stun_exits_1_and_prints_the_id(
    defect: Defect, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_cli_args(defect)) == 1
    out = capsys.readouterr().out
    assert f"VIOLATION {defect.key_id} (RFC " in out


def test_lint_stun_as_a_subprocess_reports_a_bad_fingerprint() -> None:
    bad_crc = DEFECTS[0]
    result = subprocess.run(
        [sys.executable, "-m", "harness", *_cli_args(bad_crc)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "STUN-9 (RFC 8489 §14.7)" in result.stdout
    assert "FINGERPRINT" in result.stdout
