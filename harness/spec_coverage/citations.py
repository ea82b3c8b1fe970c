"""Which suite test cites which requirement: a ``--collect-only`` run of the installed suites.

The suites are the ones the package ships (``harness.suites``), so the table describes what
``ullc-harness run`` runs, in a checkout or from a plain wheel install alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from harness.errors import HarnessError
from harness.spec_coverage.collector import OUTPUT_ENV

COLLECT_TIMEOUT_S = 300


class CollectionError(HarnessError):
    """Collecting the suites failed (a suite module does not import, a fixture is unknown).

    The message carries pytest's output; fix the module it names.
    """


@dataclass(frozen=True)
class Citation:
    test: str
    """Node id relative to the suites folder, e.g. ``happy_path/test_happy_path.py::test_x``."""
    requirements: tuple[str, ...]


def collect() -> list[Citation]:
    """Every collected suite test with the requirement IDs its marks cite (possibly none)."""
    with as_file(files("harness.suites")) as suites, tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "citations.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env[OUTPUT_ENV] = str(output)
        command = [
            sys.executable,
            "-P",  # not the working folder first: a clone's harness/ is not the install
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "harness.spec_coverage.collector",
            "-o",
            "addopts=",
            f"--rootdir={suites}",
            str(suites),
        ]
        done = subprocess.run(
            command,
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=COLLECT_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0 or not output.is_file():
            raise CollectionError(
                f"collecting the suites in {suites} failed (pytest exit {done.returncode}):\n"
                + (done.stdout + done.stderr)[-3000:],
                hint="run `pytest --collect-only` on that folder and fix the module it names",
            )
        cited: dict[str, list[str]] = json.loads(output.read_text(encoding="utf-8"))
    return [Citation(test, tuple(ids)) for test, ids in sorted(cited.items())]
