"""End to end through pytest: a suite-style test run with --alluredir gets every attachment.

The run (``suite_run`` in report_samples) fills the plugin's own ``ullc_evidence``
from report_samples: calls, faults, captures and logs with planted passwords.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_samples import BOT, PASSWORDS, SuiteRun, suite_run
from scapy.layers.inet import TCP
from scapy.utils import rdpcap

from harness.reports.redact import unmask_websocket

__all__ = ["suite_run"]  # a session fixture, shared with the screenshot test

# A whole suite run with Allure: kept out of the 5-min default run, .ci/run runs -m slow.
pytestmark = pytest.mark.slow


def _results(results: Path) -> dict[str, dict]:
    cases = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    return {case["name"]: case for case in cases}


def test_every_suite_test_gets_plots_timeline_json_and_pcap(suite_run: SuiteRun) -> None:
    results = suite_run.results
    cases = _results(results)
    assert set(cases) == {
        "test_diverged_call_recovers",
        "test_diverged_call_fails",
        "test_with_a_capture_the_reporter_cannot_read",
    }
    for case in (cases["test_diverged_call_recovers"], cases["test_diverged_call_fails"]):
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


def test_steps_span_the_phases_of_the_call_not_the_report_writing(suite_run: SuiteRun) -> None:
    case = _results(suite_run.results)["test_diverged_call_recovers"]
    call = case["steps"][1]

    def duration(step: dict) -> int:
        return int(step["stop"] - step["start"])

    # The sample call connected in 171 ms (report_samples.fallback_call).
    assert duration(call) == 171
    by_name = {step["name"].split(" ")[0]: step for step in call["steps"]}
    assert duration(by_name["signaling:"]) == 116  # sent at 4.3 ms, answered at 120.0 ms
    assert duration(by_name["DNS"]) == 4  # 0.2 -> 4.0 ms
    # Phases sit inside the call on the same clock: signaling starts 4 ms in.
    assert by_name["signaling:"]["start"] - call["start"] == 4
    checks = [step for step in call["steps"] if step["name"].startswith("checks ->")]
    assert [duration(step) for step in checks] == [58, 51]  # edge 4.2 -> 62; media 120.3 -> 171


def test_failed_test_gets_component_logs(suite_run: SuiteRun) -> None:
    results = suite_run.results
    cases = _results(results)
    failed = cases["test_diverged_call_fails"]
    assert failed["status"] == "failed"
    names = {a["name"]: a for a in failed["attachments"]}
    assert {"log: gateway", "log: dc-b.handler"} <= set(names)
    assert names["log: gateway"]["type"] == "text/plain"
    passed = {a["name"] for a in cases["test_diverged_call_recovers"]["attachments"]}
    assert not any(name.startswith("log: ") for name in passed)


def test_labels_and_links_carry_requirement_ids(suite_run: SuiteRun) -> None:
    results = suite_run.results
    case = _results(results)["test_diverged_call_recovers"]
    requirements = [label["value"] for label in case["labels"] if label["name"] == "requirement"]
    assert requirements == ["FB-4", "SIG-8"]
    features = {label["value"] for label in case["labels"] if label["name"] == "feature"}
    assert features == {"fallback", "signaling"}
    links = {link["name"]: link["url"] for link in case["links"]}
    assert links["FB-4"].endswith("/fallback.md#FB-4")
    assert links["SIG-8"].endswith("/signaling.md#SIG-8")


def test_environment_and_categories_are_in_the_results_dir(suite_run: SuiteRun) -> None:
    results = suite_run.results
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


def test_no_password_anywhere_under_the_results_dir(suite_run: SuiteRun) -> None:
    results = suite_run.results
    secrets = [s.encode() for s in PASSWORDS[:2]] + [BOT.key.hex().encode()]
    files = [p for p in results.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        raw = path.read_bytes()
        # pcap payloads hold client frames masked: look at them unmasked too.
        views = [raw, unmask_websocket(raw)]
        if path.suffix == ".pcapng":
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


def test_terminal_summary_has_a_row_per_suite(suite_run: SuiteRun) -> None:
    stdout = suite_run.stdout
    assert "ULLC summary (per suite)" in stdout
    row = next(line for line in stdout.splitlines() if line.startswith("fallback "))
    cells = row.split()
    # suite, tests, passed, failed, skipped, calls, connected
    assert [cells[0], cells[1], cells[5], cells[6]] == ["fallback", "2", "24", "24"]
    assert "PASS" in row


def test_an_attachment_that_cannot_be_made_does_not_fail_the_run(suite_run: SuiteRun) -> None:
    assert "ULLC report errors (attachments missing)" in suite_run.stdout
    assert "test_with_a_capture_the_reporter_cannot_read: KeyError" in suite_run.stdout
    case = _results(suite_run.results)["test_with_a_capture_the_reporter_cannot_read"]
    assert case["status"] == "passed"
    # What was made before the failure is kept.
    assert "latency histogram + CDF" in {a["name"] for a in case["attachments"]}


def test_a_failing_step_keeps_its_phase_times(pytester: pytest.Pytester) -> None:
    # The sample call of a failed call ends in a raised step; its times must still be the
    # call's, not the instant the report was written.
    pytester.makepyfile(
        """
        import contextlib
        from harness.reports.allure_reporter import _timed_step

        def test_failed_call_step():
            with contextlib.suppress(RuntimeError), _timed_step("call", 1_000, 1_171):
                with _timed_step("phase", 1_004, 1_120):
                    pass
                raise RuntimeError("timed out")
        """
    )
    results = pytester.path / "allure-results"
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", str(results))
    run.assert_outcomes(passed=1)
    (case,) = _results(results).values()
    (call,) = case["steps"]
    assert call["status"] == "broken"
    assert (call["start"], call["stop"]) == (1_000, 1_171)
    assert [(s["start"], s["stop"]) for s in call["steps"]] == [(1_004, 1_120)]
