"""`python -m peers.compact --hold-ms N --write-target PATH [--base-ip 127.X]`.

Runs the whole deployment in this process until SIGINT/SIGTERM. The target file
is written once every socket listens, and `target: PATH` is printed then.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from pathlib import Path

from peers.compact import claim
from peers.compact.deployment import Deployment, Settings
from peers.compact.target_file import Limits, render, write
from peers.compact.world import plan


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m peers.compact", description=__doc__)
    parser.add_argument("--hold-ms", type=int, default=250, help="RACE-3 ingress hold; 0 = none")
    parser.add_argument("--write-target", type=Path, required=True, help="target file to write")
    parser.add_argument("--base-ip", help="127.X block to use (default: the first free one)")
    parser.add_argument("--session-ttl-ms", type=int, default=60_000, help="SESS-2 time to live")
    parser.add_argument("--signaling-timeout-ms", type=int, default=2000, help="SIG-13")
    parser.add_argument("--name", default="ullc-peer-compact", help="[target].name")
    args = parser.parse_args(argv)
    if args.hold_ms < 0:
        parser.error("--hold-ms must be >= 0")
    if args.base_ip is not None:
        try:
            plan(args.base_ip)
        except ValueError as exc:
            parser.error(str(exc))
    return args


async def _start(args: argparse.Namespace, settings: Settings) -> tuple[Deployment, claim.Claim]:
    bases = [args.base_ip] if args.base_ip else [f"127.{x}" for x in claim.CANDIDATES]
    for base in bases:
        world = plan(base)
        held = claim.try_claim(base)
        if held is None:
            if args.base_ip:
                raise SystemExit(
                    f"{base}.0.0/16 is claimed by another stack; pick another --base-ip"
                )
            continue
        deployment = Deployment(world, settings)
        try:
            await deployment.start()
        except OSError as exc:
            held.release()
            if args.base_ip or exc.errno != errno.EADDRINUSE:
                raise SystemExit(f"cannot listen in {base}.0.0/16: {exc}") from exc
            continue
        return deployment, held
    raise SystemExit("no free 127.X block; pass --base-ip")


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(args.hold_ms, args.session_ttl_ms, args.signaling_timeout_ms)
    deployment, held = await _start(args, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        limits = Limits(args.hold_ms, args.session_ttl_ms, args.signaling_timeout_ms)
        write(args.write_target, render(deployment.world, limits, args.name))
        print(f"target: {args.write_target}", flush=True)
        print(f"network: {deployment.world.base}.0.0/16", flush=True)
        await stop.wait()
    finally:
        await deployment.stop()
        held.release()
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main()))
