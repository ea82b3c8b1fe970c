"""Reaching dockerd, with errors that say what to install and how to start it."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.stack.errors import BackendNotAvailableError

if TYPE_CHECKING:
    import docker

DOCKERD_COMMAND = (
    "dockerd --storage-driver=overlay2 --iptables=false --ip6tables=false "
    "--ip-forward=false --bridge=none &"
)
"""How to start dockerd without systemd (DESIGN.md §10): overlay2, and no forwarding,
so that two internal networks cannot reach each other with iptables off."""


class DockerUnavailableError(BackendNotAvailableError):
    """The docker backend cannot reach a Docker daemon (or the ``docker`` package is missing).

    Install ``docker.io`` (``apt-get install -y docker.io``) and, as root, start
    the daemon: ``dockerd --storage-driver=overlay2 --iptables=false
    --ip6tables=false --ip-forward=false --bridge=none &``. Or use ``--backend local``.
    """


DEFAULT_SOCKET = "/var/run/docker.sock"


def _first_step() -> str:
    if shutil.which("dockerd") is not None:
        return "start dockerd as root"
    return "install Docker (`apt-get install -y docker.io`), then start dockerd as root"


def connect(timeout: float = 30.0) -> docker.DockerClient:
    """A client of the local dockerd (``DOCKER_HOST`` or the default socket)."""
    try:
        import docker
        import docker.errors
    except ImportError:
        raise DockerUnavailableError(
            "the docker backend needs the `docker` Python package",
            hint="pip install 'ullc-harness[docker]'",
        ) from None
    if not os.environ.get("DOCKER_HOST") and not Path(DEFAULT_SOCKET).exists():
        # Asking the SDK would leak the socket of the failed connect (a warning at exit).
        raise DockerUnavailableError(
            f"no Docker daemon: {DEFAULT_SOCKET} does not exist and DOCKER_HOST is unset",
            hint=f"{_first_step()}: `{DOCKERD_COMMAND}`; or use --backend local",
        )
    client: docker.DockerClient | None = None
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except docker.errors.DockerException as error:
        if client is not None:
            client.close()  # its pooled socket would warn, unclosed, at exit
        raise DockerUnavailableError(
            f"no Docker daemon answers: {error}",
            hint=f"{_first_step()}: `{DOCKERD_COMMAND}`; or use --backend local",
        ) from None
    return client


@functools.cache
def unreachable_reason() -> str | None:
    """Why no Docker daemon can be used (the ``docker`` marker's skip reason), or None.

    Asked once per process: a run on a machine without Docker skips every
    docker-marked test at the cost of one failed connect.
    """
    try:
        connect(timeout=5.0).close()
    except DockerUnavailableError as error:
        return f"{error.message} (hint: {error.hint})"
    return None


def fair_cgroup_parent(client: docker.DockerClient) -> str | None:
    """Where a stack's containers go in the CPU controller's tree so that each competes
    for CPU like one process of the host, as the local backend's components do.

    Under dockerd's cgroupfs driver every container sits in ``/docker/<id>``, and
    the ``docker`` group as a whole weighs as much as one busy process of the host:
    on a shared machine a 21-container stack then gets the CPU of one process and
    starts several times slower than the same components as processes. ``/`` puts
    each container beside the host's processes with one process's weight. None
    (dockerd's default) under the systemd driver, whose parents are slices.
    """
    info: dict[str, Any] = client.info()
    return "/" if info.get("CgroupDriver") == "cgroupfs" else None
