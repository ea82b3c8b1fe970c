"""The reference ULLC stack: real components on their own loopback addresses, every link
through a fault hop (DESIGN.md sections 3, 5, 6; specs/topology.md).

Start one from Python::

    from harness.stack import start_local_stack

    with start_local_stack() as stack:          # healthy when the block starts
        print(stack.target_path)                # TOML target file (specs/target-file.md)
        stack.pause("dc-eu")                    # a component or a whole DC/edge group

Heavy modules load lazily, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.stack.backend import BackendKind, StackBackend, open_backend, start_stack
    from harness.stack.local.backend import LocalBackend, start_local_stack
    from harness.stack.topology import Topology, default_topology, load_topology

__all__ = [
    "BackendKind",
    "LocalBackend",
    "StackBackend",
    "Topology",
    "default_topology",
    "load_topology",
    "open_backend",
    "start_local_stack",
    "start_stack",
]

_LAZY = {
    "LocalBackend": "harness.stack.local.backend",
    "start_local_stack": "harness.stack.local.backend",
    "StackBackend": "harness.stack.backend",
    "BackendKind": "harness.stack.backend",
    "open_backend": "harness.stack.backend",
    "start_stack": "harness.stack.backend",
    "Topology": "harness.stack.topology",
    "default_topology": "harness.stack.topology",
    "load_topology": "harness.stack.topology",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
