"""The docker backend's image tags are content hashes, layer by layer (no Docker needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.stack.docker import daemon, images


def _tree(root: Path) -> Path:
    (root / "harness").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    (root / "harness" / "a.py").write_text("A = 1\n")
    return root


def test_a_project_change_moves_only_the_project_layer(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    base, deps, before = images.base_tag(), images.deps_tag(), images.stack_tag(root)
    # Byte-identical trees elsewhere hash the same: the tag is content, not path or time.
    assert images.stack_tag(shutil.copytree(root, tmp_path / "q")) == before
    (root / "harness" / "__pycache__").mkdir()
    (root / "harness" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    assert images.stack_tag(root) == before  # bytecode is not the project
    (root / "harness" / "a.py").write_text("A = 2\n")
    after = images.stack_tag(root)
    assert after != before
    assert after.startswith(f"{images.STACK_REPO}:")
    assert (images.base_tag(), images.deps_tag()) == (base, deps)


def test_the_deps_layer_follows_the_requirements(monkeypatch: pytest.MonkeyPatch) -> None:
    before = images.deps_tag()
    monkeypatch.setattr(images, "requirements", lambda: ["redis>=5"])
    assert images.deps_tag() != before


def test_no_daemon_says_what_to_install_and_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A closed TCP port: the SDK leaks the socket of a failed unix-socket connect.
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    with pytest.raises(daemon.DockerUnavailableError) as raised:
        daemon.connect(timeout=2.0)
    hint = raised.value.hint or ""
    assert "dockerd --storage-driver=overlay2" in hint
    assert "--ip-forward=false" in hint
    assert "--backend local" in hint


def test_missing_debootstrap_is_named_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    with pytest.raises(images.DebootstrapMissingError) as raised:
        images.build_base(client=None)  # type: ignore[arg-type]  # fails before using it
    assert "apt-get install -y debootstrap" in (raised.value.hint or "")
