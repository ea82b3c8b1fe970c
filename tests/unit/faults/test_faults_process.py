"""The hop server process: clean SIGTERM exit, no sockets left; process faults on a real child."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests
from conftest import Api, TcpEcho, port_of

from harness.faults.api.launcher import HopServer
from harness.faults.log import FaultLog
from harness.faults.process import ProcessControl, SignalProcessControl
from harness.faults.vocabulary import kill, pause


def test_server_exits_cleanly_on_sigterm_and_frees_every_port(tcp_echo: TcpEcho) -> None:
    server = HopServer.start()
    api = Api(server.url)
    tcp = port_of(api.proxy("t", tcp_echo.address))
    udp = port_of(api.proxy("u", tcp_echo.address, protocol="udp"))
    held = socket.create_connection(("127.0.0.1", tcp), timeout=2)  # a live connection
    try:
        assert server.stop() == 0
        assert not os.path.exists(f"/proc/{server.pid}")
        for port, kind in (
            (server.port, socket.SOCK_STREAM),
            (tcp, socket.SOCK_STREAM),
            (udp, socket.SOCK_DGRAM),
        ):
            with socket.socket(socket.AF_INET, kind) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(("127.0.0.1", port))
        assert held.recv(10) == b""  # the hop closed its side
    finally:
        held.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/version", timeout=1)


def test_command_reports_a_taken_port_clearly() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "harness", "toxiproxy-server", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Hint:" in result.stderr


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _wait_state(pid: int, wanted: str) -> str:
    deadline = time.monotonic() + 2
    while _state(pid) not in wanted and time.monotonic() < deadline:
        time.sleep(0.01)
    return _state(pid)


def test_process_faults_pause_resume_and_kill_a_real_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        control = SignalProcessControl({"bot-1": child.pid})
        assert isinstance(control, ProcessControl)
        log = FaultLog()
        with pause(control, "bot-1", log):
            assert _wait_state(child.pid, "T") == "T"
        assert _wait_state(child.pid, "SR") in "SR"
        kill(control, "bot-1", log).apply()
        assert child.wait(5) == -9
        assert [(e.what, e.action.value) for e in log] == [
            ("pause", "applied"),
            ("pause", "removed"),
            ("kill", "applied"),
        ]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
