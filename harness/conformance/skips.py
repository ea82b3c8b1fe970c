"""Skip reasons shared by the suites: each names the real cause and what to declare (TGT-4)."""

from __future__ import annotations

from harness.fixtures.target_session import RunningTarget
from harness.protocol.ice import IceCredentials, generate_credentials
from harness.protocol.stun_outcome import Credentials, Judgement
from harness.target.model import Capability, StunSettings


def lacks_sessions_reason(running: RunningTarget) -> str:
    """Why a test that needs a live ULLC session cannot run on a STUN-only target (TGT-5)."""
    return (
        f"target {running.name!r} lacks capability {Capability.ULLC.value}: it is stun_only "
        "(TGT-5), so no gateway creates sessions and no ICE password signs answers"
    )


def no_credentials_reason(running: RunningTarget, what: str) -> str:
    """Why a signed-check row cannot run on a STUN-only target without ``[stun]`` credentials."""
    return (
        f"target {running.name!r} declares no [stun] credentials (ufrag, pwd, client_ufrag): "
        f"the row sends a {what}, which needs the responder's password (TGT-5)"
    )


def known_deviation_reason(
    running: RunningTarget, probe: str, reason: str, judged: Judgement
) -> str:
    """The skip of a row the target file declares a known deviation for (TGT-5)."""
    first = judged.violations[0] if judged.violations else "no violation"
    return (
        f"target {running.name!r} declares known deviation {probe!r} in "
        f"[stun].known_deviations ({reason}); observed: {first}"
    )


def probe_credentials(
    settings: StunSettings,
) -> tuple[IceCredentials, IceCredentials, Credentials | None]:
    """The responder's and the client's credentials for a STUN-only target's probes, and
    what the judge verifies answers with; throwaway ones when the target declares none."""
    if settings.ufrag is None or settings.pwd is None:
        return generate_credentials(), generate_credentials(), None
    bot = IceCredentials(settings.ufrag, settings.pwd)
    client = generate_credentials()
    if settings.client_ufrag is not None:
        client = IceCredentials(settings.client_ufrag, client.pwd)
    return bot, client, Credentials(settings.ufrag, settings.pwd)
