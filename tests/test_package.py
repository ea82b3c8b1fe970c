"""The package installs as users get it: console script, plugin entry point, typed."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import subprocess
import sys

import pytest


def test_console_script_entry_point_targets_cli_main() -> None:
    scripts = importlib.metadata.entry_points(group="console_scripts")
    (script,) = [ep for ep in scripts if ep.name == "ullc-harness"]
    assert script.value == "harness.cli:main"


def test_pytest11_entry_point_registers_plugin() -> None:
    plugins = importlib.metadata.entry_points(group="pytest11")
    (plugin,) = [ep for ep in plugins if ep.name == "ullc"]
    assert plugin.value == "harness.plugin"


def test_package_is_typed() -> None:
    assert importlib.resources.files("harness").joinpath("py.typed").is_file()


def test_suites_ship_inside_the_package() -> None:
    suites = importlib.resources.files("harness.suites")
    assert suites.joinpath("happy_path").is_dir()


def test_cli_without_command_prints_help_and_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "usage: ullc-harness" in result.stdout


def test_plugin_markers_are_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.happy_path
        @pytest.mark.requires_capability("ullc")
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=1)


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.happy_path
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:ullc")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'happy_path' not found in `markers`*"])
