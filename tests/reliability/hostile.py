"""A loopback server that misbehaves the way servers on the open web do.

Unlike tests/feedserver.py it can answer without a Content-Length (chunked),
drip a body, hang up in the middle of one with a TCP reset, and listen on any
loopback address (127.0.0.2 plays a private address the tracker must never
reach). Every request is recorded, so a test can prove what was never fetched.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


class HostileServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, time.time())
                with server._lock:
                    server.hits.append(hit)
                handler = server.routes.get(self.path.split("?")[0])
                play = handler(hit) if handler else Play(404, b"not found")
                # The client may give up first: that is what a cap or a timeout does.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(play)

            def _answer(self, play: Play) -> None:
                if play.delay:
                    time.sleep(play.delay)
                body = play.body if isinstance(play.body, bytes) else b"".join(play.body)
                self.send_response(play.status)
                for name, value in play.headers.items():
                    self.send_header(name, value)
                if play.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                elif "Content-Length" not in play.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if play.reset_after is not None:
                    self.wfile.write(body[: play.reset_after])
                    self.wfile.flush()
                    # SO_LINGER with a zero timeout: close() sends RST, not FIN.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                for start in range(0, len(body), play.chunk):
                    piece = body[start : start + play.chunk]
                    if play.chunked:
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    else:
                        self.wfile.write(piece)
                    self.wfile.flush()
                    if play.drip:
                        time.sleep(play.drip)
                if play.chunked:
                    self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, answer: Handler | Play) -> str:
        self.routes[path] = answer if callable(answer) else (lambda _hit, a=answer: a)
        return self.url(path)

    def hits_on(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.split("?")[0] == path]
