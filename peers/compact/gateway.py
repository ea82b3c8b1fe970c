"""The API gateway: the signaling WebSocket (specs/signaling.md) and its control API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from peers.compact import control, messages
from peers.compact.dc import Conflict, DataCenter, new_credentials
from peers.compact.routing import LatencyMap
from peers.compact.sdp import bot_description

SIGNALING_PATH = "/v1/signaling"
TIMEOUT_MARGIN_MS = 150


class Gateway:
    def __init__(
        self,
        ws_addr: tuple[str, int],
        control_addr: tuple[str, int],
        latency_map: LatencyMap,
        dcs: dict[str, DataCenter],
        timeout_ms: int,
        edge_ips: frozenset[str],
    ) -> None:
        self.ws_addr = ws_addr
        self.control_addr = control_addr
        self.maps = control.MapHolder(latency_map, frozenset(dcs))
        # SIG-18: the client-facing addresses of this deployment's edges (canonical text);
        # a session for any other edge_ip could never be reached by the client's checks.
        self._edge_ips = edge_ips
        self._dcs = dcs
        # SIG-13 promises an answer within timeout_ms as the client sees it: give up on the DC
        # a little earlier, leaving room for the way back and a busy event loop.
        self._timeout_ms = timeout_ms
        self._timeout_s = (timeout_ms - min(TIMEOUT_MARGIN_MS, timeout_ms / 10)) / 1000
        # The bot's certificate fingerprint, published ahead of calls (SDP-9; no DTLS runs).
        self._fingerprint = hashlib.sha256(secrets.token_bytes(64)).digest()
        self._runners: list[web.AppRunner] = []
        self._sockets: set[web.WebSocketResponse] = set()

    # -- signaling --------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        # SIG-2: aiohttp answers pings itself; no heartbeat, so an idle connection stays open.
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=1 << 20)
        await ws.prepare(request)
        self._sockets.add(ws)
        send_lock = asyncio.Lock()
        tasks: set[asyncio.Task[None]] = set()

        async def send(body: dict[str, Any]) -> None:
            async with send_lock:
                if not ws.closed:
                    await ws.send_str(json.dumps(body))

        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    # SIG-3: several calls in flight; each answered when ready, in any order.
                    task = asyncio.create_task(self._answer(frame.data, send))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif frame.type == WSMsgType.BINARY:  # SIG-1: refused, connection stays open
                    await send(
                        messages.error(
                            None,
                            "bad_request",
                            "binary frames are not ULLC messages; send JSON text",
                            False,
                        )
                    )
        finally:
            for task in tasks:
                task.cancel()
            self._sockets.discard(ws)
        return ws

    async def _answer(self, text: str, send: Any) -> None:
        request_id: object = None
        try:
            try:
                request = json.loads(text)
            except ValueError as exc:
                raise messages.BadRequest(f"the frame is not JSON: {exc}") from exc
            except RecursionError as exc:  # SIG-12: too deep for the parser is the sender's fault
                raise messages.BadRequest("the frame nests JSON too deeply to parse") from exc
            if isinstance(request, dict):
                request_id = request.get("request_id")
            body = await self._create(messages.validate(request, self._edge_ips))
        except messages.BadRequest as exc:
            body = messages.error(request_id, "bad_request", str(exc), False)
        except Exception as exc:  # SIG-12: every request gets exactly one answer
            body = messages.error(request_id, "internal", f"gateway failure: {exc!r}", True)
        await send(body)

    async def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        request_id = request["request_id"]
        latency_map = self.maps.current  # ROUTE-5: one version for the whole decision
        if request["mode"] == "ullc":
            dc_id = latency_map.route(request["edge_ip"])  # ROUTE-1, SIG-7
            bot_ufrag, bot_pwd = request["bot"]["ice_ufrag"], request["bot"]["ice_pwd"]
        else:
            dc_id = latency_map.default_dc  # SIG-9: the gateway's own choice
            bot_ufrag, bot_pwd = new_credentials()
        dc = self._dcs.get(dc_id)
        if dc is None:
            return messages.error(
                request_id,
                "unavailable",
                f"map {latency_map.version} routes to unknown DC {dc_id!r}",
                True,
            )
        try:
            async with asyncio.timeout(self._timeout_s):  # SIG-13
                record = await dc.create_session(bot_ufrag, bot_pwd, request["client"]["ice_ufrag"])
        except TimeoutError:
            return messages.error(
                request_id,
                "timeout",
                f"{dc_id} did not answer within {self._timeout_s * 1000:.0f} ms "
                f"(the gateway answers within its {self._timeout_ms} ms, SIG-13)",
                True,
            )
        except Conflict as exc:
            return messages.error(request_id, "conflict", str(exc), False)
        media_ip, media_port = dc.addresses.media
        response: dict[str, Any] = {
            "type": "session.created",
            "request_id": request_id,
            "session_id": record.session_id,
            "dc": dc_id,
            "media": {"ip": media_ip, "port": media_port},  # FB-1: the DC's own media address
            "map_version": latency_map.version,  # ROUTE-6
        }
        if request["mode"] == "sequential":
            sdp = bot_description(bot_ufrag, bot_pwd, media_ip, media_port, self._fingerprint)
            response["bot"] = {"ice_ufrag": bot_ufrag, "ice_pwd": bot_pwd, "sdp": sdp}
        return response

    # -- control and life -------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "component": "gateway",
            "role": "gateway",
            "status": "ok",
            "map_version": self.maps.current.version,
        }

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(SIGNALING_PATH, self.websocket)
        self._runners.append(await control.serve(app, *self.ws_addr))
        self._runners.append(
            await control.serve(control.routing_app(self.health, self.maps), *self.control_addr)
        )

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        for runner in self._runners:
            await runner.cleanup()
