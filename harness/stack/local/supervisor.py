"""The local backend's supervisor: one interpreter that imports everything once and forks.

Started by the runner as ``python -m harness.stack.local.supervisor RUN_DIR``.
Forking a preloaded interpreter is what makes ~20 processes start in well under
a second on two cores; it is safe because the supervisor forks before any
thread or event loop exists in it. Redis is exec'd from a fork.

Protocol with the runner (all files in the run directory):
- ``stack.json`` in: topology path, network, seed, redis-server path, session, defects;
- ``pids/<name>.json`` out: pid + start time (the reaper's labels);
- ``ready/<name>`` out, written by each component once it serves;
- ``exited/<name>`` out: exit status of a component that ended;
- stdin: commands (``restart NAME``); EOF means the runner is gone -> tear down.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

from harness.stack import relay_seal, store_password
from harness.stack.atomic import write_atomically
from harness.stack.components import COMPONENT_MODULES
from harness.stack.defects import parse_defects
from harness.stack.local import reaper
from harness.stack.plan import Component, Plan, Role
from harness.stack.runtime import (
    ComponentContext,
    log_to_stderr,
    run_component,
    run_hop_server,
)
from harness.stack.topology import load_topology, relocate

HOP_SERVER_MODULE = "harness.faults.api.server"
STOP_GRACE_S = 2.0


def _preload() -> None:
    """Import every component (and the hop server) before the first fork."""
    for module in COMPONENT_MODULES.values():
        importlib.import_module(module)
    with contextlib.suppress(ImportError):
        importlib.import_module(HOP_SERVER_MODULE)


class Supervisor:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.spec: dict[str, Any] = json.loads((run_dir / "stack.json").read_text())
        self.session = str(self.spec["session"])
        topology = relocate(load_topology(Path(self.spec["topology"])), self.spec["network"])
        self.plan = Plan(topology, hops=bool(self.spec.get("hops", True)))
        self.defects = parse_defects(self.spec.get("defects", []))
        self.children: dict[int, Component] = {}
        self.stopping = False
        # Before any Redis starts; a restarted Redis reads the same one (store_password.py).
        self.redis_password = store_password.read(run_dir) or store_password.create(run_dir)
        if not relay_seal.key_path(run_dir).exists():
            relay_seal.create_key(run_dir)  # the edges' and ingresses' header seal

    # -- forking ----------------------------------------------------------------------------
    def spawn(self, component: Component) -> None:
        log_path = self.run_dir / "logs" / f"{component.name}.log"
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                self._child_setup(component, log_path)
                code = self._child_main(component)
            except BaseException:
                logging.getLogger(component.name).exception("component crashed")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = component
        reaper.write_pidfile(self.run_dir / "pids", component.name, pid, self.session)

    def _child_setup(self, component: Component, log_path: Path) -> None:
        reaper.die_with_parent(signal.SIGKILL)
        if os.getppid() != self.supervisor_pid:
            os._exit(1)  # the supervisor died between fork and prctl
        reaper.set_process_name(f"ullc:{component.name}")
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        for fd in self.wake_fds:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        os.close(devnull)

    def _child_main(self, component: Component) -> int:
        if component.role is Role.REDIS:
            self._exec_redis(component)
        log_to_stderr()
        ctx = ComponentContext(self.plan, component, self.run_dir, self.defects)
        if component.role is Role.HOP:
            return run_hop_server(ctx, int(self.spec.get("seed", 0)))
        return run_component(ctx)

    def _exec_redis(self, component: Component) -> None:
        host, port = self.plan.dcs[component.group].redis
        data_dir = self.run_dir / "redis" / component.group
        data_dir.mkdir(parents=True, exist_ok=True)
        binary = str(self.spec["redis_server"])
        config = store_password.redis_config(self.run_dir, component.name, self.redis_password)
        # No persistence: sessions live for their TTL only (SESS-2). Its own address only,
        # protected mode, and the run's password (from a file: argv is public).
        argv = [
            binary, str(config), "--bind", host, "--port", str(port), "--save", "",
            "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no", "--logfile", "",
            "--dir", str(data_dir), "--databases", "1",
        ]  # fmt: skip
        os.execv(binary, argv)

    # -- supervising ------------------------------------------------------------------------
    def run(self) -> int:
        self.supervisor_pid = os.getpid()
        wake_r, wake_w = os.pipe()
        self.wake_fds = (wake_r, wake_w)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through the wakeup fd
        for component in self.plan.components():
            if component.name in self.spec.get("skip", []):
                continue
            self.spawn(component)
        stdin_open = True
        while not self.stopping:
            watched = [wake_r] + ([sys.stdin.fileno()] if stdin_open else [])
            with contextlib.suppress(InterruptedError):
                readable, _, _ = select.select(watched, [], [], 1.0)
                if wake_r in readable:
                    os.read(wake_r, 512)
                if stdin_open and sys.stdin.fileno() in readable:
                    line = sys.stdin.readline()
                    if not line:
                        stdin_open = False
                        self.stopping = True  # the runner is gone
                    else:
                        self._command(line.split())
            self._reap()
        return self._teardown()

    def _on_stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _command(self, words: list[str]) -> None:
        if len(words) == 2 and words[0] == "restart":
            if words[1] in {c.name for c in self.children.values()}:
                return  # still running
            with contextlib.suppress(KeyError):
                (self.run_dir / "exited" / words[1]).unlink(missing_ok=True)
                (self.run_dir / "ready" / words[1]).unlink(missing_ok=True)
                self.spawn(self.plan.component(words[1]))

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            component = self.children.pop(pid, None)
            if component is not None:
                code = os.waitstatus_to_exitcode(status)
                write_atomically(self.run_dir / "exited" / component.name, str(code))

    def _teardown(self) -> int:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)  # a paused child cannot act on SIGTERM
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.children and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.01)
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while self.children:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.children.pop(pid, None)
        return 0


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    parent = int(argv[1])
    # The runner may die at any moment; from here on, so do we (SIGTERM -> teardown).
    reaper.die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:
        return 1
    reaper.set_process_name("ullc:supervisor")
    _preload()
    return Supervisor(run_dir).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
