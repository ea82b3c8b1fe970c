"""Start, stop and crash paths of the local backend: nothing may survive its run."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.stack.errors import StackStartError
from harness.stack.local import reaper
from harness.stack.local.backend import LocalBackend
from harness.stack.local.network_claim import try_claim


def _records(run_dir: Path) -> list[reaper.PidRecord]:
    return reaper.read_pidfiles(run_dir / "pids")


def _wait_all_gone(records: list[reaper.PidRecord], timeout: float = 10.0) -> list[str]:
    """Names of processes still alive after ``timeout`` (checked by pid + start time)."""
    deadline = time.monotonic() + timeout
    alive = records
    while time.monotonic() < deadline:
        alive = [record for record in records if record.alive()]
        if not alive:
            return []
        time.sleep(0.05)
    return [f"{record.name} (pid {record.pid})" for record in alive]


def _env(run_root: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, reaper.RUN_ROOT_ENV: str(run_root), "PYTHONUNBUFFERED": "1", **extra}


def _read_line_with(process: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
            if not line and process.poll() is not None:
                break
    stderr = process.stderr.read() if process.stderr and process.poll() is not None else ""
    raise AssertionError(f"no line starting with {prefix!r} in {timeout} s; stderr: {stderr}")


def _ctrl_c_reaches_it() -> None:
    """Popen preexec: a run started in the background (nohup, `&` in a CI script) inherits
    SIGINT ignored, and Python then installs no KeyboardInterrupt handler; a terminal's
    Ctrl-C, which these tests stand in for, always reaches the foreground process."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stuck(process: subprocess.Popen[str], run_dir: Path) -> str:
    """What a process that ignored its stop was doing: its threads' stacks (the CLI dumps
    them on SIGUSR1), its stderr, and the supervisor's log."""
    process.send_signal(signal.SIGUSR1)
    time.sleep(1.0)
    process.kill()
    _, stderr = process.communicate(timeout=10)
    supervisor = run_dir / "logs" / "supervisor.log"
    log = supervisor.read_text() if supervisor.exists() else "(no supervisor log)"
    return f"still running 15 s after SIGINT\n--- stderr ---\n{stderr}\n--- supervisor ---\n{log}"


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    stack = LocalBackend(network="auto", run_root=tmp_path)
    stack.start()
    stack.wait_healthy(30)
    records = _records(stack.run_dir)
    assert len(records) == len(stack.components()) + 1  # + supervisor
    assert all(record.alive() for record in records)
    stack.stop()
    assert _wait_all_gone(records, 5) == []


def test_sigint_to_up_tears_everything_down(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "harness", "up", "--network", "auto", "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        preexec_fn=_ctrl_c_reaches_it,
    ) as process:
        try:
            target = Path(_read_line_with(process, "target: ", 60))
            run_dir = target.parent
            records = _records(run_dir)
            assert len(records) >= 20
            process.send_signal(signal.SIGINT)
            try:
                returncode = process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                raise AssertionError(_stuck(process, run_dir)) from None
            assert returncode == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert _wait_all_gone(records, 5) == []


@pytest.mark.slow  # waits on a real stack's death watch; .ci/run's -m slow runs it
def test_up_names_a_component_that_dies(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "harness", "up", "--network", "auto", "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    ) as process:
        try:
            run_dir = Path(_read_line_with(process, "target: ", 60)).parent
            bot = next(r for r in _records(run_dir) if r.name == "dc-eu.bot-1")
            os.kill(bot.pid, signal.SIGKILL)
            time.sleep(2.0)  # up polls twice a second
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
    assert "component dc-eu.bot-1 of the reference stack died (exit status -9)" in stderr
    assert "dc-eu.bot-1 INFO ready" in stderr, stderr  # its last log lines


_RUNNER = textwrap.dedent(
    """
    import sys, time
    from harness.stack.local.backend import LocalBackend
    stack = LocalBackend(network="auto")
    stack.start()
    stack.wait_healthy(30)
    print("run_dir:", stack.run_dir, flush=True)
    time.sleep(600)
    """
)


def test_sigkill_of_the_runner_leaves_no_process(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _RUNNER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    ) as runner:
        try:
            run_dir = Path(_read_line_with(runner, "run_dir: ", 60))
            records = _records(run_dir)
            assert len(records) >= 20
            assert all(record.alive() for record in records)
            runner.kill()  # SIGKILL: no atexit, no finally; only PDEATHSIG can clean up
            runner.wait()
        finally:
            if runner.poll() is None:
                runner.kill()
    assert _wait_all_gone(records, 10) == []


def test_sweep_kills_labelled_survivors_only(tmp_path: Path) -> None:
    session = "sweep-test"
    run_dir = tmp_path / session
    (run_dir / "pids").mkdir(parents=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    with (
        subprocess.Popen(sleeper, env={**os.environ, reaper.SESSION_ENV: session}) as survivor,
        subprocess.Popen(sleeper) as stranger,
    ):
        _sweep_case(tmp_path, run_dir, session, survivor, stranger)


def _sweep_case(
    tmp_path: Path,
    run_dir: Path,
    session: str,
    survivor: subprocess.Popen[bytes],
    stranger: subprocess.Popen[bytes],
) -> None:
    try:
        reaper.write_pidfile(run_dir / "pids", "survivor", survivor.pid, session)
        reaper.write_pidfile(run_dir / "pids", "stranger", stranger.pid, session)
        # The owner (runner) of that run is dead: pid 1's start time will not match.
        (run_dir / "owner.json").write_text(
            json.dumps({"name": "owner", "pid": 1, "start_time": -1, "session": session})
        )
        killed = reaper.sweep(tmp_path)
        assert [record.name for record in killed] == ["survivor"]
        assert survivor.wait(timeout=5) == -signal.SIGKILL
        assert stranger.poll() is None  # no label: never touched
    finally:
        for process in (survivor, stranger):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_broken_topology_is_a_usage_error_naming_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "world.json"
    body = json.loads((Path(__file__).parents[3] / "harness/stack/worlds/default.json").read_text())
    body["latency_ms"]["edge_dc"]["edge-us"]["dc-mars"] = 5
    bad.write_text(json.dumps(body))
    result = subprocess.run(
        [sys.executable, "-m", "harness", "up", "--topology", str(bad)],
        capture_output=True, text=True, env=_env(tmp_path / "runs"), timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "latency_ms.edge_dc.edge-us" in result.stderr
    assert "dc-mars" in result.stderr
    assert not (tmp_path / "runs").exists()  # failed before anything started


def test_busy_address_names_it_and_starts_nothing(tmp_path: Path) -> None:
    octet = 90 + os.getpid() % 9
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind((f"127.{octet}.0.54", 1053))  # where the DNS responder binds
    try:
        result = subprocess.run(
            [sys.executable, "-m", "harness", "up", "--network", f"127.{octet}.0.0/16"],
            capture_output=True, text=True, env=_env(tmp_path / "runs"), timeout=60,
        )  # fmt: skip
    finally:
        holder.close()
    assert result.returncode == 2, result.stderr
    assert f"127.{octet}.0.54:1053" in result.stderr
    assert "Hint:" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_missing_redis_server_says_how_to_install_it(tmp_path: Path) -> None:
    env = _env(tmp_path / "runs", PATH=str(tmp_path))  # a PATH without redis-server
    env.pop("ULLC_REDIS_SERVER", None)
    result = subprocess.run(
        [sys.executable, "-m", "harness", "up"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "redis-server" in result.stderr
    assert "apt-get install redis-server" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_unknown_backend_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness", "up", "--backend", "k8s"],
        capture_output=True, text=True, env=_env(tmp_path / "runs"), timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "unknown backend 'k8s'" in result.stderr
    assert "--backend local|docker" in result.stderr


def test_unhealthy_component_is_named_with_its_log_and_nothing_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'fake redis: refusing to start' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ULLC_REDIS_SERVER", str(fake))
    stack = LocalBackend(network="auto", run_root=tmp_path / "runs")
    stack.start()
    with pytest.raises(StackStartError) as caught:
        stack.wait_healthy(20)
    message = str(caught.value)
    assert ".redis exited with status 3" in message
    assert "fake redis: refusing to start" in message
    assert "Hint:" in message
    assert _wait_all_gone(_records(stack.run_dir), 5) == []


def test_an_automatic_network_is_claimed_while_its_stack_runs(tmp_path: Path) -> None:
    stack = LocalBackend(network="auto", run_root=tmp_path)
    try:
        stack.start()
        stack.wait_healthy(30)
        assert try_claim(stack.topology.network) is None  # a second runner skips it
    finally:
        stack.stop()
    claim = try_claim(stack.topology.network)
    assert claim is not None
    claim.release()
