"""The samples README's "try" commands work from any directory (packaged sample fallback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _lint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_lint_stun_finds_a_packaged_sample_by_name(tmp_path: Path) -> None:
    good = _lint(tmp_path, "lint-stun", "ullc-check.hex", "--password", "lMHaqA6nB8SERmijED+Ag6rW")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "conformant" in good.stdout
    broken = _lint(tmp_path, "lint-stun", "ullc-check-bad-fingerprint.hex")
    assert broken.returncode == 1
    assert "STUN-9" in broken.stdout


def test_a_file_in_the_working_directory_wins_over_the_sample(tmp_path: Path) -> None:
    (tmp_path / "ullc-check.hex").write_text("zz not hex")
    result = _lint(tmp_path, "lint-stun", "ullc-check.hex")
    # The local file is linted (as 10 raw bytes), not the conformant packaged check.
    assert result.returncode == 1
    assert "10 bytes" in result.stdout


@pytest.mark.parametrize("role", ["client", "bot"])
def test_lint_sdp_finds_a_packaged_sample_by_name(tmp_path: Path, role: str) -> None:
    result = _lint(tmp_path, "lint-sdp", f"{role}.sdp", "--role", role)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hex_on_the_command_line_is_not_taken_for_a_sample_name(tmp_path: Path) -> None:
    # A long unbroken hex string is longer than a file name may be (ENAMETOOLONG).
    from harness.data import samples

    assert samples.find("00" * 300) is None
    assert samples.find("00 01 00 00") is None
