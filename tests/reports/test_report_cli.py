"""``ullc-harness report``: clear errors when there is nothing to build or no Allure."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main


def test_missing_results_say_how_to_make_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--results", str(tmp_path / "none"), "--output", str(tmp_path / "h")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no Allure results" in err
    assert "ullc-harness run" in err


def test_missing_allure_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "0-result.json").write_text('{"name": "t", "status": "passed"}')
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine without the Allure CLI
    code = main(["report", "--results", str(results), "--output", str(tmp_path / "html")])
    assert code == 2
    err = capsys.readouterr().err
    assert "`allure`" in err
    assert "npm install -g allure-commandline" in err
    assert "Java 17" in err
    assert not (tmp_path / "html").exists()
