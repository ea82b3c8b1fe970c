"""The ``ullc`` pytest plugin (entry point ``pytest11``).

Thin on purpose: options, markers, hook wiring and fixtures that call library
code in :mod:`harness.fixtures` (which works without pytest too). Disable it
with ``-p no:ullc``.

Settings (command line wins over the ini option, which wins over the default):

===================  ==================  ==================================================
option               ini                 meaning
===================  ==================  ==================================================
``--ullc-target``    ``ullc_target``     target file (TOML), or ``reference`` (default): the
                                         embedded reference stack
``--ullc-backend``   ``ullc_backend``    ``local`` (default) or ``docker``
``--ullc-topology``  ``ullc_topology``   topology file of the reference stack
``--ullc-calls``     ``ullc_calls``      calls per batch (default 20)
``--ullc-budget-ms`` ``ullc_budget_ms``  connect budget for p95 (default: the target's)
``--ullc-seed``      ``ullc_seed``       session seed (default random, shown in the header)
``--ullc-client-command`` ``ullc_client_command`` a client under test (CLI-1): ``{target}``,
                                         ``{calls}``; needed by the client suite
===================  ==================  ==================================================

Fixtures (the names are API):

=====================  ========  ===========================================================
fixture                scope     what
=====================  ========  ===========================================================
``ullc_settings``      session   validated :class:`~harness.fixtures.settings.Settings`
``ullc_outline``       session   :class:`~harness.fixtures.target_session.TargetOutline`:
                                 capabilities, DCs, edges, known without starting anything
``ullc_target``        session   :class:`~harness.fixtures.target_session.RunningTarget`:
                                 the started target (``.target`` is what clients use,
                                 ``.backend`` the reference stack or None); lazy: a run that
                                 never asks for it starts nothing; one per xdist worker
``ullc_budget_ms``     session   connect budget in ms (``--ullc-budget-ms`` or the target's)
``ullc_seed``          function  this test's seed (derived from the session seed and node id)
``ullc_evidence``      function  this test's :class:`~harness.evidence.Evidence`
                                 (also ``item.stash[EVIDENCE_KEY]``)
``ullc_calls``         function  :class:`~harness.fixtures.calls.CallRunner`:
                                 ``ullc_calls(n)`` -> CallStats, ``.run(n)`` -> CallBatch
``ullc_client``        function  :class:`~harness.fixtures.calls.ClientHandle`: one client
                                 with its gateway connection; ``.connect()`` -> CallResult
``ullc_faults``        function  :class:`~harness.fixtures.faults.Faults`: vocabulary on
                                 named links, kill/pause, map divergence; all undone after
``ullc_capture``       function  :class:`~harness.fixtures.captures.Capture`: hop capture
                                 rings, stored in the Evidence
``ullc_client_command``  session :class:`~harness.client_target.command.ClientCommand`:
                                 the client under test (skips without
                                 ``--ullc-client-command``)
=====================  ========  ===========================================================

Markers: ``happy_path``, ``fallback``, ``chaos``, ``conformance``, ``fuzz``, ``client`` (suites),
``slow``, ``docker``, ``requires_capability(name, ...)`` (skip with TGT-4's reason) and
``requirements(id, ...)`` (the spec IDs a test checks, into its Evidence).
A failing suite test gets an ``ullc replay`` report section with its seed and
the one command that replays it; the run ends with those commands.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from harness.fixtures.evidence import EVIDENCE_KEY, is_suite_test, new_evidence
from harness.fixtures.run import REPLAY_SECTION, RUN_KEY, UllcRun
from harness.fixtures.settings import OPTIONS
from harness.stack.deaths import DeathWatcher, open_death_watch

if TYPE_CHECKING:
    from harness.client_target.command import ClientCommand
    from harness.evidence import Evidence
    from harness.fixtures.calls import CallRunner, ClientHandle
    from harness.fixtures.captures import Capture
    from harness.fixtures.faults import Faults
    from harness.fixtures.settings import Settings
    from harness.fixtures.target_session import RunningTarget, TargetOutline

__all__ = ["EVIDENCE_KEY", "RUN_KEY", "target_outline"]

DEATH_WATCH_KEY = pytest.StashKey[DeathWatcher]()
"""The run's watch on its reference stack's components (made on the first test after start)."""

MARKERS = {
    "happy_path": "ULLC happy path: connect under budget (specs/ SIG, STUN, ROUTE)",
    "fallback": "wrong-DC calls recover through the signaling response (specs/ FB)",
    "chaos": "faults injected on links and components while calls run",
    "conformance": "strict STUN/SDP/signaling conformance of the target",
    "fuzz": "Hypothesis-driven fuzzing of the target",
    "client": "a client under test against the reference stack (specs/client.md)",
    "slow": "long soak or deep runs; deselect with -m 'not slow'",
    "docker": "needs a Docker daemon (docker backend)",
    "requires_capability(name, ...): skip unless the target declares these capabilities": "",
    "requirements(id, ...): the specs/ requirement IDs the test checks (into its evidence)": "",
}


# -- options and configuration ---------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ullc", "ULLC conformance and chaos harness")
    for option in OPTIONS:
        group.addoption(
            option.flag, dest=option.ini, default=None, metavar=option.metavar, help=option.help
        )
        parser.addini(option.ini, f"{option.help} (also {option.flag})", default="")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Before Hypothesis's configure hook loads --hypothesis-profile, our profile names
    # must exist; importing Hypothesis only then keeps a plain run's start-up light.
    if config.getoption("hypothesis_profile", default=None):
        import harness.fuzz.profiles  # noqa: F401
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}" if text else name)
    config.pluginmanager.import_plugin("harness.reports.allure_reporter")
    from harness.errors import HarnessError
    from harness.fixtures.seeds import draw_session_seed
    from harness.fixtures.settings import TargetKind, resolve_settings

    try:
        settings = resolve_settings(
            lambda name: config.getoption(f"ullc_{name}"),
            lambda name: str(config.getini(f"ullc_{name}")),
            cwd=config.invocation_params.dir,
            ini_dir=config.inipath.parent if config.inipath else None,
        )
    except HarnessError as error:
        raise pytest.UsageError(str(error)) from None
    # xdist workers take the controller's seed, so the header's seed replays any worker.
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and "ullc_seed" in worker_input:
        seed = int(worker_input["ullc_seed"])
    else:
        seed = settings.seed if settings.seed is not None else draw_session_seed()
    run = UllcRun(
        settings=settings,
        seed=seed,
        rootdir=config.rootpath,
        invocation_dir=config.invocation_params.dir,
    )
    if settings.target_kind is TargetKind.FILE:
        try:
            run.outline  # noqa: B018 - a broken target file fails the run at start
        except HarnessError as error:
            raise pytest.UsageError(str(error)) from None
        _refuse_workers_on_one_target(config, worker_input, settings.target_file)
    config.stash[RUN_KEY] = run
    config.pluginmanager.register(ReplaySummary(run), "ullc-replay-summary")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistSeed(seed), "ullc-xdist-seed")


def _refuse_workers_on_one_target(
    config: pytest.Config, worker_input: object, target_file: object
) -> None:
    """``-n N`` against a user target: every worker would drive the same implementation
    while the fallback and chaos suites rewrite its maps and take its DCs down, so one
    worker's test would judge the faults of another's. Refused, with what to do instead."""
    workers = config.getoption("numprocesses", default=None)
    if worker_input is not None or not workers:
        return
    raise pytest.UsageError(
        f"-n {workers} against one user target ({target_file}): the "
        "workers would share that implementation while the fallback and chaos suites "
        "reconfigure it (latency maps, outages, hop faults). Run without -n; only the "
        "embedded reference stack (--ullc-target reference) gives each worker its own target."
    )


class XdistSeed:
    """Hands the controller's session seed to every xdist worker."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def pytest_configure_node(self, node: object) -> None:
        node.workerinput["ullc_seed"] = self.seed  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    run = config.stash.get(RUN_KEY, None)
    return None if run is None else run.header()


# -- per test: evidence, capabilities, replay ------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    from harness.fixtures.capabilities import check_item

    run = item.config.stash[RUN_KEY]
    item.stash[EVIDENCE_KEY] = new_evidence(item, run.test_seed(item.nodeid))
    # Only a marked test, or one using the ullc fixtures (which load the target anyway),
    # reads the outline: an unmarked run never loads the topology.
    if item.get_closest_marker("requires_capability") is not None or _uses_ullc(item):
        check_item(item, run.outline)
    if item.get_closest_marker("docker") is not None:
        from harness.stack.docker.daemon import unreachable_reason

        reason = unreachable_reason()
        if reason is not None:
            pytest.skip(f"docker: {reason}")


def _uses_ullc(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return any(name.startswith("ullc_") for name in names)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    run = item.config.stash[RUN_KEY]
    evidence = item.stash.get(EVIDENCE_KEY, None)
    if evidence is not None and _uses_ullc(item) and run.session.started:
        running = run.session.get()
        evidence.target_name = running.name
        evidence.topology = running.topology_json()
        evidence.component_logs = running.component_logs()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call" and (is_suite_test(item) or _uses_ullc(item)):
        _fail_on_deaths(item, report)
    if report.failed and (is_suite_test(item) or _uses_ullc(item)):
        run = item.config.stash[RUN_KEY]
        report.sections.append((REPLAY_SECTION, run.replay(item.nodeid)))
    return report


def _fail_on_deaths(item: pytest.Item, report: pytest.TestReport) -> None:
    """A stack component that died during the test fails it, named, with its last log lines:
    a crash must not pass for a slow call or a flaky network."""
    run = item.config.stash[RUN_KEY]
    if not run.session.started:
        return
    watch = item.config.stash.get(DEATH_WATCH_KEY, None)
    if watch is None:
        running = run.session.get()
        if running.backend is not None:
            watch = running.backend.death_watch()
        elif running.run_dir is not None:  # a stack `ullc-harness up` runs
            watch = open_death_watch(running.run_dir)
        else:
            return  # a user's implementation: its processes are not ours to watch
        item.config.stash[DEATH_WATCH_KEY] = watch
    deaths = watch.new_deaths()
    if not deaths:
        return
    text = "\n\n".join(death.describe() for death in deaths)
    if report.failed:
        text = f"{text}\n\n{report.longreprtext}"
    report.outcome = "failed"
    report.longrepr = text


class ReplaySummary:
    """Collects replay commands where the terminal is (the controller under xdist, which
    receives the workers' reports with their sections) and prints them at the end."""

    def __init__(self, run: UllcRun) -> None:
        self.run = run

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        for title, text in report.sections:
            if title == REPLAY_SECTION:
                command = text.rsplit("replay: ", 1)[-1].strip()
                if command not in self.run.replays:
                    self.run.replays.append(command)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.run.replays:
            terminalreporter.write_sep("=", "ullc replay")
            for command in self.run.replays:
                terminalreporter.write_line(command)


def target_outline(config: pytest.Config) -> TargetOutline:
    """The run's target outline, for ``pytest_generate_tests`` (e.g. DC pairs of FB-6)."""
    outline: TargetOutline = config.stash[RUN_KEY].outline
    return outline


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ullc_settings(pytestconfig: pytest.Config) -> Settings:
    """The run's validated settings."""
    return pytestconfig.stash[RUN_KEY].settings


@pytest.fixture(scope="session")
def ullc_outline(pytestconfig: pytest.Config) -> TargetOutline:
    """What the target is (capabilities, DCs, edges) without starting it."""
    return pytestconfig.stash[RUN_KEY].outline


@pytest.fixture(scope="session")
def ullc_target(pytestconfig: pytest.Config) -> Iterator[RunningTarget]:
    """The running target; started on first request, stopped at session end."""
    session = pytestconfig.stash[RUN_KEY].session
    try:
        yield session.get()
    finally:
        session.close()


@pytest.fixture(scope="session")
def ullc_budget_ms(ullc_settings: Settings, ullc_target: RunningTarget) -> int:
    """The connect budget p95 is held to: ``--ullc-budget-ms`` or ``[limits].connect_budget_ms``."""
    from harness.fixtures.settings import resolve_budget_ms

    budget = resolve_budget_ms(ullc_settings, ullc_target.target.limits.connect_budget_ms)
    assert budget is not None  # a started target always has a budget
    return budget


@pytest.fixture
def ullc_evidence(request: pytest.FixtureRequest) -> Evidence:
    """This test's Evidence record (the reporter reads it after the test)."""
    evidence: Evidence = request.node.stash[EVIDENCE_KEY]
    return evidence


@pytest.fixture
def ullc_seed(ullc_evidence: Evidence) -> int:
    """This test's seed: ``--ullc-seed`` and the node id replay it."""
    assert ullc_evidence.seed is not None
    return ullc_evidence.seed


@pytest.fixture
def ullc_calls(
    ullc_target: RunningTarget, ullc_evidence: Evidence, ullc_settings: Settings
) -> CallRunner:
    """Places calls: ``ullc_calls(n)`` -> CallStats; each batch lands in the Evidence."""
    from harness.fixtures.calls import CallRunner

    return CallRunner(ullc_target.target, ullc_evidence, default_calls=ullc_settings.calls)


@pytest.fixture
def ullc_client(ullc_target: RunningTarget, ullc_evidence: Evidence) -> Iterator[ClientHandle]:
    """One client with its persistent gateway connection, closed after the test."""
    from harness.fixtures.calls import ClientHandle

    handle = ClientHandle(ullc_target.target, ullc_evidence)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def ullc_faults(
    ullc_target: RunningTarget, ullc_evidence: Evidence, ullc_seed: int
) -> Iterator[Faults]:
    """Faults on links and components; everything undone and logged after the test."""
    from harness.fixtures.faults import Faults

    faults = Faults(ullc_target, ullc_evidence, ullc_seed)
    try:
        yield faults
    finally:
        faults.undo()


@pytest.fixture
def ullc_capture(ullc_target: RunningTarget, ullc_evidence: Evidence) -> Iterator[Capture]:
    """Capture rings on hop links; records go into the Evidence after the test."""
    from harness.fixtures.captures import Capture

    capture = Capture(ullc_target, ullc_evidence)
    try:
        yield capture
    finally:
        capture.stop()


@pytest.fixture(scope="session")
def ullc_client_command(ullc_settings: Settings) -> ClientCommand:
    """The client under test (``--ullc-client-command``, CLI-1); skips without one."""
    from harness.client_target.command import ClientCommand

    if ullc_settings.client_command is None:
        pytest.skip(
            "no client under test: pass --ullc-client-command 'YOUR-CLIENT {target}' "
            "(the reference client: --ullc-client-command 'ullc-harness call --target {target}')"
        )
    return ClientCommand(ullc_settings.client_command)
