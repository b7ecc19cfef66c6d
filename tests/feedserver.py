"""A loopback HTTP server that plays feeds and article pages for the tests and
benchmarks, including every way a real server misbehaves."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]


Handler = Callable[[Request], Response]


def conditional(body: bytes, content_type: str, *, etag: str | None = None) -> Handler:
    """A document served with an ETag and Last-Modified, answering 304 to a
    request that names the current ones."""
    tag = etag or '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    modified = formatdate(1_750_000_000, usegmt=True)

    def handle(request: Request) -> Response:
        if request.headers.get("if-none-match") == tag:
            return Response(304, headers={"ETag": tag})
        return Response(
            200, body, {"Content-Type": content_type, "ETag": tag, "Last-Modified": modified}
        )

    return handle


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(request)
                handler = server.routes.get(self.path.split("?")[0])
                response = handler(request) if handler else Response(404, b"not found")
                if response.delay:
                    time.sleep(response.delay)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in response.headers:
                    self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(response.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler: Handler | Response) -> str:
        self.routes[path] = handler if callable(handler) else (lambda _r, h=handler: h)
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]
