"""Realistic evidence for the report tests: calls, faults, hop captures and logs with secrets.

The passwords below are planted everywhere a real run could leak them: the
session.create JSON (inside a masked WebSocket frame, as a client sends it),
the session.created JSON and the DC's HTTP request (plain), SDP ``a=ice-pwd``
lines, a component log and a command line. The redaction tests assert that
none of them survives in anything the reporter writes.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.client.checks import build_check
from harness.client.result import CallOutcome, CallResult, EventKind, TimelineEvent
from harness.evidence import Evidence
from harness.faults.engine.capture import CaptureRecord
from harness.faults.log import FaultAction, FaultEvent, FaultLog
from harness.faults.model import Direction
from harness.faults.proxy_protocol import encode_v2
from harness.protocol.ice import IceCredentials
from harness.signaling.messages import Mode

CLIENT = IceCredentials("cUfragAAAAAAAAAA", "ClientPwdXyz0123456789abcdefABCDE")
BOT = IceCredentials("bUfragBBBBBBBBBB", "BotPwdQrs9876543210zyxwvuZYXWVUT")
PASSWORDS = (CLIENT.pwd, BOT.pwd, "redis-Secret-42", "hunter2hunter2")

CLIENT_ADDR = ("127.9.10.10", 40000)
EDGE = ("127.9.20.1", 3478)
EDGE_BIND = ("127.9.20.2", 3478)
MEDIA = ("127.9.101.2", 3478)
GATEWAY = ("127.9.0.80", 8443)
DNS = ("127.9.0.53", 1053)
SESSION_ID = "dc-b-0123456789ab"
REQUEST_ID = "req-0000000042"

FAULT_WHERE = "client-edge.edge-a"


def _e(kind: EventKind, t_ms: float, **detail: Any) -> TimelineEvent:
    return TimelineEvent(kind, t_ms, detail)


def fallback_call(started_at: float, transactions: list[bytes], media_tx: bytes) -> CallResult:
    """A ULLC call whose checks at the edge fail and that connects through ``media``."""
    edge, media = f"{EDGE[0]}:{EDGE[1]}", f"{MEDIA[0]}:{MEDIA[1]}"
    events = [
        _e(EventKind.DNS_SENT, 0.2, name="media.ullc.test", server="127.9.0.53:1053"),
        _e(EventKind.DNS_ANSWERED, 4.0, address=EDGE[0], ttl=30, attempts=1),
        _e(EventKind.REQUEST_SENT, 4.3, request_id=REQUEST_ID, mode="ullc"),
    ]
    events += [
        _e(
            EventKind.CHECK_SENT,
            4.2 + 50.0 * i,
            target=edge,
            transaction=tx.hex(),
            attempt=i + 1,
            via="edge",
        )
        for i, tx in enumerate(transactions)
    ]
    events += [
        _e(EventKind.CHECK_ANSWERED, 62.0, status="error_response", source=edge, error_code=400),
        _e(
            EventKind.RESPONSE_RECEIVED,
            120.0,
            type="session.created",
            session_id=SESSION_ID,
            dc="dc-b",
            media=media,
            map_version="v2",
        ),
        _e(EventKind.RETARGET, 120.2, target=media, dc="dc-b"),
        _e(
            EventKind.CHECK_SENT,
            120.3,
            target=media,
            transaction=media_tx.hex(),
            attempt=1,
            via="media",
        ),
        _e(
            EventKind.CHECK_ANSWERED,
            171.0,
            status="success",
            source=media,
            transaction=media_tx.hex(),
            xor_mapped_address=f"{CLIENT_ADDR[0]}:{CLIENT_ADDR[1]}",
        ),
        _e(EventKind.CONNECTED, 171.0, via="media", target=media, transaction=media_tx.hex()),
    ]
    return CallResult(
        outcome=CallOutcome.CONNECTED,
        mode=Mode.ULLC,
        connect_ms=171.0,
        dc="dc-b",
        session_id=SESSION_ID,
        map_version="v2",
        fell_back=True,
        edge=edge,
        media=media,
        recovery_ms=51.0,
        response_ms=120.0,
        client_ufrag=CLIENT.ufrag,
        bot_ufrag=BOT.ufrag,
        timeline=tuple(sorted(events, key=lambda e: e.t_ms)),
        started_at=started_at,
    )


def quick_call(started_at: float, connect_ms: float) -> CallResult:
    """A plain edge hit with a short timeline (the batch's other calls)."""
    edge = f"{EDGE[0]}:{EDGE[1]}"
    tx = secrets.token_bytes(12).hex()
    events = (
        _e(EventKind.REQUEST_SENT, 0.1, request_id="req-other", mode="ullc"),
        _e(EventKind.CHECK_SENT, 0.2, target=edge, transaction=tx, attempt=1, via="edge"),
        _e(EventKind.CHECK_ANSWERED, connect_ms, status="success", source=edge, transaction=tx),
        _e(EventKind.CONNECTED, connect_ms, via="edge", target=edge, transaction=tx),
    )
    return CallResult(
        outcome=CallOutcome.CONNECTED,
        mode=Mode.ULLC,
        connect_ms=connect_ms,
        dc="dc-a",
        session_id=f"dc-a-{secrets.token_hex(6)}",
        edge=edge,
        bet_hit=True,  # FB-4: the edge's own check was answered
        timeline=events,
        started_at=started_at,
    )


def masked_frame(payload: bytes) -> bytes:
    """A client-to-server WebSocket text frame (RFC 6455 §5.2/5.3), masked."""
    key = secrets.token_bytes(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        head = bytes([0x81, 0x80 | len(payload)])
    else:
        head = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    return head + key + masked


def server_frame(payload: bytes) -> bytes:
    head = bytes([0x81, 126]) + len(payload).to_bytes(2, "big")
    return head + payload


def sdp(creds: IceCredentials) -> str:
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        f"a=ice-ufrag:{creds.ufrag}\r\na=ice-pwd:{creds.pwd}\r\na=ice-lite\r\n"
    )


def session_create() -> bytes:
    body = {
        "type": "session.create",
        "request_id": REQUEST_ID,
        "mode": "ullc",
        "client": {"sdp": sdp(CLIENT), "ice_ufrag": CLIENT.ufrag, "ice_pwd": CLIENT.pwd},
        "bot": {"ice_ufrag": BOT.ufrag, "ice_pwd": BOT.pwd},
        "edge": f"{EDGE[0]}:{EDGE[1]}",
    }
    return json.dumps(body).encode()


def session_created() -> bytes:
    body = {
        "type": "session.created",
        "request_id": REQUEST_ID,
        "session_id": SESSION_ID,
        "dc": "dc-b",
        "media": {"ip": MEDIA[0], "port": MEDIA[1]},
        "bot": {"ice_ufrag": BOT.ufrag, "ice_pwd": BOT.pwd, "sdp": sdp(BOT)},
    }
    return json.dumps(body).encode()


def captures(
    t0: float, edge_txs: list[bytes], media_tx: bytes, other_tx: bytes
) -> dict[str, list[Any]]:
    """Hop records of the sample call (and one other call's check) on four links."""
    up, down = Direction.UPSTREAM, Direction.DOWNSTREAM
    header = encode_v2(CLIENT_ADDR, EDGE)
    edge_records: list[Any] = []
    for i, tx in enumerate(edge_txs):
        _, check = build_check(BOT, CLIENT, 7, transaction_id=tx)
        t = t0 + (4.2 + 50 * i) / 1000
        edge_records.append(CaptureRecord(t + 0.0002, up, "in", CLIENT_ADDR, EDGE_BIND, check))
        edge_records.append(
            CaptureRecord(t + 0.0203, up, "out", CLIENT_ADDR, EDGE_BIND, header + check)
        )
    _, other = build_check(BOT, CLIENT, 7, transaction_id=other_tx)
    edge_records.append(CaptureRecord(t0 + 0.01, up, "in", ("127.9.10.11", 40001), EDGE, other))
    _, media_check = build_check(BOT, CLIENT, 7, transaction_id=media_tx)
    media_records = [
        CaptureRecord(t0 + 0.1204, up, "in", CLIENT_ADDR, MEDIA, media_check).to_json(),
    ]
    request = masked_frame(session_create())
    gateway_records = [
        CaptureRecord(t0 + 0.0045, up, "in", CLIENT_ADDR, GATEWAY, request).to_json(),
        CaptureRecord(t0 + 0.0245, up, "out", CLIENT_ADDR, GATEWAY, request).to_json(),
        CaptureRecord(
            t0 + 0.1195, down, "out", GATEWAY, CLIENT_ADDR, server_frame(session_created())
        ).to_json(),
    ]
    dns_query = (
        bytes.fromhex("abcd01000001000000000000") + b"\x05media\x04ullc\x04test\x00\x00\x01\x00\x01"
    )
    dns_records = [
        CaptureRecord(t0 + 0.0003, up, "in", CLIENT_ADDR, DNS, dns_query).to_json(),
        # Another call's query, a second later: outside the sample call's DNS exchange.
        CaptureRecord(t0 + 1.0, up, "in", ("127.9.10.11", 40002), DNS, dns_query).to_json(),
    ]
    return {
        "client-edge.edge-a": edge_records,
        "client-edge.edge-a.pin.dc-b": media_records,
        "client-gateway": gateway_records,
        "client-dns": dns_records,
    }


def fault_log(t0: float) -> FaultLog:
    """Latency on the edge link during the call's first 80 ms; a partition left on."""
    events = [
        FaultEvent("latency", FAULT_WHERE, FaultAction.APPLIED, {"latency": 20}, t0 - 0.5),
        FaultEvent("latency", FAULT_WHERE, FaultAction.REMOVED, {}, t0 + 0.080),
        FaultEvent("partition", "edge-dc.edge-a.dc-a", FaultAction.APPLIED, {}, t0 + 0.030),
        # Before the call and gone before it started: must not be drawn.
        FaultEvent("loss", "client-gateway", FaultAction.APPLIED, {"p": 0.5}, t0 - 3.0),
        FaultEvent("loss", "client-gateway", FaultAction.REMOVED, {}, t0 - 2.0),
    ]
    # from_json: the only way in with fixed times (record() stamps "now").
    return FaultLog.from_json({"seed": 1234, "events": [e.to_json() for e in events]})


def evidence(log_dir: Path, *, test_id: str = "suites/fallback/test_x.py::test_x") -> Evidence:
    """A fallback test's evidence: 12 calls (the sample falls back), faults, captures, logs."""
    t0 = time.monotonic() - 5.0
    edge_txs = [secrets.token_bytes(12) for _ in range(3)]
    media_tx, other_tx = secrets.token_bytes(12), secrets.token_bytes(12)
    sample = fallback_call(t0, edge_txs, media_tx)
    # Six faster and five slower calls: the sample is the median, which sample_call picks.
    latencies = [100.0 + 10 * i for i in range(6)] + [180.0 + 10 * i for i in range(5)]
    others = [quick_call(t0 + 0.3 + i * 0.01, ms) for i, ms in enumerate(latencies)]
    results = sorted([*others, sample], key=lambda r: r.connect_ms or 0.0)
    found = Evidence(
        test_id=test_id,
        requirements=("FB-4", "SIG-8"),
        suite="fallback",
        seed=1234,
        target_name="reference",
        topology={"regions": [{"name": "r", "edges": ["edge-a"], "dcs": ["dc-a", "dc-b"]}]},
        fault_log=fault_log(t0),
    )
    found.add_batch("ullc", results, started_at=t0)
    found.captures.update(captures(t0, edge_txs, media_tx, other_tx))
    log_dir.mkdir(parents=True, exist_ok=True)
    gateway_log = log_dir / "gateway.log"
    gateway_log.write_text(
        f"session.create {REQUEST_ID} body={session_create().decode()}\n"
        f"redis url redis://default:{PASSWORDS[2]}@127.9.100.3:6379/0\n"
        f"lint-stun --password {PASSWORDS[3]} check.hex\n"
        f"bot credentials ufrag={BOT.ufrag} pwd={BOT.pwd} integrity_key={BOT.key.hex()}\n"
    )
    (log_dir / "dc-b.handler.log").write_text(f"POST /sessions bot_pwd={BOT.pwd}\n")
    found.component_logs = {"gateway": gateway_log, "dc-b.handler": log_dir / "dc-b.handler.log"}
    return found


SUITE = """
import pytest
from report_samples import BOT, PASSWORDS, evidence


def fill(target, tmp_path):
    found = evidence(tmp_path / "logs", test_id=target.test_id)
    target.batches.extend(found.batches)
    target.fault_log = found.fault_log
    target.topology = found.topology
    target.captures.update(found.captures)
    target.component_logs.update(found.component_logs)


@pytest.mark.fallback
@pytest.mark.requirements("FB-4", "SIG-8")
def test_diverged_call_recovers(ullc_evidence, tmp_path):
    fill(ullc_evidence, tmp_path)
    print("client credentials pwd=" + PASSWORDS[0])  # captured stdout is attached by allure
    assert ullc_evidence.batches[0].stats.connected == 12


@pytest.mark.fallback
@pytest.mark.requirements("FB-4")
def test_diverged_call_fails(ullc_evidence, tmp_path):
    fill(ullc_evidence, tmp_path)
    assert False, "fallback did not recover; session.created had ice_pwd=" + BOT.pwd
"""

BROKEN = """
import pytest
from report_samples import evidence


@pytest.mark.happy_path
def test_with_a_capture_the_reporter_cannot_read(ullc_evidence, tmp_path):
    found = evidence(tmp_path / "logs", test_id=ullc_evidence.test_id)
    ullc_evidence.batches.extend(found.batches)
    ullc_evidence.captures["client-edge.edge-a"] = [{"t": 1.0}]  # no addresses, no data
"""


@dataclass(frozen=True)
class SuiteRun:
    results: Path
    stdout: str


@pytest.fixture(scope="session")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """A small suite run once with --alluredir in a subprocess (allure-commons keeps global
    plugin state, so an in-process run would report into the outer run's results too).

    Three tests: one passes, one fails (planted passwords in its message and stdout),
    one has a capture the reporter cannot read.
    """
    folder = tmp_path_factory.mktemp("suite-run")
    (folder / "suites" / "fallback").mkdir(parents=True)
    (folder / "suites" / "fallback" / "test_sample_suite.py").write_text(SUITE)
    (folder / "suites" / "happy_path").mkdir(parents=True)
    (folder / "suites" / "happy_path" / "test_broken_capture.py").write_text(BROKEN)
    results = folder / "allure-results"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider"),
            *("--alluredir", str(results), "--ullc-budget-ms", "1000"),
        ],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # one test fails on purpose
    return SuiteRun(results, done.stdout)
