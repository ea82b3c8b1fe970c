"""The reporter plugin object: Allure steps, labels, links and attachments per suite test.

Registered by :mod:`harness.plugin` (``config.pluginmanager.register``). State
lives on the object, not in module globals (pytest-xdist's habit). The only
module of :mod:`harness.reports` that knows pytest or Allure; the others build
PNG, SVG, pcap and tables from plain data.

Where the data comes from: each suite test's
:class:`~harness.evidence.Evidence` in ``item.stash[EVIDENCE_KEY]``
(:mod:`harness.fixtures.evidence`), read in the *teardown* report, when the
fixtures that place calls, apply faults and collect captures have finished.

With ``--alluredir`` (allure-pytest active) each suite test gets:

- steps: one per call batch, and the sample call's phases (DNS, signaling,
  checks per target, connected/failed);
- ``requirement`` labels, ``feature``/``story`` by spec family and ID, and a
  link to ``specs/<file>.md#<ID>`` per cited requirement;
- attachments: latency histogram + CDF (PNG), sample-call timeline (SVG),
  fault log, topology and evidence (JSON), sample-call pcapng, and, when the
  test failed, the logs of the stack's components.

At session end it writes ``environment.properties`` and ``categories.json``
into the results directory and redacts every text file written there during
the run. Without ``--alluredir`` it still prints the per-suite summary table.
Heavy imports (matplotlib, scapy, allure) happen only when something is drawn.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.client.result import CallResult
from harness.evidence import CallBatch, Evidence
from harness.fixtures.evidence import EVIDENCE_KEY
from harness.fixtures.run import RUN_KEY
from harness.reports.phases import call_phases, call_span_ms, call_title
from harness.reports.redact import Redactor, redact, secrets_of_target
from harness.reports.summary import CallSample, RunSummary, TestOutcome

PLUGIN_NAME = "ullc-reports"
REPORT_ATTRIBUTE = "ullc_calls"
"""Attribute of the teardown TestReport carrying the test's calls as JSON (crosses xdist)."""

LOG_TAIL_BYTES = 256 * 1024
"""Per component log, the tail attached on failure: the end holds what went wrong."""

SPEC_FILES = {
    "SIG": "signaling.md",
    "STUN": "stun.md",
    "SDP": "sdp.md",
    "ROUTE": "routing.md",
    "SESS": "sessions.md",
    "RACE": "race.md",
    "FB": "fallback.md",
    "CTL": "control-api.md",
    "TGT": "target-file.md",
    "TOPO": "topology.md",
    "CLI": "client.md",
}
"""Requirement prefix -> spec file (specs/README.md)."""

COVERAGE_MARKDOWN = "requirement-coverage.md"
COVERAGE_JSON = "requirement-coverage.json"
"""Written into the results dir at session end; ``ullc-harness report`` copies them."""

SPECS_URL_ENV = "ULLC_SPECS_URL"
"""Base URL of ``specs/`` for requirement links, e.g. a repository's blob URL."""

CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "Budget exceeded",
        "description": "p95 (or a single call) over the connect budget (DESIGN section 4)",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?is).*\bbudget\b.*",
    },
    {
        "name": "Fallback failure",
        "description": "a call whose routes diverged did not recover (specs/fallback.md)",
        "matchedStatuses": ["failed"],
        # Not the bare word: CallStats.table() in many messages lists "fallbacks" rows.
        "messageRegex": (
            r"(?is).*(\bFB-\d+|fall ?back (fail|did not|never|timed out)"
            r"|did not (fall ?back|recover)|not recover).*"
        ),
    },
    {
        "name": "Protocol violation",
        "description": "the target broke a requirement of specs/ (message names the ID)",
        "matchedStatuses": ["failed"],
        "messageRegex": (
            r"(?is).*(protocol|violat|\b(SIG|STUN|SDP|ROUTE|SESS|RACE|CTL|TGT|TOPO)-\d+).*"
        ),
    },
    {
        "name": "Harness error",
        "description": "the test could not run as written: an exception, not an assertion",
        "matchedStatuses": ["broken"],
    },
]
"""Allure categories, first match wins: budget before fallback before protocol."""

_TEXT_SUFFIXES = {".json", ".txt", ".properties", ".svg", ".log", ".xml", ".csv", ".html"}


def spec_link(requirement: str) -> str:
    """``<base>/<file>.md#<ID>``; base from ``ULLC_SPECS_URL`` or the packaged specs folder."""
    prefix = requirement.split("-", 1)[0]
    name = SPEC_FILES.get(prefix, "README.md")
    base = os.environ.get(SPECS_URL_ENV)
    if not base:
        from importlib.resources import files

        base = Path(str(files("harness.specs"))).as_uri()
    return f"{base.rstrip('/')}/{name}#{requirement}"


@dataclass(frozen=True)
class _Sample:
    result: CallResult
    batch: CallBatch

    @property
    def started_at(self) -> float:
        """Monotonic instant of the call's connect; its batch's start for older results."""
        own = self.result.started_at
        return own if own is not None else self.batch.started_at


def _sample(evidence: Evidence) -> _Sample | None:
    result = evidence.sample_call()
    if result is None:
        return None
    for batch in evidence.batches:
        if any(candidate is result for candidate in batch.results):
            return _Sample(result, batch)
    return None


def _option(config: pytest.Config, name: str) -> Any:
    """A ``--ullc-<name>`` value (command line, then ini), or None when not registered/set."""
    value = config.getoption(f"ullc_{name}", None)
    if value in (None, ""):
        with contextlib.suppress(ValueError, KeyError):
            value = config.getini(f"ullc_{name}")
    return value if value not in (None, "", []) else None


class ReportPlugin:
    """Reads each suite test's Evidence; attaches it to Allure; prints the suite summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.redactor = Redactor()
        """Literal secrets of this run; fixtures may ``add()`` values they know are secret."""
        self.summary = RunSummary()
        self.started = time.time()
        self.errors: list[str] = []
        """Attachments that could not be made (listed in the terminal summary)."""
        self.facts: dict[str, str] = {}
        """environment.properties values seen in evidence (target, seed)."""
        configured = config.getoption("allure_report_dir", None)
        self.results_dir = None if configured is None else Path(configured).absolute()

    # -- hooks --------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
        if report.failed:
            item.stash[_FAILED] = True
        if report.when == "call" or not report.passed:
            phase = TestOutcome(report.outcome)
            item.stash[_OUTCOME] = TestOutcome.combine(item.stash.get(_OUTCOME, None), phase)
        if report.when != "teardown":
            return
        evidence = item.stash.get(EVIDENCE_KEY, None)
        # Every test gets an Evidence; only suite tests and tests that placed calls are reported.
        if evidence is None or (evidence.suite is None and not evidence.batches):
            return
        budget = self._budget(evidence)
        self._learn_secrets()
        data: dict[str, Any] = {
            # Suite tests know their suite (harness.fixtures.evidence.suite_of); a test
            # elsewhere that placed calls gets a row named after its top folder.
            "suite": evidence.suite or item.nodeid.split("/", 1)[0].split("::", 1)[0],
            "budget_ms": budget,
            "target": evidence.target_name,
            "seed": evidence.seed,
            "calls": [CallSample.of(r).to_json() for r in evidence.results],
            "outcome": item.stash.get(_OUTCOME, TestOutcome.PASSED).value,
        }
        setattr(report, REPORT_ATTRIBUTE, data)
        if self.results_dir is not None:
            try:
                self._report(evidence, failed=item.stash.get(_FAILED, False), budget_ms=budget)
            except Exception as error:
                # A report that cannot be drawn must not take the test run down with it:
                # the failure is listed at the end of the run instead.
                data["report_error"] = f"{item.nodeid}: {type(error).__name__}: {error}"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Runs on the xdist controller too, with the attribute carried over from the worker.
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if report.when != "teardown" or not isinstance(data, dict):
            return
        if data.get("report_error"):
            self.errors.append(str(data["report_error"]))
        samples = [CallSample.from_json(row) for row in data.get("calls", [])]
        budget = data.get("budget_ms")
        self.summary.add(
            str(data["suite"]),
            samples,
            None if budget is None else float(budget),
            TestOutcome(data.get("outcome", TestOutcome.PASSED)),
        )
        for key in ("target", "seed", "budget_ms"):
            value = data.get(key)
            if value is not None:
                self.facts.setdefault(key, f"{value:g}" if isinstance(value, float) else str(value))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.errors:
            terminalreporter.write_sep("=", "ULLC report errors (attachments missing)")
            for line in self.errors:
                terminalreporter.write_line(redact(line, self.redactor))
        if not self.summary.rows:
            return
        terminalreporter.write_sep("=", "ULLC summary (per suite)")
        terminalreporter.write_line(redact(self.summary.table(), self.redactor))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.results_dir is None or hasattr(session.config, "workerinput"):
            return  # xdist workers: the controller writes the run-wide files once
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self._write_coverage(self.results_dir)
        self._write(self.results_dir / "environment.properties", self._environment())
        self._write(self.results_dir / "categories.json", json.dumps(CATEGORIES, indent=2))
        self.sweep()

    # -- what the run knows ---------------------------------------------------------------
    def _running_target(self) -> Any:
        """The started target of this run (process), or None; never starts one."""
        run = self.config.stash.get(RUN_KEY, None)
        # ``session`` is a cached_property: only look if it was built, building is not ours.
        session = None if run is None else vars(run).get("session")
        if session is None or not session.started:
            return None
        return session.get()

    def _budget(self, evidence: Evidence) -> float | None:
        """The budget the suites hold p95 to (one rule: ``resolve_budget_ms``), else None."""
        from harness.fixtures.settings import resolve_budget_ms

        run = self.config.stash.get(RUN_KEY, None)
        if run is None:
            return None
        running = self._running_target()
        limits = getattr(getattr(running, "target", None), "limits", None)
        value = resolve_budget_ms(run.settings, getattr(limits, "connect_budget_ms", None))
        return None if value is None else float(value)

    def _learn_secrets(self) -> None:
        running = self._running_target()
        if running is not None:
            self.redactor.add(*secrets_of_target(getattr(running, "target", None)))

    def _environment(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        def installed(name: str) -> str:
            try:
                return version(name)
            except PackageNotFoundError:
                return "not installed"

        reference = "reference"
        run = self.config.stash.get(RUN_KEY, None)
        if run is not None:  # the session seed replays the whole run; tests derive theirs
            self.facts["seed"] = str(run.seed)
        facts = {
            "ullc-harness": installed("ullc-harness"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "pytest": pytest.__version__,
            "allure-pytest": installed("allure-pytest"),
            "backend": str(_option(self.config, "backend") or "local"),
            "target": self.facts.get("target") or str(_option(self.config, "target") or reference),
            "seed": self.facts.get("seed") or str(_option(self.config, "seed") or "random"),
            "requirement_coverage": self.facts.get("requirement_coverage", "not computed"),
            "budget_ms": str(
                _option(self.config, "budget_ms")
                or self.facts.get("budget_ms")
                or "the target's connect_budget_ms"
            ),
        }

        # Java properties: ':' '=' and '\' are special in keys and values.
        def esc(text: str) -> str:
            return text.replace("\\", "\\\\").replace("=", "\\=").replace(":", "\\:")

        return "".join(f"{esc(key)}={esc(value)}\n" for key, value in facts.items())

    def _write_coverage(self, results_dir: Path) -> None:
        """The requirement coverage table of the installed suites (``ullc-harness coverage``)
        beside the results, named in the report's environment; ``ullc-harness report``
        copies it next to index.html."""
        from harness.errors import HarnessError
        from harness.spec_coverage.table import current

        try:
            table = current()
        except (HarnessError, OSError, ValueError) as error:
            self.errors.append(f"requirement coverage table not written: {error}")
            return
        self._write(results_dir / COVERAGE_MARKDOWN, table.markdown())
        self._write(results_dir / COVERAGE_JSON, json.dumps(table.to_json(), indent=1))
        self.facts["requirement_coverage"] = f"{table.summary()} (table: {COVERAGE_MARKDOWN})"

    def _write(self, path: Path, text: str) -> None:
        path.write_text(redact(text, self.redactor), encoding="utf-8")

    def sweep(self) -> int:
        """Redact every text file written under the results dir since the session started.

        allure-pytest writes results, captured output and failure messages itself;
        this pass is what makes "no password under the results dir" hold for them too.
        """
        if self.results_dir is None or not self.results_dir.is_dir():
            return 0
        changed = 0
        for path in self.results_dir.iterdir():
            if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES:
                continue
            if path.stat().st_mtime < self.started - 1:
                continue  # an earlier run's file: swept by that run
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            cleaned = redact(text, self.redactor)
            if cleaned != text:
                path.write_text(cleaned, encoding="utf-8")
                changed += 1
        return changed

    # -- per test -----------------------------------------------------------------------
    def _report(self, evidence: Evidence, *, failed: bool, budget_ms: float | None) -> None:
        allure = _allure()

        for requirement in evidence.requirements:
            allure.dynamic.label("requirement", requirement)
            allure.dynamic.story(requirement)
            allure.dynamic.link(spec_link(requirement), name=requirement)
        families = {SPEC_FILES.get(r.split("-", 1)[0]) for r in evidence.requirements}
        for family in sorted(f.removesuffix(".md") for f in families if f):
            allure.dynamic.feature(family)
        if evidence.seed is not None:
            allure.dynamic.parameter("seed", evidence.seed, excluded=True)
        sample = _sample(evidence)
        self._steps(evidence, sample)
        self._attachments(evidence, sample, budget_ms)
        if failed:
            self._logs(evidence)

    def _steps(self, evidence: Evidence, sample: _Sample | None) -> None:
        allure = _allure()
        clock = _WallClock()

        for batch in evidence.batches:
            s = batch.stats
            p = " ".join(
                f"{name} {value:.1f} ms"
                for name, value in (("p50", s.p50_ms), ("p95", s.p95_ms), ("p99", s.p99_ms))
                if value is not None
            )
            title = (
                f"batch {batch.label}: {s.connected}/{s.calls} connected, {p}, "
                f"{s.fallbacks} fallbacks"
            )
            with _timed_step(title, clock.ms(batch.started_at), clock.ms(batch.finished_at)):
                pass
        if sample is None:
            return
        result = sample.result
        # Phases are placed on the wall clock from the call's own monotonic start.
        origin = clock.ms(result.started_at) if result.started_at is not None else None

        def at(offset_ms: float) -> int | None:
            return None if origin is None else round(origin + offset_ms)

        call_step = _timed_step(call_title(result), at(0.0), at(call_span_ms(result)))
        with contextlib.suppress(_CallFailedError), call_step:
            for phase in call_phases(result):
                title = redact(phase.title, self.redactor)
                with _timed_step(title, at(phase.start_ms), at(phase.end_ms)):
                    pass
            if not result.connected:
                # Raising inside the step is how allure marks it (and its parent) failed.
                with allure.step(f"failed: {result.failure} ({result.detail or 'no detail'})"):
                    raise _CallFailedError

    def _attachments(
        self, evidence: Evidence, sample: _Sample | None, budget_ms: float | None
    ) -> None:
        allure = _allure()

        from harness.reports.plots import LatencySeries, latency_png
        from harness.reports.timeline import fault_spans, timeline_svg

        if evidence.batches:
            series = [
                LatencySeries(
                    redact(b.label, self.redactor),
                    tuple(r.connect_ms for r in b.results if r.connected and r.connect_ms),
                )
                for b in evidence.batches
            ]
            png = latency_png(
                series, budget_ms=budget_ms, title=f"connect latency: {evidence.test_id}"
            )
            allure.attach(png, "latency histogram + CDF", allure.attachment_type.PNG)
        if sample is not None:
            spans = fault_spans(evidence.fault_log, sample.started_at)
            svg = timeline_svg(sample.result, faults=spans)
            allure.attach(
                redact(svg, self.redactor),
                "timeline of the sample call",
                allure.attachment_type.SVG,
            )
        faults = (
            evidence.fault_log.to_json()
            if evidence.fault_log is not None
            else {"seed": evidence.seed, "events": []}
        )
        self._json("fault log", faults)
        if evidence.topology is not None:
            self._json("topology", evidence.topology)
        body = evidence.to_json()
        if sample is not None:
            body["sample_call"] = sample.result.to_json(timeline=True)
        self._json("evidence", body)
        if sample is not None and evidence.captures:
            self._pcap(evidence, sample)

    def _json(self, name: str, data: Any) -> None:
        allure = _allure()

        text = json.dumps(data, indent=2, default=str)
        allure.attach(redact(text, self.redactor), name, allure.attachment_type.JSON)

    def _pcap(self, evidence: Evidence, sample: _Sample) -> None:
        allure = _allure()

        from harness.reports.pcap import call_records, hop_records, write_pcap

        records = call_records(hop_records(evidence.captures), sample.result)
        if not records:
            return
        with tempfile.TemporaryDirectory(prefix="ullc-pcap-") as folder:
            path = Path(folder) / "sample-call.pcapng"
            write_pcap(records, path, redactor=self.redactor)
            allure.attach.file(str(path), "sample call (pcapng)", "application/x-pcapng", "pcapng")

    def _logs(self, evidence: Evidence) -> None:
        allure = _allure()

        for component, path in sorted(evidence.component_logs.items()):
            if not _involved(evidence, component):
                continue
            try:
                with Path(path).open("rb") as handle:
                    size = handle.seek(0, os.SEEK_END)
                    handle.seek(max(0, size - LOG_TAIL_BYTES))
                    raw = handle.read()
            except OSError as error:
                text = f"(log {path} unreadable: {error})"
            else:
                if not raw.strip():
                    continue  # an empty log says nothing; 20 empty attachments hide the rest
                text = raw.decode("utf-8", errors="replace")
                if size > LOG_TAIL_BYTES:
                    text = f"(last {LOG_TAIL_BYTES} of {size} bytes of {path})\n" + text
            allure.attach(
                redact(text, self.redactor), f"log: {component}", allure.attachment_type.TEXT
            )


def _involved(evidence: Evidence, component: str) -> bool:
    """Whether a component's log helps explain this test's failure.

    Components of a data center no call reached are left out, unless a call
    failed or fell back: then the DC the edge picked may be the culprit and it
    is not in the results, so every log goes in.
    """
    results = evidence.results
    touched = {r.dc for r in results if r.dc}
    if not touched or any(not r.connected or r.fell_back for r in results):
        return True
    dcs = {
        dc
        for region in (evidence.topology or {}).get("regions", [])
        for dc in region.get("dcs", [])
    }
    owner = component.split(".", 1)[0]
    return owner not in dcs or owner in touched


_FAILED = pytest.StashKey[bool]()
_OUTCOME = pytest.StashKey[TestOutcome]()


def _allure() -> Any:
    """allure, imported when first used (allure-pytest is untyped: Any keeps mypy strict)."""
    import allure

    return allure


class _CallFailedError(Exception):
    """Internal: raised inside an allure step to mark the sample call's failure step red."""


class _WallClock:
    """Maps ``time.monotonic()`` readings to epoch milliseconds, as Allure times steps."""

    def __init__(self) -> None:
        self._offset_s = time.time() - time.monotonic()

    def ms(self, monotonic_s: float) -> int:
        return round((monotonic_s + self._offset_s) * 1000)


@contextlib.contextmanager
def _timed_step(title: str, start_ms: int | None, stop_ms: int | None) -> Iterator[None]:
    """An Allure step that shows when its phase really ran, not when the report was written.

    allure's public API times a step by its ``with`` block, and the report is written after
    the calls; so the step object is looked up in allure-pytest's reporter and re-timed
    after the block closes. Should that internal change, steps keep their block's times.
    """
    context = _allure().step(title)
    step = None
    try:
        with context:
            step = _open_step(context.uuid)
            yield
    finally:  # also when the step failed: allure has stopped it by now either way
        if step is not None and start_ms is not None and stop_ms is not None:
            step.start, step.stop = start_ms, max(start_ms, stop_ms)


def _open_step(uuid: str) -> Any:
    import allure_commons

    for plugin in allure_commons.plugin_manager.get_plugins():
        reporter = getattr(plugin, "allure_logger", None)
        if reporter is not None and hasattr(reporter, "get_item"):
            return reporter.get_item(uuid)
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Module hook: :mod:`harness.plugin` imports this module as a plugin; the object works."""
    if config.pluginmanager.get_plugin(PLUGIN_NAME) is None:
        config.pluginmanager.register(ReportPlugin(config), PLUGIN_NAME)
