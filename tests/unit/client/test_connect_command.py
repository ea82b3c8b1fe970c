"""``ullc-harness connect`` exit codes for bad input and an unreachable target."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.cli import main


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "target.toml"
    broken.write_text("[target]\nname = 'x'\n[endpoints]\ngateway = 'ws://a:1/'\n")
    assert main(["connect", "--target", str(broken), "--calls", "1"]) == 2
    assert "endpoints.edges" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["connect", "--target", str(broken), "--calls", "0"])
    assert caught.value.code == 2


def test_unreachable_gateway_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "target.toml"
    target.write_text(
        "[target]\nname = 'nobody'\n[endpoints]\n"
        f"gateway = 'ws://127.0.0.1:{_free_port()}/v1/signaling'\n"
        "edges = ['127.0.0.1:3478']\n"
    )
    assert main(["connect", "--target", str(target), "--calls", "1", "--json"]) == 1
    assert "cannot open the gateway WebSocket" in capsys.readouterr().err
