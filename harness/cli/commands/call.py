"""``ullc-harness call``: place calls with the reference client and exit 0 when all connected.

The reference client as a client under test (specs/client.md CLI-1): the client suite
runs it as ``ullc-harness call --target {target}``. ``--mode sequential`` and
``--plain-stun`` make the two known-bad clients the suite must catch (the two-round-trip
baseline, and plain RFC 8489 retransmission instead of STUN-30's pacing).

Exit status: 0 when every call connected, 1 when one failed (its outcome on stderr),
2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.arguments import positive_int

NAME = "call"
HELP = "place one call (or --calls N on one gateway connection) with the reference client"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        type=Path,
        required=True,
        metavar="FILE",
        help="target file (TOML, specs/target-file.md) of the stack to call",
    )
    parser.add_argument(
        "--calls",
        type=positive_int,
        default=1,
        metavar="N",
        help="calls to place one after another on one gateway connection (default 1)",
    )
    parser.add_argument(
        "--mode",
        choices=["ullc", "sequential"],
        default="ullc",
        help="ullc (parallel, default) or sequential (the two-round-trip baseline)",
    )
    parser.add_argument(
        "--plain-stun",
        action="store_true",
        help="retransmit checks on RFC 8489's 500 ms RTO instead of pacing them (STUN-30): "
        "a deliberately non-conforming client",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from harness.client.client import UllcClient
    from harness.client.gateway import GatewayUnavailableError
    from harness.client.media import Retransmission
    from harness.signaling.messages import Mode
    from harness.target.loader import load_target

    target = load_target(args.target)
    mode = Mode(args.mode)
    retransmission = Retransmission.RFC8489 if args.plain_stun else Retransmission.PACED

    async def place() -> int:
        failed = 0
        async with UllcClient(target, retransmission=retransmission) as client:
            for index in range(args.calls):
                result = await client.connect(mode=mode)
                if result.connected:
                    print(
                        f"call {index + 1}: connected in {result.connect_ms:.1f} ms"
                        f" (dc {result.dc or '-'}{', fell back' if result.fell_back else ''})"
                    )
                else:
                    failed += 1
                    print(f"call {index + 1}: {result.failure}", file=sys.stderr)
        return failed

    try:
        failed = asyncio.run(place())
    except GatewayUnavailableError as error:
        print(f"ullc-harness call: {error}", file=sys.stderr)
        return 1
    return 0 if failed == 0 else 1
