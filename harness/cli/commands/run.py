"""``ullc-harness run``: run the packaged suites against a target and print a summary table.

The suites ship inside the package (``harness.suites``), so this works after a
plain ``pip install .``, without a clone. Results go under ``--output``:
``allure-results/`` (``ullc-harness report`` builds HTML from it), ``junit.xml``
and ``summary.json`` (the table below, as data). The exit status is pytest's.
Anything after ``--`` goes to pytest unchanged (``-- -k fallback -x``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

NAME = "run"
HELP = "run the ULLC suites (default: against the embedded reference stack), write reports/"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="FILE",
        help="target file (TOML, specs/target-file.md) of the implementation under test; "
        "default: the embedded reference stack",
    )
    parser.add_argument(
        "--backend",
        default="local",
        help="how the reference stack runs: local (default) or docker (containers)",
    )
    parser.add_argument(
        "--client-command",
        metavar="COMMAND",
        help="a client under test for the client suite (specs/client.md CLI-1), e.g. "
        "'my-client --target {target}'; default on the reference stack: the reference "
        "client (`ullc-harness call`); against a --target file the client suite skips",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="where results go: allure-results/, junit.xml, summary.json (default: reports)",
    )
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="-- PYTEST_ARGS",
        help="arguments passed on to pytest, after --",
    )


def suites_dir() -> Path:
    """The suites as installed (``harness.suites``); a clone's ``suites/`` when editable."""
    from importlib.resources import files

    return Path(str(files("harness.suites")))


class SummaryExport:
    """A pytest plugin object that keeps the run's per-suite summary once pytest ends.

    The table is the plugin's own (:class:`harness.reports.summary.RunSummary`, printed
    in pytest's terminal summary); ``run`` only writes it as ``summary.json``."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from harness.reports.allure_reporter import PLUGIN_NAME

        reporter = session.config.pluginmanager.get_plugin(PLUGIN_NAME)
        if reporter is not None:
            self.records = reporter.summary.records()


def cache_home() -> Path:
    """Where pytest's cache and Hypothesis's example database live for ``run``: the user's
    cache folder, so a run leaves nothing in the working folder but its ``--output``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ullc-harness"


def run_config() -> Path:
    """The packaged pytest configuration of ``run``: the same wherever it is started from
    (without it, a run inside a clone would read the clone's pyproject.toml)."""
    from importlib.resources import files

    return Path(str(files("harness.data").joinpath("run-pytest.ini")))


def client_command_arguments(args: argparse.Namespace) -> list[str]:
    """The client suite's client: the user's, else on the embedded stack the reference
    client, run by this very interpreter (a venv's ``ullc-harness`` need not be on PATH)."""
    if args.client_command:
        return ["--ullc-client-command", args.client_command]
    if args.target:
        return []
    reference = (
        f"{shlex.quote(sys.executable)} -P -m harness call --target {{target}} --calls {{calls}}"
    )
    return ["--ullc-client-command", reference]


def pytest_arguments(args: argparse.Namespace, suites: Path, output: Path) -> list[str]:
    extra = list(args.pytest_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return [
        str(suites),
        "-c",
        str(run_config()),
        # The suites' own folder is the root, so test ids read "fallback/test_...".
        "--rootdir",
        str(suites),
        "--ullc-target",
        str(Path(args.target).resolve()) if args.target else "reference",
        "--ullc-backend",
        args.backend,
        *client_command_arguments(args),
        f"--alluredir={output / 'allure-results'}",
        f"--junitxml={output / 'junit.xml'}",
        # Neither an installed package nor the user's folder is a place for a cache.
        "-o",
        f"cache_dir={cache_home() / 'pytest'}",
        *extra,
    ]


def run(args: argparse.Namespace) -> int:
    import pytest

    suites = suites_dir()
    output: Path = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    # Hypothesis keeps its example database under the working folder unless told otherwise.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache_home() / "hypothesis"))
    export = SummaryExport()
    code = int(pytest.main(pytest_arguments(args, suites, output), plugins=[export]))
    (output / "summary.json").write_text(
        json.dumps({"exit_code": code, "suites": export.records}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(
        f"\nresults: {output} (HTML: `ullc-harness report`); pytest exit code {code}",
        file=sys.stderr,
    )
    return code
