"""``ullc-harness up``: start the reference stack, print its target file, run until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

NAME = "up"
HELP = "Start the reference ULLC stack, print the path of its target file, run until Ctrl-C."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        default="local",
        help="local (processes on loopback addresses; default) or docker (one container per "
        "component; needs dockerd, see `ullc-harness image build`)",
    )
    parser.add_argument(
        "--topology", type=Path, help="topology JSON file (default: the bundled 3-region world)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw of the hops")
    parser.add_argument(
        "--network",
        help="/16 inside 127.0.0.0/8 to lay the stack out in (default: the topology's), "
        "or 'auto' for a free one",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for a healthy stack (default: 15 local, 60 docker)",
    )


class _Stop(Exception):
    """Raised from the SIGTERM handler so teardown runs as for Ctrl-C."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def run(args: argparse.Namespace) -> int:
    from harness.stack.backend import backend_kind, open_backend

    kind = backend_kind(args.backend)  # an unknown name: a usage error (exit 2)
    if args.seed < 0:
        from harness.errors import UsageError

        raise UsageError(f"--seed must be >= 0, got {args.seed}", hint="pass e.g. --seed 0")
    stack = open_backend(kind, args.topology, network=args.network, seed=args.seed)
    previous = signal.signal(signal.SIGTERM, _on_term)
    # Ctrl-C stops the stack even where SIGINT arrived ignored (a background job of a
    # non-interactive shell inherits SIG_IGN; `kill -INT` must still tear down).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stack.start()
        stack.wait_healthy(args.timeout or kind.start_timeout_s)
        print(f"target: {stack.target_path}", flush=True)
        print(
            f"stack {stack.session} ({stack.topology.name}, network {stack.topology.network}) "
            f"healthy in {stack.startup_seconds or 0:.2f} s; logs in {stack.run_dir / 'logs'}"
        )
        rows = stack.addresses()
        handles = stack.handles()
        width = max(len(name) for name in rows)
        column = "pid" if kind.value == "local" else "container"
        print(f"{'component':<{width}}  {column:>12}  address")
        for name, address in rows.items():
            print(f"{name:<{width}}  {handles.get(name, '-'):>12}  {address}")
        print("Ctrl-C to stop.", flush=True)
        watch = stack.death_watch()
        while True:
            if not stack.alive():
                print("ullc-harness up: the stack died under us", file=sys.stderr)
                return 1
            for death in watch.new_deaths():
                # The stack keeps running (a dead component is worth inspecting), loudly.
                print(f"ullc-harness up: {death.describe()}", file=sys.stderr, flush=True)
                print(
                    f"ullc-harness up: the stack runs on without {death.component}; "
                    "Ctrl-C to stop it",
                    file=sys.stderr,
                    flush=True,
                )
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        print("stopping the stack", file=sys.stderr, flush=True)
        return 0
    finally:
        # Another SIGTERM during teardown must not cut it short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            stack.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)
