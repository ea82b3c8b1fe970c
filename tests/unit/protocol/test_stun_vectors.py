"""The RFC 5769 test vectors decode, verify and lint clean (golden files in tests/data/stun)."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from harness.cli import main
from harness.protocol.stun_attributes import AttributeType, Family
from harness.protocol.stun_checker import Profile, check_stun
from harness.protocol.stun_integrity import long_term_key, saslprep, short_term_key
from harness.protocol.stun_message import parse_message, verify_fingerprint, verify_integrity

DATA = Path(__file__).resolve().parents[2] / "data" / "stun"
SHORT_TERM = "VOkJxbRl1RmTxUk/WvJxBt"
VECTORS = {
    "rfc5769-2.1-request.hex": (SHORT_TERM, Profile.RFC),
    "rfc5769-2.2-response-ipv4.hex": (SHORT_TERM, Profile.ULLC),
    "rfc5769-2.3-response-ipv6.hex": (SHORT_TERM, Profile.ULLC),
    "rfc5769-2.4-long-term-request.hex": ("TheMatrIX", Profile.RFC),
}


def vector(name: str) -> bytes:
    return bytes.fromhex((DATA / name).read_text())


@pytest.mark.parametrize("name", list(VECTORS))
def test_vector_is_conformant(name: str) -> None:
    password, profile = VECTORS[name]
    report = check_stun(vector(name), password=password, profile=profile)
    assert report.conformant, [str(v) for v in report.violations]
    assert any("checked with" in note for note in report.notes)


@pytest.mark.parametrize("name", list(VECTORS))
def test_vector_fails_with_the_wrong_password(name: str) -> None:
    _, profile = VECTORS[name]
    report = check_stun(vector(name), password="wrong-password-wrong-pw", profile=profile)
    assert report.requirement_ids == {"STUN-10"}


def test_sample_request_decodes() -> None:
    message = parse_message(vector("rfc5769-2.1-request.hex"))
    assert message.transaction_id.hex() == "b7e7a701bc34d686fa87dfae"
    assert message.username == "evtj:h6vY"
    priority = message.get(AttributeType.PRIORITY)
    assert priority is not None
    assert priority.decoded == 0x6E0001FF
    assert verify_fingerprint(message) is True
    assert verify_integrity(message, short_term_key(SHORT_TERM)) is True


@pytest.mark.parametrize(
    ("name", "family", "host"),
    [
        ("rfc5769-2.2-response-ipv4.hex", Family.IPV4, "192.0.2.1"),
        ("rfc5769-2.3-response-ipv6.hex", Family.IPV6, "2001:db8:1234:5678:11:2233:4455:6677"),
    ],
)
def test_response_vectors_carry_the_documented_address(
    name: str, family: Family, host: str
) -> None:
    message = parse_message(vector(name))
    mapped = message.xor_mapped_address
    assert mapped is not None
    assert (mapped.family, mapped.host, mapped.port) == (family, host, 32853)
    report = check_stun(vector(name), password=SHORT_TERM, observed=(host, 32853))
    assert report.conformant
    assert check_stun(
        vector(name), password=SHORT_TERM, observed=(host, 32854)
    ).requirement_ids == {"STUN-13"}


def test_long_term_key_uses_saslprep_of_rfc_5389() -> None:
    # RFC 5769 §2.4 prints the password before SASLprep: soft hyphen and ª.
    assert saslprep("The\u00adM\u00aatr\u2168") == "TheMatrIX"
    username = "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"
    assert long_term_key(username, "example.org", "The\u00adM\u00aatr\u2168") == long_term_key(
        username, "example.org", "TheMatrIX"
    )
    message = parse_message(vector("rfc5769-2.4-long-term-request.hex"))
    assert message.username == username
    assert verify_integrity(message, long_term_key(username, "example.org", "TheMatrIX")) is True
    assert verify_fingerprint(message) is None


def test_ullc_profile_rejects_the_rfc_only_vectors() -> None:
    request = check_stun(vector("rfc5769-2.1-request.hex"), password=SHORT_TERM)
    assert request.requirement_ids == {"STUN-23"}  # ICE-CONTROLLED: the ULLC client controls
    long_term = check_stun(vector("rfc5769-2.4-long-term-request.hex"), password="TheMatrIX")
    assert {"STUN-16", "STUN-8"} <= long_term.requirement_ids


@pytest.mark.parametrize("name", list(VECTORS))
def test_lint_stun_exits_0_on_the_golden_file(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    password, profile = VECTORS[name]
    code = main(["lint-stun", str(DATA / name), "--password", password, "--profile", profile.value])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 violation(s): conformant" in out


def test_packaged_samples_lint_clean_from_the_installed_package() -> None:
    samples = files("harness.data.samples")
    request = samples.joinpath("rfc5769-request.hex")
    assert request.is_file()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "lint-stun",
            str(request),
            "--password",
            SHORT_TERM,
            "--profile",
            "rfc",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"conformant": true' in result.stdout


def test_unusable_input_exits_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint-stun", "00 01 zz"]) == 2
    err = capsys.readouterr().err
    assert "not hex" in err
    assert "Hint:" in err
