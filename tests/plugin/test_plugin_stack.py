"""The plugin against the real embedded stack, through pytester in subprocesses.

Each inner run writes the pids its target started to a file; the outer test
checks that none of them is alive once the run is over (also under xdist and
after Ctrl-C).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.stack.local.backend import LocalBackend, start_local_stack

RECORD_PIDS = """
import json, os, pathlib

def record(running, name):
    pids = dict(running.backend.pids()) if running.backend is not None else {}
    engine = running.fault_client()
    try:
        pids["hop-engine"] = engine.udp.request("GET", "/engine")["pid"]
    finally:
        engine.close()
    network = running.topology.network if running.topology is not None else None
    out = pathlib.Path(os.environ["ULLC_TEST_RECORDS"]) / f"{name}-{os.getpid()}.json"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    out.write_text(json.dumps({"pids": pids, "network": network, "worker": worker}))
"""


def records(directory: Path) -> list[dict[str, object]]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; only its parent's wait() is missing.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_all_gone(found: list[dict[str, object]]) -> None:
    pids = [int(pid) for record in found for pid in record["pids"].values()]  # type: ignore[attr-defined]
    assert pids, "the inner run recorded no pids"
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if alive(pid)] == []


@pytest.fixture
def record_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "records"
    directory.mkdir()
    monkeypatch.setenv("ULLC_TEST_RECORDS", str(directory))
    return directory


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_suite_style_tests_pass_and_fail_against_the_embedded_stack(
    pytester: pytest.Pytester, record_dir: Path
) -> None:
    pytester.makeconftest(RECORD_PIDS.replace("def record", "def ullc_record"))
    pytester.makepyfile(
        test_suite_style="""
        import pytest
        from conftest import ullc_record

        pytestmark = pytest.mark.chaos

        @pytest.mark.requirements("ROUTE-7")
        def test_calls_connect(ullc_target, ullc_calls):
            ullc_record(ullc_target, "suite")
            stats = ullc_calls(3)
            assert stats.failed == 0
            assert stats.hit_rate == 1.0

        @pytest.mark.requirements("STUN-34")
        def test_impossible_budget(ullc_calls):
            stats = ullc_calls(2)
            assert stats.p95_ms < 1, "faster than light"
        """
    )
    result = pytester.runpytest_subprocess("--ullc-seed", "4242", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- ullc replay -*",
            "session seed 4242, this test's seed * (derived from the session seed and the test id)",
            "replay: pytest test_suite_style.py::test_impossible_budget --ullc-seed 4242",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*= ullc replay =*", "pytest test_suite_style.py::test_impossible_budget --ullc-seed 4242"]
    )
    assert_all_gone(records(record_dir))


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_two_xdist_workers_each_get_their_own_stack(
    pytester: pytest.Pytester, record_dir: Path
) -> None:
    pytester.makeconftest(RECORD_PIDS.replace("def record", "def ullc_record"))
    pytester.makepyfile(
        test_workers="""
        import time
        import pytest
        from conftest import ullc_record

        @pytest.mark.parametrize("n", range(4))
        def test_one_call(n, ullc_target, ullc_client):
            ullc_record(ullc_target, f"call{n}")
            assert ullc_client.connect().connected
            time.sleep(0.3)  # keep both workers busy so each takes tests
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=4)
    found = records(record_dir)
    networks = {(r["worker"], r["network"]) for r in found}
    assert {worker for worker, _ in networks} == {"gw0", "gw1"}
    assert len({network for _, network in networks}) == 2, networks
    assert_all_gone(found)


def _ctrl_c_reaches_it() -> None:
    """Popen preexec: a run started in the background (nohup, `&` in a CI script) inherits
    SIGINT ignored, and Python then installs no KeyboardInterrupt handler; a terminal's
    Ctrl-C, which these tests stand in for, always reaches the foreground process."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_ctrl_c_tears_the_stack_down(pytester: pytest.Pytester, record_dir: Path) -> None:
    # Should the run not stop, SIGUSR1 makes it print where each thread is stuck.
    dump_stacks = "import faulthandler, signal\nfaulthandler.register(signal.SIGUSR1)\n"
    pytester.makeconftest(dump_stacks + RECORD_PIDS.replace("def record", "def ullc_record"))
    pytester.makepyfile(
        test_interrupted="""
        import time
        from conftest import ullc_record

        def test_waits(ullc_target):
            ullc_record(ullc_target, "interrupted")
            time.sleep(60)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_interrupted.py"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_ctrl_c_reaches_it,
    ) as process:
        try:
            deadline = time.monotonic() + 60
            while not list(record_dir.glob("*.json")) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert list(record_dir.glob("*.json")), "the inner run never started its stack"
            process.send_signal(signal.SIGINT)
            try:
                output, _ = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGUSR1)
                time.sleep(1.0)
                process.kill()
                output, _ = process.communicate(timeout=10)
                raise AssertionError(
                    "still running 30 s after SIGINT:\n" + output.decode(errors="replace")
                ) from None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output.decode()
    assert_all_gone(records(record_dir))


@pytest.fixture(scope="module")
def implementation() -> Iterator[LocalBackend]:
    """A stack the inner run treats as a user's implementation: only its target file."""
    with start_local_stack(network="auto", timeout=30) as stack:
        yield stack


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_user_target_runs_through_the_harness_hops(
    pytester: pytest.Pytester, implementation: LocalBackend
) -> None:
    pytester.makepyfile(
        """
        def test_through_hops(ullc_target, ullc_calls, ullc_faults):
            assert not ullc_target.is_reference
            assert ullc_target.hops is not None
            gateway_hop = str(ullc_target.hops.links["client-gateway"])
            assert gateway_hop in ullc_target.target.endpoints.gateway
            link = ullc_target.client_edge_link
            batch = ullc_calls.run(3)
            assert batch.stats.failed == 0
            assert batch.stats.hit_rate == 1.0  # the hop kept the edge's IP (ROUTE-1)
            flows = ullc_target.mapped_addresses(link)
            assert {r.xor_mapped_address for r in batch.results} <= flows
            # Cut the hop in front of the edge: checks die there, and the call
            # connects through the response's media address instead (FB-2).
            with ullc_faults.partition(link):
                cut = ullc_calls.run(1)
            assert cut.stats.failed == 0
            assert cut.results[0].fell_back
        """
    )
    result = pytester.runpytest_subprocess(
        "--ullc-target", str(implementation.target_path), "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"ullc: target file {implementation.target_path}*"])


@pytest.mark.slow  # waits on a real stack's death watch; .ci/run's -m slow runs it
def test_a_component_that_dies_fails_the_running_test_naming_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_death="""
        import os, signal, time

        def test_a_stranger_kills_a_bot(ullc_target):
            pid = ullc_target.backend.pids()["dc-us.bot-1"]
            os.kill(pid, signal.SIGKILL)  # not through the backend: nobody expects it
            time.sleep(1.0)  # the supervisor records the exit

        def test_a_chaos_kill_is_expected(ullc_target):
            ullc_target.backend.kill("dc-eu.bot-0")
            time.sleep(1.0)
            ullc_target.backend.restart("dc-eu.bot-0")

        def test_after(ullc_target):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_a_stranger_kills_a_bot*",
            "*component dc-us.bot-1 of the reference stack died (exit status -9)*",
            "*dc-us.bot-1 INFO ready*",  # its last log lines come with it
        ]
    )
    assert "FAILED test_death.py::test_a_stranger_kills_a_bot" in result.stdout.str()
