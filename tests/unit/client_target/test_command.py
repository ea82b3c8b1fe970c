"""Running a client-under-test command: substitution, environment, exit, time limit."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from harness.client_target.command import ClientCommand, ClientCommandError
from harness.target.model import ClientSettings, Endpoints, HostPort, Target

TARGET = Target(
    name="t",
    endpoints=Endpoints(
        gateway="ws://127.0.0.1:9/v1/signaling",
        dns=HostPort("127.0.0.53", 1053),
        global_endpoint="media.ullc.test",
    ),
    client=ClientSettings(bind_ip="127.1.1.10"),
)


def test_placeholders_and_environment_reach_the_command(tmp_path: Path) -> None:
    script = (
        "import os, sys; print(sys.argv[1:], os.environ['ULLC_TARGET'], "
        "os.environ['ULLC_CALLS'], os.environ['ULLC_DNS'], os.environ['ULLC_GLOBAL_ENDPOINT'], "
        "os.environ['ULLC_CLIENT_BIND_IP'], os.environ['ULLC_GATEWAY'])"
    )
    command = ClientCommand(f'{sys.executable} -c "{script}" --target {{target}} -n {{calls}}')
    assert command.places_several_calls
    run = command.run(TARGET, tmp_path / "t.toml", calls=3, deadline_s=1.0)
    assert run.succeeded, run.describe()
    assert run.stdout.split() == [
        "['--target',", f"'{tmp_path / 't.toml'}',", "'-n',", "'3']",
        str(tmp_path / "t.toml"), "3", "127.0.0.53:1053", "media.ullc.test:3478",
        "127.1.1.10", "ws://127.0.0.1:9/v1/signaling",
    ]  # fmt: skip


def test_a_failing_client_is_a_failed_run_with_its_output(tmp_path: Path) -> None:
    command = ClientCommand(f"{sys.executable} -c \"import sys; sys.exit('no answer')\"")
    assert not command.places_several_calls
    run = command.run(TARGET, tmp_path / "t.toml", calls=1, deadline_s=1.0)
    assert run.exit_code == 1
    assert "no answer" in run.describe()


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_a_client_past_its_time_limit_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # A shell that leaves a sleeping child: killing only the shell would orphan it.
    command = ClientCommand(f"sh -c 'sleep 60 & echo $! > {pid_file}; wait'")
    started = time.monotonic()
    run = command.run(TARGET, tmp_path / "t.toml", calls=1, deadline_s=0.0)
    assert run.exit_code is None
    assert "killed at its time limit" in run.describe()
    assert time.monotonic() - started < 20
    child = int(pid_file.read_text())
    time.sleep(0.2)
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"  # gone, or a zombie


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("", "empty"),
        ("client 'unbalanced", "does not parse"),
        ("no-such-client-xyz", "cannot be started"),
    ],
)
def test_a_bad_command_says_what_to_fix(tmp_path: Path, template: str, says: str) -> None:
    with pytest.raises(ClientCommandError, match=says) as raised:
        ClientCommand(template).run(TARGET, tmp_path / "t.toml", calls=1, deadline_s=1.0)
    assert raised.value.hint
