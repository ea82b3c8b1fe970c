"""Re-capture the golden STUN exchanges from real responders (tests/data/stun/golden.json).

    /path/to/venv/bin/python tests/data/stun/capture.py [--peers coturn,stund,aioice,libnice]

Starts each responder on loopback (harness.conformance.stun_peers: coturn's turnserver,
Debian's stund, an aioice agent, a libnice ICE-lite agent built from nice_lite.c),
sends every probe of harness.conformance.stun_probes from a fresh socket, records the
request and every datagram that came back within the linger time, and stops the
responder. An exchange keeps its reviewed verdict (``expected``, ``requirement``,
``clause``, ``note``) when the responder still answers it the same way (same reply
class, or one listed in its ``reviewed_replies``); otherwise ``expected`` is null
and tests/unit/protocol/test_stun_golden.py fails until someone reviews it against the
RFC and fills it in.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

from harness.conformance.stun_peers import PEERS, StunPeer, start_peer
from harness.conformance.stun_probes import ALL_PROBES
from harness.protocol.ice import generate_credentials
from harness.protocol.stun_checker import Profile
from harness.protocol.stun_outcome import Credentials, judge_answers

GOLDEN = Path(__file__).with_name("golden.json")
LINGER_S = 0.4


def exchange(address: tuple[str, int], data: bytes) -> tuple[tuple[str, int], list[bytes]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(data, address)
        answers = []
        deadline = time.monotonic() + LINGER_S
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                answer, source = sock.recvfrom(4096)
            except TimeoutError:
                break
            if source[:2] == address:
                answers.append(answer)
        return sock.getsockname()[:2], answers


def capture(peer: StunPeer) -> list[dict[str, object]]:
    bot = peer.credentials or generate_credentials()
    client = generate_credentials()
    if peer.client_ufrag is not None:
        client = type(client)(peer.client_ufrag, client.pwd)
    creds = Credentials(peer.credentials.ufrag, peer.credentials.pwd) if peer.credentials else None
    rows = []
    for probe in ALL_PROBES:
        request = probe.build(bot, client)
        observed, answers = exchange(peer.address, request)
        judged = judge_answers(
            request, answers, profile=Profile(peer.profile), credentials=creds, observed=observed
        )
        rows.append(
            {
                "peer": peer.name,
                "probe": probe.name,
                "what": probe.what,
                "profile": peer.profile,
                "ufrag": creds.ufrag if creds else None,
                "pwd": creds.pwd if creds else None,
                "observed": f"{observed[0]}:{observed[1]}",
                "request": request.hex(),
                "answers": [a.hex() for a in answers],
                "reply": judged.reply.value,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--out", type=Path, default=GOLDEN)
    args = parser.parse_args()
    old = json.loads(args.out.read_text("utf-8")) if args.out.exists() else []
    reviewed = {(row["peer"], row["probe"]): row for row in old}
    rows = [row for row in old if row["peer"] not in args.peers.split(",")]
    for name in args.peers.split(","):
        with start_peer(name) as peer:
            for row in capture(peer):
                before = reviewed.get((row["peer"], row["probe"]))
                seen = before.get("reviewed_replies", [before.get("reply")]) if before else []
                keep = row["reply"] in seen
                for key in ("expected", "requirement", "clause", "note", "reviewed_replies"):
                    if keep and before and key in before:
                        row[key] = before[key]
                    elif key != "reviewed_replies":
                        row[key] = None
                rows.append(row)
        print(f"{name}: {sum(1 for r in rows if r['peer'] == name)} exchanges", file=sys.stderr)
    rows.sort(key=lambda r: (PEERS.index(str(r["peer"])) if r["peer"] in PEERS else 99, 0))
    args.out.write_text(json.dumps(rows, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
