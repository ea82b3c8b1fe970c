"""Labels on everything the docker backend creates (the testcontainers model).

Every container, network and image carries :data:`PROJECT`; containers and
networks also the run's session and the owner's pid and boot id, from which the
reaper (:mod:`.reaper`) tells a dead run's leftovers from a live run's.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = "io.ullc-harness"
"""Present on every object of ours (value ``1``): the filter of every sweep."""
SESSION = "io.ullc-harness.session"
OWNER_PID = "io.ullc-harness.owner-pid"
OWNER_START = "io.ullc-harness.owner-start"
"""The owner's start time in clock ticks since boot: a recycled pid does not match it."""
BOOT_ID = "io.ullc-harness.boot-id"
COMPONENT = "io.ullc-harness.component"
MEMBERS = "io.ullc-harness.components"
"""On a run's network: its components (comma-separated), to clear stale endpoints."""
IMAGE_KIND = "io.ullc-harness.image"
CONTENT = "io.ullc-harness.content"


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def run_labels(session: str) -> dict[str, str]:
    """Labels of a run's containers and networks, naming this process as their owner."""
    from harness.stack.local.reaper import start_time

    pid = os.getpid()
    return {
        PROJECT: "1",
        SESSION: session,
        OWNER_PID: str(pid),
        OWNER_START: str(start_time(pid) or 0),
        BOOT_ID: boot_id(),
    }


def session_filter(session: str) -> dict[str, list[str]]:
    return {"label": [f"{PROJECT}=1", f"{SESSION}={session}"]}


def project_filter() -> dict[str, list[str]]:
    return {"label": [f"{PROJECT}=1"]}
