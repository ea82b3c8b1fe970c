"""The package installs as users get it: console script, plugin entry point, typed."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel users get, built from a clean copy of the tracked files."""
    # Editable installs read data from the source tree and hide a missing
    # package-data rule; only a wheel built from a clean copy shows what users get
    # (a stale *.egg-info in the work tree would leak its file list into the build).
    pytest.importorskip("wheel", reason="pip install -e '.[test]' brings wheel")
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "src"
    for path in _tracked():
        if (ROOT / path).is_file():
            (source / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, source / path)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel_file,) = (tmp_path / "dist").glob("*.whl")
    return wheel_file


def _tracked() -> list[str]:
    return subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_wheel_ships_every_data_file(built_wheel: Path) -> None:
    tracked = _tracked()
    wheel_file = built_wheel
    shipped = set(zipfile.ZipFile(wheel_file).namelist())
    data = [
        path
        for path in tracked
        if path.split("/")[0] in {"harness", "suites", "specs"} and not path.endswith(".py")
    ]
    assert data, "no data files found: the test would prove nothing"
    assert {_wheel_path(path) for path in data} - shipped == set()


def _wheel_path(path: str) -> str:
    top, _, rest = path.partition("/")
    return path if top == "harness" else f"harness/{top}/{rest}"


@dataclass(frozen=True)
class InstalledVenv:
    path: Path
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)

    def run(
        self, argv: list[str], cwd: Path, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """``argv`` with this venv's environment, output captured; never raises on exit status."""
        return subprocess.run(
            argv,
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def installed_venv(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> InstalledVenv:
    """A venv holding a plain (non-editable) install of the wheel, as a new user has it.

    Its dependencies come from this interpreter's site-packages through PYTHONPATH (no
    package index in tests), which, unlike --system-site-packages, does not run the .pth
    files there: the editable install's finder, which would quietly serve harness.specs
    from the clone, stays out."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(site.getsitepackages())}
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(built_wheel)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return InstalledVenv(venv, env)


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_installed_harness_places_calls_from_inside_the_clone(
    installed_venv: InstalledVenv,
) -> None:
    # The README's first line runs in the clone: its harness/ folder, which lacks the
    # packaged harness.specs and harness.suites, must not shadow the install in any
    # process the harness starts (the stack's supervisor once imported it from there).
    connected = installed_venv.run(
        [installed_venv.bin("ullc-harness"), "connect", "--calls", "2", "--json"], cwd=ROOT
    )
    assert connected.returncode == 0, connected.stdout[-3000:] + connected.stderr[-3000:]
    assert json.loads(connected.stdout.splitlines()[-1])["connected"] == 2


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_installed_wheel_collects_every_suite_from_an_empty_folder(
    installed_venv: InstalledVenv, tmp_path: Path
) -> None:
    # What a new user runs: a plain (non-editable) install, `ullc-harness run` started
    # outside any clone.
    venv = installed_venv.path
    python = venv / "bin" / "python"
    empty = tmp_path / "empty"
    empty.mkdir()
    located = installed_venv.run(
        [str(python), "-c", "import harness.suites; print(harness.suites.__file__)"], cwd=empty
    )
    assert located.returncode == 0, located.stderr
    where = located.stdout
    assert where.startswith(str(venv)), where
    collected = installed_venv.run(
        [str(venv / "bin" / "ullc-harness"), "run", "--", "--collect-only", "-q"], cwd=empty
    )
    output = collected.stdout + collected.stderr
    assert collected.returncode == 0, output[-4000:]
    # pytest's collection failures read "ERROR collecting ..." and "N errors".
    assert "ERROR" not in output, output[-4000:]
    assert " error" not in collected.stdout.splitlines()[-1], output[-4000:]
    suites = {line.split("/", 1)[0] for line in collected.stdout.splitlines() if "::" in line}
    shipped = {
        path.split("/")[1] for path in _tracked() if path.startswith("suites/") and "/" in path[7:]
    }
    assert shipped
    assert suites == shipped
    assert sorted(path.name for path in empty.iterdir()) == ["reports"]


def test_suite_modules_import_nothing_from_conftest_or_suites() -> None:
    # Installed, the suites are `harness.suites`: `import suites.x.conftest` breaks there.
    offenders = []
    for module in sorted((ROOT / "suites").rglob("*.py")):
        tree = ast.parse(module.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.split(".")[0] in {"suites", "conftest"} or name.endswith(".conftest"):
                    offenders.append(f"{module.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert offenders == []
