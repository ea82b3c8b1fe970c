"""Removing what a run left in Docker, even after its runner was SIGKILLed (testcontainers' Ryuk).

Two layers:
1. a watcher process (``python -m harness.stack.docker.reaper WATCH``), started
   detached with each stack, polls the runner's pid; when the runner is gone
   (exited, crashed, SIGKILLed) it removes the run's containers and network
   and exits. It also exits once the run's network is gone (a normal stop).
2. every start sweeps runs whose owner is dead (pid gone, pid recycled, or a
   previous boot), from the labels alone (:mod:`.labels`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from harness.stack.docker import labels
from harness.stack.local.reaper import start_time

if TYPE_CHECKING:
    import docker

POLL_S = 0.5
NETWORK_ATTEMPTS = 20


def owner_alive(tags: dict[str, str]) -> bool:
    """Is the runner named by a container's or network's labels still running?"""
    if tags.get(labels.BOOT_ID) != labels.boot_id():
        return False
    try:
        pid = int(tags.get(labels.OWNER_PID, "0"))
    except ValueError:
        return False
    started = start_time(pid) if pid > 0 else None
    return started is not None and str(started) == tags.get(labels.OWNER_START)


def remove_containers(client: docker.DockerClient, ids: Iterable[str]) -> None:
    """Force-remove containers in parallel (SIGKILL + remove: a 21-container stack in ~1 s)."""
    import docker.errors

    def remove(container_id: str) -> None:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.api.remove_container(container_id, force=True, v=True)

    ids = list(ids)
    if ids:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(remove, ids))


def remove_session(client: docker.DockerClient, session: str) -> int:
    """Remove every container and network of ``session``; returns how many objects went."""
    import docker.errors

    found: list[dict[str, Any]] = client.api.containers(
        all=True, filters=labels.session_filter(session)
    )
    for container in found:
        if container.get("State") == "paused":
            # A forced removal of a frozen container can leave a stale network endpoint.
            with contextlib.suppress(docker.errors.APIError):
                client.api.unpause(container["Id"])
    remove_containers(client, [c["Id"] for c in found])
    names = {name.lstrip("/") for c in found for name in c.get("Names") or []}
    networks: list[dict[str, Any]] = client.api.networks(filters=labels.session_filter(session))
    for network in networks:
        tags = network.get("Labels") or {}
        members = names | {
            f"ullc-{session}-{name}" for name in tags.get(labels.MEMBERS, "").split(",") if name
        }
        # Retry only right after removing containers: an old stale network gets one try.
        attempts = NETWORK_ATTEMPTS if found else 2
        _remove_network(client, str(network["Id"]), members, attempts)
    return len(found) + len(networks)


def _remove_network(
    client: docker.DockerClient, network_id: str, members: set[str], attempts: int
) -> None:
    """Remove a network, retrying while dockerd still holds endpoints of removed containers.

    dockerd 20.10 can keep a stale endpoint after concurrent forced removals ("has
    active endpoints" with no container attached); a forced disconnect by the
    container's name clears it.
    """
    import docker.errors

    for attempt in range(attempts):
        try:
            client.api.remove_network(network_id)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as error:
            if "active endpoints" in str(error) and attempt >= attempts - 2:
                for name in sorted(members):
                    with contextlib.suppress(docker.errors.APIError):
                        client.api.disconnect_container_from_network(name, network_id, force=True)
            time.sleep(0.25)


def sweep(client: docker.DockerClient) -> list[str]:
    """Remove every run whose owner is dead; returns their sessions."""
    dead: set[str] = set()
    objects: list[dict[str, Any]] = [
        *client.api.containers(all=True, filters=labels.project_filter()),
        *client.api.networks(filters=labels.project_filter()),
    ]
    for item in objects:
        tags: dict[str, str] = item.get("Labels") or {}
        session = tags.get(labels.SESSION)
        if session and not owner_alive(tags):
            dead.add(session)
    for session in sorted(dead):
        remove_session(client, session)
    return sorted(dead)


def spawn_watcher(session: str) -> subprocess.Popen[bytes]:
    """Start the watcher of this run, detached (own session: a Ctrl-C does not reach it)."""
    tags = labels.run_labels(session)
    return subprocess.Popen(
        [sys.executable, "-P", "-m", "harness.stack.docker.reaper", "watch", session,
         tags[labels.OWNER_PID], tags[labels.OWNER_START]],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def watch(session: str, owner_pid: int, owner_start: str) -> int:
    from harness.stack.docker.daemon import connect

    client = connect()
    checks, seen = 0, False
    while True:
        if str(start_time(owner_pid)) != owner_start:
            remove_session(client, session)
            return 0
        checks += 1
        if checks % 4 == 0:
            exists = bool(client.api.networks(filters=labels.session_filter(session)))
            seen = seen or exists
            # Gone after it existed: stopped normally. Never seen in a minute: never started.
            if not exists and (seen or checks > 120):
                return 0
        time.sleep(POLL_S)


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "watch":
        with contextlib.suppress(KeyboardInterrupt):
            return watch(argv[1], int(argv[2]), argv[3])
        return 0
    if argv == ["sweep"]:
        from harness.stack.docker.daemon import connect

        for session in sweep(connect()):
            print(f"removed run {session}")
        return 0
    print("usage: python -m harness.stack.docker.reaper sweep|watch SESSION PID START",
          file=sys.stderr)  # fmt: skip
    return 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
