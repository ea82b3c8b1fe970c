"""TGT-5: the [stun] section of a STUN-only target, and the load-time errors around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.target import StunSettings, TargetFileError, load_target

BASE = """
[target]
name = "agent"

[endpoints]
stun = "127.0.0.1:3478"
"""
STUN_ONLY = "\n[capabilities]\nstun_only = true\n"
ICE = """
[stun]
profile = "ice"
ufrag = "abcd"
pwd = "abcdefghijklmnopqrstuv"
client_ufrag = "wxyz"
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "t.toml"
    path.write_text(text, "utf-8")
    return load_target(path)


def test_stun_section_declares_credentials_and_profile(tmp_path: Path) -> None:
    target = _load(tmp_path, BASE + STUN_ONLY + ICE)
    assert target.stun == StunSettings("ice", "abcd", "abcdefghijklmnopqrstuv", "wxyz")  # type: ignore[attr-defined]
    again = _load(tmp_path, target.to_toml())  # type: ignore[attr-defined]
    assert again.stun == target.stun  # type: ignore[attr-defined]


def test_stun_endpoint_without_stun_only_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(TargetFileError) as caught:
        _load(tmp_path, BASE)
    assert caught.value.key == "endpoints.stun"
    assert "add `stun_only = true` under [capabilities]" in str(caught.value)


def test_stun_section_without_stun_only_is_refused(tmp_path: Path) -> None:
    text = BASE.replace(
        'stun = "127.0.0.1:3478"', 'gateway = "ws://127.0.0.1:1/"\nedges = ["127.0.0.1:3478"]'
    )
    with pytest.raises(TargetFileError, match=r"\[stun\].*stun_only = true"):
        _load(tmp_path, text + ICE)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ('[stun]\nprofile = "ice"\n', "ufrag"),
        ('[stun]\nufrag = "abcd"\n', "pwd"),
        ('[stun]\nufrag = "abcd"\npwd = "abcdefghijklmnopqrstuv"\n', "client_ufrag"),
        ('[stun]\nprofile = "rfc5389"\n', "profile"),
        ('[stun]\npwd = "short"\nufrag = "abcd"\n', "pwd"),
        ('[stun]\nrealm = "x"\n', "realm"),
    ],
)
def test_stun_section_errors_name_the_key(tmp_path: Path, section: str, key: str) -> None:
    with pytest.raises(TargetFileError) as caught:
        _load(tmp_path, BASE + STUN_ONLY + section)
    assert caught.value.key == f"stun.{key}", caught.value
