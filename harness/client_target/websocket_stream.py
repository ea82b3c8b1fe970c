"""WebSocket messages out of captured TCP segments, each with the time it crossed the hop.

The hop sees the gateway connection's bytes (RFC 6455 framing over TCP), not messages:
this reassembles one direction of one connection, skips the HTTP upgrade, and parses
frames with the ``websockets`` library's own frame parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ProtocolError
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

HTTP_END = b"\r\n\r\n"


@dataclass(frozen=True)
class WsMessage:
    t: float
    """When the segment that completed the frame crossed the hop."""
    body: dict[str, Any]


def text_messages(
    segments: Iterable[tuple[float, bytes]], *, from_client: bool
) -> Iterator[WsMessage]:
    """JSON text messages of one direction of one connection (client frames are masked)."""
    reader = StreamReader()
    head = b""
    in_frames = False
    parser = Frame.parse(reader.read_exact, mask=from_client, max_size=None)
    for t, data in segments:
        if not in_frames:
            head += data
            end = head.find(HTTP_END)
            if end < 0:
                continue
            in_frames = True
            data = head[end + len(HTTP_END) :]
        reader.feed_data(data)
        while True:
            try:
                next(parser)
                break  # needs more bytes
            except StopIteration as done:
                frame: Frame = done.value
            except ProtocolError:
                return  # not a WebSocket stream we can follow any further
            parser = Frame.parse(reader.read_exact, mask=from_client, max_size=None)
            if frame.opcode is Opcode.TEXT:
                try:
                    body = json.loads(bytes(frame.data).decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    continue
                if isinstance(body, dict):
                    yield WsMessage(t, body)
