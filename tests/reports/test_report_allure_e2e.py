"""End to end through pytest: a suite-style test run with --alluredir gets every attachment.

Runs a small suite file in a subprocess (allure-commons keeps global plugin
state, so an in-process run would report into the outer run's results too).
The tests fill the plugin's own ``ullc_evidence`` from report_samples: calls,
faults, captures and logs with planted passwords.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from report_samples import BOT, PASSWORDS

from harness.reports.redact import unmask_websocket

HERE = Path(__file__).resolve().parent

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


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The suite run once for every test here (a pytest subprocess takes seconds)."""
    pytester_dir = tmp_path_factory.mktemp("e2e")
    (pytester_dir / "suites" / "fallback").mkdir(parents=True)
    (pytester_dir / "suites" / "fallback" / "test_sample_suite.py").write_text(SUITE)
    results = pytester_dir / "allure-results"
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--alluredir", str(results)],
        cwd=pytester_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # one test fails on purpose
    return results, done.stdout


def _results(results: Path) -> dict[str, dict]:
    cases = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    return {case["name"]: case for case in cases}


def test_every_suite_test_gets_plots_timeline_json_and_pcap(run: tuple[Path, str]) -> None:
    results, _ = run
    cases = _results(results)
    assert set(cases) == {"test_diverged_call_recovers", "test_diverged_call_fails"}
    for case in cases.values():
        attachments = {a["name"]: a for a in case["attachments"]}
        expected = {
            "latency histogram + CDF": ("image/png", b"\x89PNG"),
            "timeline of the sample call": ("image/svg+xml", b"<?xml"),
            "fault log": ("application/json", b"{"),
            "topology": ("application/json", b"{"),
            "evidence": ("application/json", b"{"),
            "sample call (pcapng)": ("application/x-pcapng", b"\x0a\x0d\x0d\x0a"),
        }
        for name, (mime, magic) in expected.items():
            assert attachments[name]["type"] == mime
            assert (results / attachments[name]["source"]).read_bytes().startswith(magic)
        faults = json.loads((results / attachments["fault log"]["source"]).read_text())
        assert [e["what"] for e in faults["events"]][:2] == ["latency", "latency"]
        steps = [step["name"] for step in case["steps"]]
        assert steps[0].startswith("batch ullc: 12/12 connected")
        assert steps[1].startswith("sample ullc call: connected after fallback in 171.0 ms")
        phases = [sub["name"] for sub in case["steps"][1]["steps"]]
        assert any(p.startswith("signaling: session.create sent") for p in phases)
        assert any(p.startswith("retarget ->") for p in phases)


def test_failed_test_gets_component_logs(run: tuple[Path, str]) -> None:
    results, _ = run
    cases = _results(results)
    failed = cases["test_diverged_call_fails"]
    assert failed["status"] == "failed"
    names = {a["name"]: a for a in failed["attachments"]}
    assert {"log: gateway", "log: dc-b.handler"} <= set(names)
    assert names["log: gateway"]["type"] == "text/plain"
    passed = {a["name"] for a in cases["test_diverged_call_recovers"]["attachments"]}
    assert not any(name.startswith("log: ") for name in passed)


def test_labels_and_links_carry_requirement_ids(run: tuple[Path, str]) -> None:
    results, _ = run
    case = _results(results)["test_diverged_call_recovers"]
    requirements = [label["value"] for label in case["labels"] if label["name"] == "requirement"]
    assert requirements == ["FB-4", "SIG-8"]
    features = {label["value"] for label in case["labels"] if label["name"] == "feature"}
    assert features == {"fallback", "signaling"}
    links = {link["name"]: link["url"] for link in case["links"]}
    assert links["FB-4"].endswith("/fallback.md#FB-4")
    assert links["SIG-8"].endswith("/signaling.md#SIG-8")


def test_environment_and_categories_are_in_the_results_dir(run: tuple[Path, str]) -> None:
    results, _ = run
    properties = dict(
        line.split("=", 1)
        for line in (results / "environment.properties").read_text().split("\n")
        if line
    )
    assert {
        "ullc-harness",
        "python",
        "pytest",
        "allure-pytest",
        "backend",
        "target",
        "seed",
    } <= set(properties)
    assert properties["backend"] == "local"
    assert properties["seed"].isdigit()
    categories = json.loads((results / "categories.json").read_text())
    assert [c["name"] for c in categories] == [
        "Budget exceeded",
        "Fallback failure",
        "Protocol violation",
        "Harness error",
    ]


def test_no_password_anywhere_under_the_results_dir(run: tuple[Path, str]) -> None:
    results, _ = run
    secrets = [s.encode() for s in PASSWORDS[:2]] + [BOT.key.hex().encode()]
    files = [p for p in results.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        raw = path.read_bytes()
        # pcap payloads hold client frames masked: look at them unmasked too.
        views = [raw, unmask_websocket(raw)]
        if path.suffix == ".pcapng":
            from scapy.layers.inet import TCP
            from scapy.utils import rdpcap

            views += [
                unmask_websocket(bytes(p[TCP].payload)) for p in rdpcap(str(path)) if TCP in p
            ]
        for view in views:
            for secret in secrets:
                assert secret not in view, f"{secret!r} in {path.name}"
    # The planted ones really went through: the stdout and the failure message were redacted.
    texts = "".join(p.read_text(errors="replace") for p in files if p.suffix in (".txt", ".json"))
    assert "pwd=<redacted>" in texts
    assert "ice_pwd=<redacted>" in texts


def test_terminal_summary_has_a_row_per_suite(run: tuple[Path, str]) -> None:
    _, stdout = run
    assert "ULLC summary (per suite)" in stdout
    row = next(line for line in stdout.splitlines() if line.startswith("fallback "))
    assert row.split()[:4] == ["fallback", "2", "24", "24"]
    assert "PASS" in row


BROKEN = """
import pytest
from report_samples import evidence


@pytest.mark.happy_path
def test_with_a_capture_the_reporter_cannot_read(ullc_evidence, tmp_path):
    found = evidence(tmp_path / "logs", test_id=ullc_evidence.test_id)
    ullc_evidence.batches.extend(found.batches)
    ullc_evidence.captures["client-edge.edge-a"] = [{"t": 1.0}]  # no addresses, no data
"""


def test_an_attachment_that_cannot_be_made_does_not_fail_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_broken_capture.py").write_text(BROKEN)
    results = tmp_path / "allure-results"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--alluredir", str(results)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(HERE)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ULLC report errors (attachments missing)" in done.stdout
    assert "test_with_a_capture_the_reporter_cannot_read: KeyError" in done.stdout
    (case,) = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    assert case["status"] == "passed"
    # What was made before the failure is kept.
    assert "latency histogram + CDF" in {a["name"] for a in case["attachments"]}
