"""Redaction: no password from a realistic evidence, target or log survives redact()."""

from __future__ import annotations

import json
from pathlib import Path

from report_samples import BOT, CLIENT, PASSWORDS, evidence, masked_frame, session_create

from harness.reports.redact import MARK, Redactor, redact, secrets_of_target, unmask_websocket
from harness.target.model import ControlUrls, Endpoints, ReferenceInfo, Target


def test_logs_json_sdp_and_command_lines_lose_every_password(tmp_path: Path) -> None:
    found = evidence(tmp_path)
    texts = [path.read_text() for path in found.component_logs.values()]
    texts.append(session_create().decode())
    texts.append(json.dumps(json.loads(session_create()), indent=2))
    texts.append(repr({"ice_pwd": CLIENT.pwd, "bot_pwd": BOT.pwd}))
    for text in texts:
        cleaned = redact(text)
        for secret in PASSWORDS:
            assert secret not in cleaned, text
        assert BOT.key.hex() not in cleaned  # the MESSAGE-INTEGRITY key, as a log prints it
    joined = redact("\n".join(texts))
    # Ufrags are public (every USERNAME carries them) and stay, so the report still reads.
    assert CLIENT.ufrag in joined
    assert BOT.ufrag in joined
    assert f"a=ice-pwd:{MARK}" in joined


def test_what_the_target_marks_secret_is_redacted_wherever_it_appears() -> None:
    target = Target(
        name="acme",
        endpoints=Endpoints(gateway="wss://bot:gw-Secret-77@acme.test/ws"),
        control=ControlUrls(gateway="http://admin:ctl-Secret-99@127.0.0.1:9000"),
        reference=ReferenceInfo(extra={"kv": {"redis_password": "kv-Secret-55"}, "region": "eu"}),
    )
    found = secrets_of_target(target)
    assert set(found) == {"gw-Secret-77", "ctl-Secret-99", "kv-Secret-55"}
    rules = Redactor()
    rules.add(*found)
    # A bare literal with no telltale key around it is caught only because the target said so.
    line = "retrying with gw-Secret-77 then kv-Secret-55 (region eu)"
    assert redact(line, rules) == f"retrying with {MARK} then {MARK} (region eu)"
    assert "gw-Secret-77" in redact(line)  # without the target's secrets: not known


def test_bytes_keep_their_length_and_masked_frames_are_cleaned() -> None:
    frame = masked_frame(session_create())
    assert CLIENT.pwd.encode() not in frame  # masking hides it from a search ...
    assert CLIENT.pwd.encode() in unmask_websocket(frame)  # ... but not from a reader
    cleaned = redact(frame)
    assert len(cleaned) == len(frame)
    clear = unmask_websocket(cleaned)
    for secret in (CLIENT.pwd, BOT.pwd):
        assert secret.encode() not in clear
    assert CLIENT.ufrag.encode() in clear


def test_redaction_is_idempotent(tmp_path: Path) -> None:
    text = next(iter(evidence(tmp_path).component_logs.values())).read_text()
    once = redact(text)
    assert redact(once) == once
