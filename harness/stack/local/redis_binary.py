"""Where the local backend's redis-server is (``ULLC_REDIS_SERVER`` or PATH)."""

from __future__ import annotations

import os
import shutil

from harness.stack.errors import RedisServerMissingError

REDIS_ENV = "ULLC_REDIS_SERVER"


def find_redis_server(path: str | None = None) -> str:
    """The redis-server binary (``ULLC_REDIS_SERVER`` or PATH); a clear error if absent."""
    configured = os.environ.get(REDIS_ENV)
    if configured:
        if os.access(configured, os.X_OK):
            return configured
        raise RedisServerMissingError(
            f"{REDIS_ENV}={configured} is not an executable",
            hint=f"point {REDIS_ENV} at redis-server or unset it to search PATH",
        )
    found = shutil.which("redis-server", path=path)
    if found is None:
        raise RedisServerMissingError(
            "redis-server is not on PATH; every DC of the reference stack runs one",
            hint="install it: `apt-get install redis-server` (Debian/Ubuntu), "
            f"or set {REDIS_ENV} to its path",
        )
    return found
