"""The reporter on the real reference stack: hop captures become a pcap, passwords do not.

The calls' passwords are random and never leave the client, so the check is on
shape: no ``ice_pwd``/``a=ice-pwd``/``bot_pwd`` value anywhere under the results
dir (pcap payloads unmasked) that is not the redaction mark.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import TCP, UDP
from scapy.utils import rdpcap

from harness.reports.redact import unmask_websocket

SUITE = """
import pytest


@pytest.mark.happy_path
@pytest.mark.requirements("SIG-8")
def test_calls_with_capture(ullc_target, ullc_calls, ullc_capture, ullc_faults):
    links = sorted(ullc_target.link_addresses)
    ullc_capture.start("client-gateway", *[l for l in links if l.startswith("client-edge.")])
    edge = next(l for l in links if l.startswith("client-edge.") and ".pin." not in l)
    ullc_faults.latency(edge, 20)
    assert ullc_calls.run(3).stats.connected == 3
"""

UNREDACTED = re.compile(
    rb"(ice[-_]pwd|bot_pwd)[\"']?\s*[:=]\s*[\"']?(?!<redacted>|\*)[A-Za-z0-9+/]{6,}"
)


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_reference_stack_run_gets_a_redacted_pcap_of_the_sample_call(tmp_path: Path) -> None:
    suite = tmp_path / "run" / "suites" / "happy_path"
    suite.mkdir(parents=True)
    (suite / "test_stack_suite.py").write_text(SUITE)
    results = tmp_path / "allure-results"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--alluredir", str(results)],
        cwd=tmp_path / "run",
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (case,) = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    attachments = {a["name"]: results / a["source"] for a in case["attachments"]}
    pcap = attachments["sample call (pcapng)"]
    packets = rdpcap(str(pcap))
    comments = b" ".join(p.comment for p in packets)
    # The sample call's checks crossed an edge hop and its session.create the gateway hop.
    assert b"link=client-edge." in comments
    assert b"link=client-gateway" in comments
    assert any(UDP in p and bytes(p[UDP].payload)[4:8] == b"\x21\x12\xa4\x42" for p in packets)
    clear = [unmask_websocket(bytes(p[TCP].payload)) for p in packets if TCP in p]
    assert any(b"session.create" in c for c in clear)
    assert any(b'"ice_pwd":"****' in c or b'"ice_pwd": "****' in c for c in clear)
    for path in results.iterdir():
        views = [path.read_bytes()]
        if path.suffix == ".pcapng":
            views += [
                unmask_websocket(bytes(p[TCP].payload)) for p in rdpcap(str(path)) if TCP in p
            ]
        for view in views:
            assert UNREDACTED.search(view) is None, path.name
