"""A loopback server that misbehaves the way servers on the open web do.

Unlike tests/feedserver.py it can answer without a Content-Length (chunked),
drip a body, hang up in the middle of one with a TCP reset, and listen on any
loopback address (127.0.0.2 plays a private address the tracker must never
reach). Every request is recorded, so a test can prove what was never fetched.
"""

from __future__ import annotations

import gzip
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.feedserver import LoopbackServer


@dataclass
class Play:
    """One answer. ``body`` is sent as is (already encoded, compressed...);
    ``chunked`` sends it without a Content-Length; ``reset_after`` sends that many
    bytes of it and then resets the connection; ``delay`` waits before the status
    line; ``drip`` waits that long between chunks of ``chunk`` bytes."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False
    reset_after: int | None = None
    drip: float = 0.0
    chunk: int = 64 * 1024


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    at: float


Handler = Callable[[Hit], Play]


def gzip_bomb(decoded_size: int) -> bytes:
    """A gzip body of ``decoded_size`` zero bytes: about a thousandth of that on the wire."""
    block = b"\0" * (1024 * 1024)
    out = bytearray()
    compressor = gzip.GzipFile(fileobj=_Sink(out), mode="wb", compresslevel=9)
    remaining = decoded_size
    while remaining > 0:
        piece = block[: min(len(block), remaining)]
        compressor.write(piece)
        remaining -= len(piece)
    compressor.close()
    return bytes(out)


class _Sink:
    def __init__(self, out: bytearray) -> None:
        self.out = out

    def write(self, data: bytes) -> int:
        self.out += data
        return len(data)

    def flush(self) -> None:
        pass


class HostileServer(LoopbackServer):
    """Answers as ``Play`` describes them: chunked, dripped, reset mid-body."""

    def _record(self, http: BaseHTTPRequestHandler) -> Hit:
        return Hit(http.path, {k.lower(): v for k, v in http.headers.items()}, time.time())

    def _not_found(self) -> Play:
        return Play(404, b"not found")

    def _respond(self, http: BaseHTTPRequestHandler, play: Play) -> None:
        if play.delay:
            time.sleep(play.delay)
        body = play.body if isinstance(play.body, bytes) else b"".join(play.body)
        http.send_response(play.status)
        for name, value in play.headers.items():
            http.send_header(name, value)
        if play.chunked:
            http.send_header("Transfer-Encoding", "chunked")
        elif "Content-Length" not in play.headers:
            http.send_header("Content-Length", str(len(body)))
        http.end_headers()
        if play.reset_after is not None:
            http.wfile.write(body[: play.reset_after])
            http.wfile.flush()
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            http.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            http.connection.close()
            http.close_connection = True
            return
        for start in range(0, len(body), play.chunk):
            piece = body[start : start + play.chunk]
            if play.chunked:
                http.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                http.wfile.write(piece)
            http.wfile.flush()
            if play.drip:
                time.sleep(play.drip)
        if play.chunked:
            http.wfile.write(b"0\r\n\r\n")

    @property
    def hits(self) -> list[Hit]:
        return self.requests

    def hits_on(self, path: str) -> list[Hit]:
        return self._matching(path)
