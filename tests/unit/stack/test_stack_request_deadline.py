"""RequestDeadline against a real aiohttp server: complete requests (split, pipelined, with
bodies) are served and keep their connection; a stalled head or body is closed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from harness.stack.request_deadline import RequestDeadline

DEADLINE_S = 0.3
Scenario = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _echo(request: web.Request) -> web.Response:
    return web.Response(text=f"{request.path} {len(await request.read())}")


async def _serving(scenario: Scenario) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    server = runner.server
    assert server is not None
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(
        lambda: RequestDeadline(server(), DEADLINE_S), "127.0.0.1", 0
    )
    port = listener.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await scenario(reader, writer)
        finally:
            writer.close()
    finally:
        listener.close()
        await runner.cleanup()


def run(scenario: Scenario) -> None:
    asyncio.run(_serving(scenario))


async def _closed(reader: asyncio.StreamReader, within_s: float) -> bool:
    try:
        await asyncio.wait_for(reader.read(), within_s)  # read() returns at EOF only
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def _responses(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    bodies = []
    for _ in range(count):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        bodies.append(await reader.readexactly(length))
    return bodies


def test_a_stalled_head_is_closed() -> None:
    async def scenario(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"GET /a HTTP/1.1\r\nHost: x\r\n")
        assert await _closed(reader, DEADLINE_S * 5)

    run(scenario)


def test_a_stalled_body_is_closed() -> None:
    async def scenario(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        assert await _closed(reader, DEADLINE_S * 5)

    run(scenario)


def test_a_drip_fed_head_is_closed_at_the_deadline_of_its_first_byte() -> None:
    async def scenario(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in b"GET /slow HTTP/1.1\r\nX-Drip: aaaaaaaaaaaaaaaaaaaa":
            writer.write(bytes([byte]))
            await asyncio.sleep(DEADLINE_S / 10)
            if writer.is_closing() or reader.at_eof():
                break
        assert await _closed(reader, DEADLINE_S * 5)

    run(scenario)


def test_split_pipelined_and_bodied_requests_are_served_and_kept_alive() -> None:
    async def scenario(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One request split at every awkward place, including inside "\r\n\r\n".
        request = b"POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        for piece in (request[:10], request[10:45], request[45:47], request[47:]):
            writer.write(piece)
            await asyncio.sleep(0.01)
        assert await _responses(reader, 1) == [b"/one 3"]
        # Two pipelined in one write, the second with a body split off.
        writer.write(
            b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /three HTTP/1.1\r\nHost: x\r\ncontent-length:  5 \r\n\r\n12"
        )
        await asyncio.sleep(0.01)
        writer.write(b"345")
        assert await _responses(reader, 2) == [b"/two 0", b"/three 5"]
        # Idle between requests for longer than the deadline: no partial request, kept.
        await asyncio.sleep(DEADLINE_S * 3)
        writer.write(b"GET /four HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await _responses(reader, 1) == [b"/four 0"]

    run(scenario)
