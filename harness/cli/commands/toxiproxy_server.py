"""``ullc-harness toxiproxy-server``: the hop engine behind a Toxiproxy-compatible HTTP API."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

NAME = "toxiproxy-server"
HELP = "Serve TCP and UDP fault hops behind the Toxiproxy HTTP API (defaults like Toxiproxy)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port, 0 = any (default 8474)")
    parser.add_argument("--seed", type=int, default=0, help="root seed of every random draw")
    parser.add_argument(
        "--config", type=Path, help="JSON array of proxies to create at start (Toxiproxy format)"
    )
    parser.add_argument(
        "--allow-remote-listen",
        action="store_true",
        help="let proxies listen on non-loopback addresses (e.g. 0.0.0.0); off by default "
        "because a hop exposes its upstream to every machine that can reach that address",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=15.0,
        help="seconds an API request may take to arrive complete; slower ones are closed "
        "(default 15, as Toxiproxy)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit when the process that started this one goes away",
    )


def run(args: argparse.Namespace) -> int:
    from harness.faults.api.server import ServerOptions, serve
    from harness.stack.runtime import HOP_EVENT_LOOP_ENV, run_loop

    options = ServerOptions(
        host=args.host,
        port=args.port,
        seed=args.seed,
        config=args.config,
        exit_with_parent=args.exit_with_parent,
        allow_remote_listen=args.allow_remote_listen,
        read_timeout=args.read_timeout,
    )

    def ready(info: dict[str, Any]) -> None:
        # One JSON line on stdout: the launcher parses it, people can read it.
        print(json.dumps(info), flush=True)

    # The reference stack's hop server and this one are one engine on one loop (uvloop
    # when installed), so the faults tests cover what the stack runs.
    run_loop(serve(options, ready), HOP_EVENT_LOOP_ENV)
    print(json.dumps({"event": "stopped"}), file=sys.stderr, flush=True)
    return 0
