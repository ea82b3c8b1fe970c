"""Reaching dockerd, with errors that say what to install and how to start it."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

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
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except docker.errors.DockerException as error:
        installed = shutil.which("dockerd") is not None
        first = (
            "start it as root"
            if installed
            else "install it (`apt-get install -y docker.io`), then start it as root"
        )
        raise DockerUnavailableError(
            f"no Docker daemon answers: {error}",
            hint=f"{first}: `{DOCKERD_COMMAND}`; or use --backend local",
        ) from None
    return client
