"""The docker backend against a real dockerd: calls connect, faults go through Docker,
and nothing carrying the run's labels survives a stop or a SIGKILLed runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.stack.deaths import Death, DeathWatcher, open_death_watch
from harness.stack.docker import daemon, labels
from harness.stack.docker.backend import DockerBackend, start_docker_stack

pytestmark = pytest.mark.docker


def _objects(session: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    client = daemon.connect()
    try:
        found = labels.session_filter(session)
        return client.api.containers(all=True, filters=found), client.api.networks(filters=found)
    finally:
        client.close()


def _state(stack: DockerBackend, name: str) -> str:
    return str(stack.client.api.inspect_container(stack.handles()[name])["State"]["Status"])


@pytest.fixture(scope="module")
def stack() -> Iterator[DockerBackend]:
    with start_docker_stack(timeout=180) as running:
        yield running
    containers, networks = _objects(running.session)
    assert containers == []
    assert networks == []


def test_every_component_is_a_labelled_container_on_an_internal_network(
    stack: DockerBackend,
) -> None:
    containers, networks = _objects(stack.session)
    assert sorted(c["Labels"][labels.COMPONENT] for c in containers) == sorted(stack.components())
    (network,) = networks
    detail = stack.client.api.inspect_network(network["Id"])
    assert detail["Internal"] is True
    assert detail["IPAM"]["Config"][0]["Subnet"] == stack.topology.network
    assert stack.target_path.is_file()


def test_calls_connect_and_the_mapped_address_names_the_client(stack: DockerBackend) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness", "connect", "--target", str(stack.target_path),
         "--calls", "5", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["connected"] == summary["calls"] == 5
    faults = stack.fault_client()
    try:
        edge = stack.topology.nearest_edge(stack.topology.client_region)
        flows = faults.link(f"client-edge.{edge}").flows()
    finally:
        faults.close()
    # The hop saw the client itself (no NAT on the bridge), which is what the edge
    # carries on in PROXY v2 and the bot echoes in XOR-MAPPED-ADDRESS (STUN-13).
    assert flows
    assert {str(flow["client"]).rsplit(":", 1)[0] for flow in flows} == {stack.plan.client_ip()}


def test_process_faults_are_container_operations(stack: DockerBackend) -> None:
    stack.pause("dc-eu.bot-0")
    assert _state(stack, "dc-eu.bot-0") == "paused"
    stack.resume("dc-eu.bot-0")
    assert _state(stack, "dc-eu.bot-0") == "running"
    stack.kill("dc-eu")
    assert {_state(stack, name) for name in stack.groups()["dc-eu"]} == {"exited"}
    stack.restart("dc-eu")
    assert {_state(stack, name) for name in stack.groups()["dc-eu"]} == {"running"}
    assert stack.prober.probe(stack.plan.component("dc-eu.handler")) is None


def _deaths_within(watch: DeathWatcher, seconds: float) -> list[Death]:
    deadline = time.monotonic() + seconds
    while True:
        found = watch.new_deaths()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_container_killed_behind_the_backends_back_is_reported_by_name(
    stack: DockerBackend,
) -> None:
    watch = stack.death_watch()
    # What `ullc-harness up` and a target file of it give the plugin: the same watch.
    from_run_dir = open_death_watch(stack.run_dir)
    assert watch.new_deaths() == []
    stack.kill("dc-ap.bot-1")  # through the backend: announced, so not a death
    assert _deaths_within(watch, 1.0) == []

    victim = "dc-ap.bot-0"
    subprocess.run(["docker", "kill", stack.handles()[victim]], check=True, capture_output=True)
    (found,) = _deaths_within(watch, 10.0)
    assert found.component == victim
    assert found.status.startswith("137")  # SIGKILL, as Docker reports it
    assert f"component {victim} of the reference stack died" in found.describe()
    assert "ready" in found.tail  # its last log lines come with it
    assert [d.component for d in from_run_dir.new_deaths()] == [victim]
    assert watch.new_deaths() == []  # reported once

    stack.restart("dc-ap")
    subprocess.run(["docker", "kill", stack.handles()[victim]], check=True, capture_output=True)
    # A death after a restart is a new death (the announcement predates this start).
    assert [d.component for d in _deaths_within(watch, 10.0)] == [victim]
    stack.restart("dc-ap")


RUNNER = """
import sys
from harness.stack.docker.backend import DockerBackend
stack = DockerBackend()
stack.start()
print(stack.session, flush=True)
sys.stdin.read()
"""


def test_a_sigkilled_runners_containers_and_network_are_reaped() -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert runner.stdout is not None
    session = runner.stdout.readline().strip()
    assert session, "the runner did not start its stack"
    containers, networks = _objects(session)
    assert len(containers) >= 20
    assert len(networks) == 1
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    runner.stdin.close()  # type: ignore[union-attr]
    runner.stdout.close()
    deadline = time.monotonic() + 60
    while any(_objects(session)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _objects(session) == ([], [])
