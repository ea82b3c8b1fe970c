"""Two runners never pick the same automatic network (harness/stack/local/network_claim.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from harness.stack.local.network_claim import try_claim

NETWORK = "127.231.0.0/16"


def test_a_held_claim_refuses_a_second_until_released(tmp_path: Path) -> None:
    first = try_claim(NETWORK, tmp_path)
    assert first is not None
    assert try_claim(NETWORK, tmp_path) is None
    assert try_claim("127.232.0.0/16", tmp_path) is not None
    first.release()
    again = try_claim(NETWORK, tmp_path)
    assert again is not None
    again.release()


def test_a_killed_runner_leaves_no_stale_claim(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from harness.stack.local.network_claim import try_claim
                claim = try_claim({NETWORK!r}, Path({str(tmp_path)!r}))
                print("claimed" if claim else "refused", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "claimed"
        assert try_claim(NETWORK, tmp_path) is None
    finally:
        holder.kill()
        holder.communicate()
    claim = try_claim(NETWORK, tmp_path)
    assert claim is not None
    claim.release()
