"""``ullc-harness load``: ULLC calls as load, on Locust (master and workers).

Every call is one Locust request event: type = the mode, name = ``REGION/ROUTE`` (``hit``,
``fallback`` or ``failed``, see :mod:`harness.load.routes`), response time = the connect
latency. The options are Locust's own; ``--workers N`` starts N local workers, and
``--master-host`` starts only workers for a master on another machine. Stats go to
``--csv``/``--html`` as Locust writes them, and a summary to ``OUTPUT/load-summary.json``.

Exit status: Locust's (0 when no call failed), 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from harness.cli.arguments import positive_int

NAME = "load"
HELP = "load a target with ULLC calls on Locust (master + workers, web UI, CSV/HTML stats)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default="reference",
        metavar="FILE|reference",
        help="target file to load, or 'reference' (default): start the embedded stack",
    )
    parser.add_argument("--users", "-u", type=positive_int, default=10, help="peak users")
    parser.add_argument(
        "--spawn-rate", "-r", type=float, default=10.0, help="users started per second"
    )
    parser.add_argument("--run-time", "-t", metavar="TIME", help="e.g. 20s, 2m (Locust's)")
    parser.add_argument("--headless", action="store_true", help="no web UI; start at once")
    parser.add_argument("--csv", type=Path, metavar="PREFIX", help="Locust CSV stats prefix")
    parser.add_argument("--html", type=Path, metavar="FILE", help="Locust HTML report")
    parser.add_argument(
        "--workers", type=int, default=0, metavar="N", help="local worker processes (0: one)"
    )
    parser.add_argument(
        "--master-host",
        metavar="HOST",
        help="start only workers, for a master running elsewhere (`ullc-harness load "
        "--expect-workers N` there)",
    )
    parser.add_argument("--master-port", type=positive_int, default=5557, metavar="PORT")
    parser.add_argument(
        "--expect-workers",
        type=positive_int,
        metavar="N",
        help="on a master whose workers run on other machines: how many to wait for",
    )
    parser.add_argument("--web-port", type=positive_int, default=8089, metavar="PORT")
    parser.add_argument("--mode", choices=["ullc", "sequential"], default="ullc")
    parser.add_argument(
        "--faults",
        type=Path,
        metavar="FILE",
        help="a fault schedule (JSON, harness.faults.schedule) to run during the load; needs "
        "the reference stack or --hop-api",
    )
    parser.add_argument("--hop-api", metavar="URL", help="the hop server the schedule drives")
    parser.add_argument(
        "--output", type=Path, default=Path("reports"), metavar="DIR", help="summary folder"
    )


def _schedule(args: argparse.Namespace, hop_api: str | None, processes: Any) -> Any:
    from harness.errors import UsageError
    from harness.faults.client import FaultClient
    from harness.faults.schedule import Schedule

    if args.faults is None:
        return nullcontext()
    if hop_api is None:
        raise UsageError(
            "--faults needs a hop server to drive",
            hint="use --target reference, or give --hop-api URL of your hops",
        )
    try:
        schedule = Schedule.from_json(json.loads(args.faults.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as error:
        raise UsageError(
            f"{args.faults}: not a fault schedule: {error}",
            hint='{"seed": 1, "steps": [{"at": 2, "until": 5, "fault": {"kind": "loss", '
            '"target": "client-edge.edge-us", "params": {"probability": 0.05}}}]}',
        ) from None
    client = FaultClient.connect(hop_api)
    return schedule.run(client, processes=processes)


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from harness.errors import UsageError
    from harness.load.launch import LoadPlan, run_load
    from harness.signaling.messages import Mode
    from harness.target.loader import load_target

    if importlib.util.find_spec("locust") is None:
        raise UsageError(
            "Locust is not installed: `ullc-harness load` runs on it",
            hint="pip install 'ullc-harness[load]'",
        )
    if args.workers < 0:
        raise UsageError(f"--workers must be 0 or more, got {args.workers}", hint="--workers 2")
    output: Path = args.output
    output.mkdir(parents=True, exist_ok=True)
    stack: AbstractContextManager[Any]
    if args.target == "reference" and args.master_host is None:
        from harness.stack import start_local_stack

        print("starting the embedded reference stack ...", file=sys.stderr, flush=True)
        stack = start_local_stack()
    else:
        stack = nullcontext()
    with stack as backend:
        target_file = Path(backend.target_path if backend is not None else args.target)
        target = load_target(target_file)
        hop_api = args.hop_api or (target.reference.hop_api if target.reference else None)
        plan = LoadPlan(
            target_file=target_file.resolve(),
            users=args.users,
            spawn_rate=args.spawn_rate,
            run_time=args.run_time,
            headless=args.headless,
            csv_prefix=args.csv,
            html=args.html,
            summary=(output / "load-summary.json").resolve(),
            workers=args.workers,
            master_host=args.master_host,
            master_port=args.master_port,
            expect_workers=args.expect_workers,
            web_port=args.web_port,
            mode=Mode(args.mode),
        )
        if not args.headless and args.master_host is None:
            print(f"web UI: http://127.0.0.1:{args.web_port}", file=sys.stderr, flush=True)
        with _schedule(args, hop_api, backend):
            code = run_load(plan)
    if plan.summary.is_file() and args.master_host is None:
        summary = json.loads(plan.summary.read_text(encoding="utf-8"))
        print(json.dumps(summary))
    return code
