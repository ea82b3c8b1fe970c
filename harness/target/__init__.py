"""Target files: where an implementation under test is and what it can do (specs/target-file.md).

- :mod:`~harness.target.model`: the frozen dataclasses (:class:`Target` and its sections).
- :mod:`~harness.target.loader`: :func:`load_target`, strict validation (TGT-1..6).
- :mod:`~harness.target.writer`: :func:`write_target` / :meth:`Target.to_toml`.
"""

from harness.target.errors import TargetFileError
from harness.target.loader import load_target, parse_host_port, parse_target
from harness.target.model import (
    Capabilities,
    Capability,
    ClientSettings,
    ControlUrls,
    Endpoints,
    HostPort,
    Limits,
    ReferenceInfo,
    StunSettings,
    Target,
)
from harness.target.writer import target_to_dict, target_to_toml, write_target

__all__ = [
    "Capabilities",
    "Capability",
    "ClientSettings",
    "ControlUrls",
    "Endpoints",
    "HostPort",
    "Limits",
    "ReferenceInfo",
    "StunSettings",
    "Target",
    "TargetFileError",
    "load_target",
    "parse_host_port",
    "parse_target",
    "target_to_dict",
    "target_to_toml",
    "write_target",
]
