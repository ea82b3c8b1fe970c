"""Every verdict on the golden captures is right: real exchanges with coturn, stund, an
aioice agent and a libnice ICE-lite agent (tests/data/stun/golden.json, re-captured by
tests/data/stun/capture.py), each with its reviewed verdict and RFC clause.

A verdict is right when the judgement (harness.protocol.stun_outcome.judge_answers)
says conformant exactly when the review does, and a violation names the reviewed
requirement. The mutants take every accepted real answer and break one thing the
response-against-request rules guard (a transaction-ID byte, the cookie, the mapped
address, the answer itself), re-signing and re-fingerprinting where the answer was, so
only the rule under test can catch it.
"""

from __future__ import annotations

import hmac
import json
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.protocol.stun_attributes import AttributeType
from harness.protocol.stun_checker import Profile
from harness.protocol.stun_integrity import fingerprint, message_integrity_sha1, short_term_key
from harness.protocol.stun_outcome import Credentials, Judgement, Reply, judge_answers
from harness.protocol.stun_wire import MAGIC_COOKIE, scan

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "stun" / "golden.json"
ROWS: list[dict[str, object]] = json.loads(GOLDEN.read_text("utf-8"))
PEERS = ("coturn", "stund", "aioice", "libnice")


def _judge(row: dict[str, object], answers: list[bytes] | None = None) -> Judgement:
    creds = Credentials(str(row["ufrag"]), str(row["pwd"])) if row["ufrag"] else None
    host, port = str(row["observed"]).rsplit(":", 1)
    got = answers if answers is not None else [bytes.fromhex(str(a)) for a in row["answers"]]  # type: ignore[attr-defined]
    return judge_answers(
        bytes.fromhex(str(row["request"])),
        got,
        profile=Profile(str(row["profile"])),
        credentials=creds,
        observed=(host, int(port)),
    )


def _score(row: dict[str, object], judgement: Judgement) -> str:
    if row["expected"] == "conformant":
        return "right" if judgement.conformant else "false alarm"
    named = {v.requirement for v in judgement.violations}
    return "right" if row["requirement"] in named else "miss"


def test_golden_set_covers_every_peer_and_outcome() -> None:
    assert {row["peer"] for row in ROWS} == set(PEERS)
    assert all(row["expected"] in ("conformant", "violation") for row in ROWS), (
        "unreviewed exchanges: fill in expected/requirement/clause/note "
        "(see tests/data/stun/capture.py)"
    )
    replies = Counter(str(row["reply"]) for row in ROWS)
    # 487 depends on random tiebreakers (check-ice-controlled), so it is not required here.
    for reply in ("success", "400", "401", "420", "silence"):
        assert replies[reply] > 0, replies
    assert Counter(str(row["expected"]) for row in ROWS)["violation"] >= 10


def test_every_golden_verdict_is_right() -> None:
    table: Counter[tuple[str, str]] = Counter()
    wrong = []
    for row in ROWS:
        judgement = _judge(row)
        score = _score(row, judgement)
        table[(str(row["peer"]), score)] += 1
        if score != "right":
            wrong.append(f"{row['peer']} {row['probe']}: {score}\n{judgement.explain()}")
        # Each rule cites its clause: an RFC and a section for every violation.
        assert all(v.rfc.startswith("RFC ") and "§" in v.rfc for v in judgement.violations)
    summary = {
        peer: {s: table[(peer, s)] for s in ("right", "false alarm", "miss")} for peer in PEERS
    }
    print(json.dumps(summary))
    assert not wrong, "\n".join(wrong)


@dataclass(frozen=True)
class Mutant:
    name: str
    requirement: str
    mutate: Callable[[bytes, dict[str, object]], bytes | None]


def _resign(data: bytes, pwd: str | None) -> bytes:
    """Recompute MESSAGE-INTEGRITY (when the password is known) and FINGERPRINT."""
    out = bytearray(data)
    for raw in scan(bytes(out)).attributes:
        if raw.type == AttributeType.MESSAGE_INTEGRITY and pwd is not None:
            mac = message_integrity_sha1(bytes(out[: raw.offset]), short_term_key(pwd))
            out[raw.offset + 4 : raw.offset + 24] = mac
        elif raw.type == AttributeType.FINGERPRINT:
            out[raw.offset + 4 : raw.offset + 8] = struct.pack(
                "!I", fingerprint(bytes(out[: raw.offset]))
            )
    return bytes(out)


def _flip(index: int) -> Callable[[bytes, dict[str, object]], bytes | None]:
    def mutate(data: bytes, row: dict[str, object]) -> bytes | None:
        out = bytearray(data)
        out[index] ^= 0x01
        return _resign(bytes(out), row["pwd"] if isinstance(row["pwd"], str) else None)

    return mutate


def _mapped_port(data: bytes, row: dict[str, object]) -> bytes | None:
    for raw in scan(data).attributes:
        if raw.type in (AttributeType.XOR_MAPPED_ADDRESS, AttributeType.MAPPED_ADDRESS):
            out = bytearray(data)
            out[raw.offset + 7] ^= 0x01  # the port's low byte
            return _resign(bytes(out), row["pwd"] if isinstance(row["pwd"], str) else None)
    return None


def _xor_not_applied(data: bytes, row: dict[str, object]) -> bytes | None:
    """XOR-MAPPED-ADDRESS carrying the address un-XORed (computed against nothing); only
    where the client reads it (its request had the magic cookie, RFC 5389 §12.1)."""
    if bytes.fromhex(str(row["request"]))[4:8] != struct.pack("!I", MAGIC_COOKIE):
        return None
    for raw in scan(data).attributes:
        if raw.type == AttributeType.XOR_MAPPED_ADDRESS and len(raw.value) == 8:
            out = bytearray(data)
            cookie = struct.pack("!I", MAGIC_COOKIE)
            for i in range(2):
                out[raw.offset + 6 + i] ^= cookie[i]
            for i in range(4):
                out[raw.offset + 8 + i] ^= cookie[i]
            return _resign(bytes(out), row["pwd"] if isinstance(row["pwd"], str) else None)
    return None


def _unsign_or_sign(data: bytes, row: dict[str, object]) -> bytes | None:
    """Break MESSAGE-INTEGRITY of a signed answer (its last HMAC byte)."""
    for raw in scan(data).attributes:
        if raw.type == AttributeType.MESSAGE_INTEGRITY and isinstance(row["pwd"], str):
            out = bytearray(data)
            out[raw.offset + 23] ^= 0x01
            return _resign_fp_only(bytes(out))
    return None


def _resign_fp_only(data: bytes) -> bytes:
    return _resign(data, None)


MUTANTS = (
    Mutant("transaction-id byte 0", "STUN-5", _flip(8)),
    Mutant("transaction-id byte 11", "STUN-5", _flip(19)),
    Mutant("cookie byte 3", "STUN-5", _flip(7)),
    Mutant("mapped port", "STUN-13", _mapped_port),
    Mutant("XOR not applied", "STUN-13", _xor_not_applied),
    Mutant("MESSAGE-INTEGRITY", "STUN-10", _unsign_or_sign),
)


def _answered_right() -> list[dict[str, object]]:
    return [row for row in ROWS if row["expected"] == "conformant" and row["reply"] != "silence"]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutated_real_answers_are_caught(mutant: Mutant) -> None:
    tried = 0
    for row in _answered_right():
        first = bytes.fromhex(str(row["answers"][0]))  # type: ignore[index]
        mutated = mutant.mutate(first, row)
        if mutated is None:
            continue
        tried += 1
        judgement = _judge(row, [mutated])
        named = {v.requirement for v in judgement.violations}
        assert mutant.requirement in named, f"{row['peer']} {row['probe']}: {judgement.explain()}"
    assert tried >= 3, f"{mutant.name}: only {tried} real answers to mutate"


def test_a_dropped_answer_is_caught() -> None:
    """Silence where the request calls for an answer is a violation of the outcome's rule."""
    for row in _answered_right():
        judgement = _judge(row, [])
        if Reply.SILENCE in judgement.outcome.accepted:
            continue
        assert judgement.reply is Reply.SILENCE
        assert judgement.outcome.requirement in {v.requirement for v in judgement.violations}


def test_hmac_helper_matches_the_real_signatures() -> None:
    """_resign reproduces a real agent's MESSAGE-INTEGRITY, so the mutants only break
    what they name."""
    signed = [row for row in _answered_right() if row["pwd"] and row["reply"] == "success"]
    assert signed
    for row in signed:
        original = bytes.fromhex(str(row["answers"][0]))  # type: ignore[index]
        assert hmac.compare_digest(_resign(original, str(row["pwd"])), original)


def test_declared_deviations_are_the_reviewed_violations() -> None:
    """The peers' target files declare exactly what the review found them getting wrong."""
    from harness.conformance.stun_peers import KNOWN_DEVIATIONS

    for peer in PEERS:
        found = {
            str(row["probe"])
            for row in ROWS
            if row["peer"] == peer and row["expected"] == "violation"
        }
        assert set(KNOWN_DEVIATIONS[peer]) == found, peer
