"""Skip reasons shared by the suites: each names the real cause and what to declare (TGT-4)."""

from __future__ import annotations

from harness.fixtures.target_session import RunningTarget
from harness.target.model import Capability


def lacks_sessions_reason(running: RunningTarget) -> str:
    """Why a test that needs a live ULLC session cannot run on a STUN-only target (TGT-5)."""
    return (
        f"target {running.name!r} lacks capability {Capability.ULLC.value}: it is stun_only "
        "(TGT-5), so no gateway creates sessions and no ICE password signs answers"
    )
