"""Smoke test of the second, independent implementation: the harness's own client calls it.

The full suites run against it in CI (.ci/steps/peer.sh); here only what must hold
before that makes sense: it starts, its target file loads, and calls connect.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from harness.target import load_target
from peers.compact.launch import REPO_ROOT as ROOT
from peers.compact.launch import Peer, running_peer


def _connect(target: Path, calls: int, mode: str) -> dict[str, object]:
    command = [sys.executable, "-m", "harness", "connect", "--target", str(target)]
    command += ["--calls", str(calls), "--mode", mode, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_the_peers_target_file_loads_and_declares_everything_it_serves(compact_peer: Peer) -> None:
    target = load_target(compact_peer.target)

    assert target.reference is None  # a user target: the harness puts its own hops in front
    assert {str(mode) for mode in target.capabilities.modes} == {"ullc", "sequential"}
    assert target.capabilities.latency_map_control
    assert target.capabilities.outage_control
    assert target.capabilities.session_listing
    assert sorted(target.control.dcs) == ["dc-eu", "dc-us"]
    assert sorted(target.control.edges) == ["edge-eu", "edge-us"]
    assert target.limits.hold_ms == compact_peer.hold_ms > 0
    assert target.endpoints.dns is not None
    assert target.endpoints.dns.host.startswith(compact_peer.network.split(".0.0/")[0])


def test_the_harness_client_connects_every_ullc_call(compact_peer: Peer) -> None:
    summary = _connect(compact_peer.target, 20, "ullc")

    assert summary["connected"] == 20, summary
    assert summary["failed"] == 0, summary


def test_the_harness_client_connects_every_sequential_call(compact_peer: Peer) -> None:
    summary = _connect(compact_peer.target, 5, "sequential")

    assert summary["connected"] == 5, summary


def test_two_peers_run_side_by_side_on_their_own_networks(compact_peer: Peer) -> None:
    with running_peer(hold_ms=0) as second:
        assert second.network != compact_peer.network
        summary = _connect(second.target, 5, "ullc")
    assert summary["connected"] == 5, summary


def test_a_peer_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    # SIGKILL skips every teardown: only the kernel's parent-death signal can stop the peer.
    pid_file = tmp_path / "peer.pid"
    starter = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from peers.compact.launch import running_peer\n"
        "with running_peer(0, directory=Path(sys.argv[1])) as peer:\n"
        "    Path(sys.argv[1], 'peer.pid').write_text(str(peer.pid))\n"
        "    time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", starter, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
        assert pid_file.exists(), "the peer did not start"
        peer_pid = int(pid_file.read_text())
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(peer_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(peer_pid), f"peer {peer_pid} outlived the killed process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _alive(pid: int) -> bool:
    # A zombie (exited, parent gone, not yet reaped by init) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
