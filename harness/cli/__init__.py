"""The ``ullc-harness`` command line.

Each subcommand is one module in :mod:`harness.cli.commands` exposing ``NAME``,
``HELP``, ``configure(parser)`` and ``run(args) -> int``. Modules are found by
listing the package, so adding a command never edits a shared registry; heavy
imports belong inside ``run`` to keep ``--help`` fast.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import importlib
import pkgutil
import signal
import sys
from collections.abc import Sequence
from types import ModuleType

from harness import __version__
from harness.errors import HarnessError

from . import commands


def _command_modules() -> list[ModuleType]:
    found = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        found.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return sorted(found, key=lambda module: str(module.NAME))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ullc-harness",
        description="Conformance and chaos test harness for ULLC voice-call set-up.",
    )
    parser.add_argument("--version", action="version", version=f"ullc-harness {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _dump_stacks_on_sigusr1() -> None:
    """`kill -USR1 <pid>` prints every thread's stack to stderr: how a stuck run is diagnosed.

    The process's real stderr, not ``sys.stderr``: under pytest's capture (tests calling
    :func:`main`) the latter has no file descriptor for faulthandler to write to.
    """
    stderr = sys.__stderr__
    if stderr is None:
        return
    with contextlib.suppress(OSError, ValueError):
        faulthandler.register(signal.SIGUSR1, file=stderr, all_threads=True)


def main(argv: Sequence[str] | None = None) -> int:
    _dump_stacks_on_sigusr1()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args))
    except HarnessError as error:
        print(f"ullc-harness {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ullc-harness {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
