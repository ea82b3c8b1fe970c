"""The stack's image, built locally and offline from content, in three layers.

No registry is reachable (DESIGN.md §10), so:

1. **base** ``ullc-harness-base:<hash>``: a Debian root file system from
   ``debootstrap --variant=minbase`` (python3, python3-venv, redis-server,
   iproute2) brought in with ``docker import``; the hash is of the recipe.
2. **deps** ``ullc-harness-deps:<hash>``: a venv with the project's
   dependencies; pip inside the build uses the host network and the machine's CA
   bundle. The hash is of the base tag and the requirement list.
3. **stack** ``ullc-harness-stack:<hash>``: the project's wheel, ``--no-deps``.
   The hash is of the project's files, so a change to the project rebuilds only
   this layer (seconds), and an unchanged project rebuilds nothing.

Every image carries the project label; progress goes to a callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError, MissingToolError
from harness.stack.docker import labels

if TYPE_CHECKING:
    import docker

Progress = Callable[[str], None]

SUITE = "trixie"
MIRROR = os.environ.get("ULLC_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ("python3", "python3-venv", "redis-server", "iproute2")
VENV = "/opt/ullc"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BASE_REPO = "ullc-harness-base"
DEPS_REPO = "ullc-harness-deps"
STACK_REPO = "ullc-harness-stack"


class ImageBuildError(HarnessError):
    """Building one of the stack's images failed.

    The message names the layer and the last lines of its build log; the hint
    says what to check (network for pip, disk space, debootstrap's log).
    """


class DebootstrapMissingError(MissingToolError):
    """``debootstrap`` is needed once, to build the base image (no registry here).

    Install it: ``apt-get install -y debootstrap`` (it needs root).
    """


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def base_tag() -> str:
    return f"{BASE_REPO}:{_digest(SUITE, MIRROR, *PACKAGES)}"


def requirements() -> list[str]:
    """The project's own dependencies (no extras), as its metadata declares them."""
    from importlib.metadata import requires

    return sorted(r for r in requires("ullc-harness") or [] if "extra ==" not in r)


def deps_tag() -> str:
    return f"{DEPS_REPO}:{_digest(base_tag(), *requirements())}"


def project_root() -> Path:
    """The source tree the harness runs from (an editable install or a checkout)."""
    import harness

    root = Path(harness.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise ImageBuildError(
            f"the harness at {root} is not a source tree (no pyproject.toml): the docker "
            "backend builds its image from the project's wheel",
            hint="install the harness from a checkout (`pip install -e .`)",
        )
    return root


def _project_files(root: Path) -> Iterator[Path]:
    yield root / "pyproject.toml"
    if (root / "setup.py").is_file():
        yield root / "setup.py"
    for path in sorted((root / "harness").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def project_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in _project_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def stack_tag(root: Path | None = None) -> str:
    return f"{STACK_REPO}:{_digest(deps_tag(), project_hash(root or project_root()))}"


def exists(client: docker.DockerClient, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


@dataclass
class Built:
    tag: str
    built: bool
    """False: found by its content hash, nothing was built."""


def ensure_image(client: docker.DockerClient, progress: Progress = print) -> Built:
    """The stack image for the project as it is now, building whatever layer is missing."""
    root = project_root()
    tag = stack_tag(root)
    if exists(client, tag):
        return Built(tag, built=False)
    if not exists(client, base_tag()):
        build_base(client, progress)
    if not exists(client, deps_tag()):
        build_deps(client, progress)
    build_stack(client, root, tag, progress)
    _drop_older_stacks(client, tag)
    return Built(tag, built=True)


def _drop_older_stacks(client: docker.DockerClient, keep: str) -> None:
    """Every project change makes a new stack image; the old ones would pile up."""
    import docker.errors

    for image in client.images.list(name=STACK_REPO):
        if keep not in image.tags:
            # In use by a running stack: it stays, and goes after a later build.
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(image.id)


def build_base(client: docker.DockerClient, progress: Progress = print) -> str:
    """debootstrap a minbase root file system and ``docker import`` it (~1-3 min)."""
    tag = base_tag()
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise DebootstrapMissingError(
            f"debootstrap is not installed; it builds the base image {tag} once",
            hint="apt-get install -y debootstrap (as root), then `ullc-harness image build`",
        )
    with tempfile.TemporaryDirectory(prefix="ullc-base-", dir="/var/tmp") as scratch:
        rootfs = Path(scratch) / "rootfs"
        progress(f"base: debootstrap {SUITE} minbase + {','.join(PACKAGES)} from {MIRROR}")
        command = [
            debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}",
            SUITE, str(rootfs), MIRROR,
        ]  # fmt: skip
        _run_logged(command, Path(scratch) / "debootstrap.log", "base", progress)
        archive = Path(scratch) / "rootfs.tar"
        progress(f"base: docker import as {tag}")
        _run_logged(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."],
            Path(scratch) / "tar.log", "base", progress,
        )  # fmt: skip
        repository, version = tag.split(":")
        client.api.import_image(
            src=str(archive),
            repository=repository,
            tag=version,
            changes=[f'LABEL {labels.PROJECT}="1" {labels.IMAGE_KIND}="base"'],
        )
    progress(f"base: {tag} ready")
    return tag


def _run_logged(command: list[str], log: Path, layer: str, progress: Progress) -> None:
    with open(log, "w+b") as out:
        process = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        if process.returncode != 0:
            out.seek(0)
            lines = out.read().decode(errors="replace").splitlines()[-15:]
            raise ImageBuildError(
                f"{layer}: `{' '.join(command[:3])} ...` exited with {process.returncode}:\n"
                + "\n".join(f"    {line}" for line in lines),
                hint=f"is {MIRROR} reachable? (set ULLC_DEBIAN_MIRROR to another mirror)",
            )


def _context(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def _build(
    client: docker.DockerClient,
    files: dict[str, bytes],
    tag: str,
    layer: str,
    progress: Progress,
) -> None:
    """``docker build --network host --force-rm`` of an in-memory context, streaming progress."""
    stream: Iterator[dict[str, Any]] = client.api.build(
        fileobj=_context(files), custom_context=True, tag=tag, network_mode="host",
        forcerm=True, rm=True, decode=True, labels={labels.PROJECT: "1", labels.IMAGE_KIND: layer},
    )  # fmt: skip
    tail: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            raise ImageBuildError(
                f"{layer}: building {tag} failed: {chunk['error'].strip()}\n"
                + "\n".join(f"    {line}" for line in tail[-15:]),
                hint="pip inside the build needs the package index over the host network "
                f"and the CA bundle {CA_BUNDLE}",
            )
        text = str(chunk.get("stream", "")).rstrip()
        for line in text.splitlines():
            tail.append(line)
            if line.startswith(("Step ", "Successfully", "Collecting", "Installing")):
                progress(f"{layer}: {line.strip()}")
    if not exists(client, tag):
        raise ImageBuildError(f"{layer}: the build of {tag} ended without an image")


def _ca_bundle() -> bytes:
    path = Path(os.environ.get("PIP_CERT") or CA_BUNDLE)
    try:
        return path.read_bytes()
    except OSError:
        raise ImageBuildError(
            f"no CA bundle at {path}: pip inside the build would fail with "
            "CERTIFICATE_VERIFY_FAILED",
            hint="apt-get install ca-certificates, or set PIP_CERT to the bundle",
        ) from None


def build_deps(client: docker.DockerClient, progress: Progress = print) -> str:
    tag = deps_tag()
    progress(f"deps: {len(requirements())} requirements into {VENV} ({tag})")
    dockerfile = f"""FROM {base_tag()}
COPY ca.crt requirements.txt /tmp/build/
RUN python3 -m venv {VENV} && PIP_CERT=/tmp/build/ca.crt {VENV}/bin/pip install \\
    --disable-pip-version-check --progress-bar off -r /tmp/build/requirements.txt \\
    && rm -rf /tmp/build /root/.cache
"""
    files = {
        "Dockerfile": dockerfile.encode(),
        "ca.crt": _ca_bundle(),
        "requirements.txt": ("\n".join(requirements()) + "\n").encode(),
    }
    _build(client, files, tag, "deps", progress)
    progress(f"deps: {tag} ready")
    return tag


def build_wheel(root: Path, directory: Path) -> Path:
    """The project's wheel, built offline with the running interpreter's setuptools."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(directory), str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wheels = sorted(directory.glob("ullc_harness-*.whl"))
    if result.returncode != 0 or not wheels:
        raise ImageBuildError(
            f"building the project's wheel from {root} failed:\n{result.stderr[-2000:]}",
            hint="pip install setuptools wheel (the build runs without isolation, offline)",
        )
    return wheels[-1]


def build_stack(
    client: docker.DockerClient, root: Path, tag: str, progress: Progress = print
) -> str:
    progress(f"stack: the project's wheel from {root}")
    with tempfile.TemporaryDirectory(prefix="ullc-wheel-") as scratch:
        wheel = build_wheel(root, Path(scratch))
        # Compiled at install (no --no-compile): containers must not recompile on each start.
        dockerfile = f"""FROM {deps_tag()}
COPY {wheel.name} /tmp/
RUN {VENV}/bin/pip install --no-deps --no-index --disable-pip-version-check /tmp/{wheel.name} \\
    && rm /tmp/{wheel.name}
ENV PATH={VENV}/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONUNBUFFERED=1
"""
        files = {"Dockerfile": dockerfile.encode(), wheel.name: wheel.read_bytes()}
        _build(client, files, tag, "stack", progress)
    progress(f"stack: {tag} ready")
    return tag
