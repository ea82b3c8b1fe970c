"""The Toxiproxy HTTP API over the hop engine (aiohttp).

Same paths, verbs, JSON shapes and status codes as Toxiproxy 2.x; extensions
(UDP, ``stream: both``, capture, flows, seed) are listed in ``harness/faults/README.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from harness import __version__
from harness.errors import PortInUseError, UsageError
from harness.faults import errors
from harness.faults.api import schema
from harness.faults.api.deadline import IDLE_TIMEOUT_S, READ_TIMEOUT_S, ReadDeadline
from harness.faults.engine.hub import Hub
from harness.faults.engine.udp_proxy import UdpProxy

# What GET /version reports: the Toxiproxy API generation we speak, then who we are.
VERSION = f"2.12.0+ullc-harness.{__version__}"
ENGINE = "ullc-harness"

HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
READ_TIMEOUT: web.AppKey[float] = web.AppKey("read_timeout", float)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


WARNINGS: web.RequestKey[list[str]] = web.RequestKey("warnings", list)
WARNING_HEADER = "X-Ullc-Warning"
REQUEST_ID_HEADER = "X-Toxiproxy-Request-Id"
log = logging.getLogger("harness.faults.api")


def _error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


@web.middleware
async def _request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Toxiproxy tags every answer, refusals included, with a request id."""
    request_id = secrets.token_hex(10)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers[REQUEST_ID_HEADER] = request_id
        raise
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


@web.middleware
async def _stop_browsers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Toxiproxy refuses browsers (a web page must not drive a hop by cross-site requests)."""
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return web.Response(status=403, text="User agent not allowed\n")
    return await handler(request)


@web.middleware
async def _warnings(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What Toxiproxy accepts but looks like a mistake: a header and a log line, never a 4xx."""
    found: list[str] = []
    request[WARNINGS] = found
    response = await handler(request)
    for warning in found:
        response.headers.add(WARNING_HEADER, warning)
        log.warning("%s %s: %s", request.method, request.path, warning)
    return response


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.ApiError as error:
        return _error(error.message, error.status)
    except web.HTTPException:
        raise
    except Exception as error:  # Toxiproxy: an error without a status is a 500
        return _error(str(error), 500)


async def _body(request: web.Request) -> Any:
    try:
        raw = await asyncio.wait_for(request.read(), request.app[READ_TIMEOUT])
    except TimeoutError:
        # As Go's ReadTimeout: the connection goes; a 408 on it would wait for a reader.
        if request.transport is not None:
            request.transport.abort()
        raise web.HTTPRequestTimeout(text="request body not received in time\n") from None
    return schema.loads(raw)


def _hub(request: web.Request) -> Hub:
    return request.app[HUB]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def proxy_index(request: web.Request) -> web.Response:
    hub = _hub(request)
    return _json({name: proxy.to_json() for name, proxy in hub.proxies.items()})


async def proxy_create(request: web.Request) -> web.Response:
    hub = _hub(request)
    config = schema.proxy_create(await _body(request))
    async with hub.lock:
        proxy = await hub.create(config)
    return _json(proxy.to_json(), 201)


async def populate(request: web.Request) -> web.Response:
    """Toxiproxy's shape: 201 and ``proxies``; on a failure part-way, the error's status
    with ``error``, ``status`` and the proxies done before it. An empty list is null."""
    hub = _hub(request)
    try:
        configs = schema.populate(await _body(request))
    except errors.ApiError as error:
        return _json(
            {"error": error.message, "status": error.status, "proxies": None}, error.status
        )
    async with hub.lock:
        proxies, failure = await hub.populate(configs)
    done = [proxy.to_json() for proxy in proxies] or None
    if failure is None:
        return _json({"proxies": done}, 201)
    if isinstance(failure, errors.ApiError):
        message, status = failure.message, failure.status
    else:
        message, status = str(failure), 500
    return _json({"error": message, "status": status, "proxies": done}, status)


async def proxy_show(request: web.Request) -> web.Response:
    return _json(_hub(request).get(request.match_info["proxy"]).to_json())


async def proxy_update(request: web.Request) -> web.Response:
    hub = _hub(request)
    proxy = hub.get(request.match_info["proxy"])
    config = schema.proxy_update(proxy.config, await _body(request))
    async with hub.lock:
        await hub.update(proxy.name, config)
    return _json(proxy.to_json())


async def proxy_delete(request: web.Request) -> web.Response:
    hub = _hub(request)
    async with hub.lock:
        await hub.delete(request.match_info["proxy"])
    return web.Response(status=204)


async def toxic_index(request: web.Request) -> web.Response:
    proxy = _hub(request).get(request.match_info["proxy"])
    return _json(proxy.toxics_json())


async def toxic_create(request: web.Request) -> web.Response:
    hub = _hub(request)
    proxy = hub.get(request.match_info["proxy"])
    toxic = schema.toxic_create(
        await _body(request), proxy.config.protocol, proxy.toxics.__contains__, request[WARNINGS]
    )
    hub.add_toxic(proxy.name, toxic)
    return _json(toxic.to_json())  # Toxiproxy answers 200 here, not 201


def _toxic(request: web.Request) -> tuple[Any, Any]:
    proxy = _hub(request).get(request.match_info["proxy"])
    toxic = proxy.toxics.get(request.match_info["toxic"])
    if toxic is None:
        raise errors.toxic_not_found()
    return proxy, toxic


async def toxic_show(request: web.Request) -> web.Response:
    _, toxic = _toxic(request)
    return _json(toxic.to_json())


async def toxic_update(request: web.Request) -> web.Response:
    proxy, toxic = _toxic(request)
    updated = schema.toxic_update(
        toxic, proxy.config.protocol, await _body(request), request[WARNINGS]
    )
    proxy.replace_toxic(updated)
    return _json(updated.to_json())


async def toxic_delete(request: web.Request) -> web.Response:
    _hub(request).remove_toxic(request.match_info["proxy"], request.match_info["toxic"])
    return web.Response(status=204)


async def reset(request: web.Request) -> web.Response:
    hub = _hub(request)
    async with hub.lock:
        await hub.reset()
    return web.Response(status=204)


async def version(request: web.Request) -> web.Response:
    return web.Response(
        text=json.dumps({"version": VERSION}) + "\n",
        content_type="application/json",
        charset="utf-8",
    )


# -- extensions -------------------------------------------------------------------------
async def engine_show(request: web.Request) -> web.Response:
    hub = _hub(request)
    return _json({"engine": ENGINE, "version": VERSION, "seed": hub.seed, "pid": os.getpid()})


async def engine_update(request: web.Request) -> web.Response:
    """Change the root seed; toxics created afterwards draw from it (replays set it per run)."""
    hub = _hub(request)
    data = await _body(request)
    seed = data.get("seed") if isinstance(data, dict) else None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise errors.bad_request("field 'seed' must be a non-negative integer")
    hub.seed = seed
    return await engine_show(request)


async def flows(request: web.Request) -> web.Response:
    proxy = _hub(request).get(request.match_info["proxy"])
    if not isinstance(proxy, UdpProxy):
        raise errors.bad_request("flows exist only on udp proxies")
    return _json(proxy.flows_json())


async def capture_show(request: web.Request) -> web.Response:
    proxy = _hub(request).get(request.match_info["proxy"])
    records = [record.to_json() for record in proxy.capture.records()]
    return _json({"size": proxy.capture.size, "records": records})


async def capture_clear(request: web.Request) -> web.Response:
    _hub(request).get(request.match_info["proxy"]).capture.clear()
    return web.Response(status=204)


def make_app(hub: Hub, read_timeout: float = READ_TIMEOUT_S) -> web.Application:
    app = web.Application(middlewares=[_request_id, _stop_browsers, _warnings, _errors])
    app[HUB] = hub
    app[READ_TIMEOUT] = read_timeout
    route = app.router
    route.add_post("/reset", reset)
    route.add_get("/proxies", proxy_index)
    route.add_post("/proxies", proxy_create)
    route.add_post("/populate", populate)
    route.add_get("/proxies/{proxy}", proxy_show)
    route.add_post("/proxies/{proxy}", proxy_update)
    route.add_patch("/proxies/{proxy}", proxy_update)
    route.add_delete("/proxies/{proxy}", proxy_delete)
    route.add_get("/proxies/{proxy}/toxics", toxic_index)
    route.add_post("/proxies/{proxy}/toxics", toxic_create)
    route.add_get("/proxies/{proxy}/toxics/{toxic}", toxic_show)
    route.add_post("/proxies/{proxy}/toxics/{toxic}", toxic_update)
    route.add_patch("/proxies/{proxy}/toxics/{toxic}", toxic_update)
    route.add_delete("/proxies/{proxy}/toxics/{toxic}", toxic_delete)
    route.add_get("/version", version)
    route.add_get("/engine", engine_show)
    route.add_post("/engine", engine_update)
    route.add_get("/proxies/{proxy}/flows", flows)
    route.add_get("/proxies/{proxy}/capture", capture_show)
    route.add_delete("/proxies/{proxy}/capture", capture_clear)
    return app


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 8474
    seed: int = 0
    config: Path | None = None
    exit_with_parent: bool = False
    allow_remote_listen: bool = False
    """Let proxies listen off the loopback (``--allow-remote-listen``); off by default."""
    read_timeout: float = READ_TIMEOUT_S
    """Seconds a request may take to arrive complete (``--read-timeout``; Toxiproxy: 15)."""


def bind_api_socket(host: str, port: int) -> socket.socket:
    """Bind the API port up front so "port taken" is a clear error before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortInUseError(
            f"cannot listen on {host}:{port}: {error.strerror or error}",
            hint=f"stop the process using {host}:{port} (e.g. a running toxiproxy-server) "
            "or pass --port 0 for a free port",
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def _load_config(hub: Hub, path: Path) -> None:
    try:
        data = json.loads(path.read_text())
        configs = schema.populate(data)
    except (OSError, ValueError, errors.ApiError) as error:
        raise UsageError(
            f"cannot load proxies from {path}: {error}",
            hint="the file is a JSON array of proxies, as for Toxiproxy's -config",
        ) from None
    async with hub.lock:
        _, failure = await hub.populate(configs)
    if failure is not None:
        raise UsageError(
            f"cannot create the proxies of {path}: {failure}",
            hint="fix that proxy's listen/upstream in the file",
        )


async def serve(options: ServerOptions, ready: Callable[[dict[str, Any]], None]) -> None:
    """Run until SIGTERM/SIGINT (or the parent dies, if asked); then close every proxy."""
    sock = bind_api_socket(options.host, options.port)
    loop = asyncio.get_running_loop()
    hub = Hub(seed=options.seed, allow_remote_listen=options.allow_remote_listen)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        make_app(hub, options.read_timeout),
        access_log=None,
        handle_signals=False,
        keepalive_timeout=IDLE_TIMEOUT_S,
    )
    await runner.setup()
    api_server: asyncio.Server | None = None
    watcher: asyncio.Task[None] | None = None
    try:
        if options.config is not None:
            await _load_config(hub, options.config)
        assert runner.server is not None
        factory = runner.server
        api_server = await loop.create_server(
            lambda: ReadDeadline(factory(), options.read_timeout), sock=sock
        )
        host, port = sock.getsockname()[:2]
        url_host = f"[{host}]" if ":" in host else host
        ready(
            {
                "event": "listening",
                "url": f"http://{url_host}:{port}",
                "host": host,
                "port": port,
                "pid": os.getpid(),
                "seed": options.seed,
            }
        )
        if options.exit_with_parent:
            watcher = loop.create_task(_watch_parent(stop))
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await hub.close()
        if api_server is not None:
            api_server.close()
        await runner.cleanup()
        with contextlib.suppress(OSError):
            sock.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _watch_parent(stop: asyncio.Event) -> None:
    """The reaper habit: a hop server started for a test run dies with that run."""
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(0.5)
        if os.getppid() != parent:
            stop.set()
