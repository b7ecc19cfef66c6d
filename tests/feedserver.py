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
from typing import Any, Self


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


class LoopbackServer:
    """What the test servers share: a threaded HTTP server on a loopback address,
    run in the background, answers routed by path, and a record of every request.
    A subclass says how a request is recorded (``_record``), what an unknown path
    gets (``_not_found``) and how an answer goes on the wire (``_respond``)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Callable[[Any], Any]] = {}
        self.requests: list[Any] = []
        self._lock = threading.Lock()
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        request = self._record(http)
        with self._lock:
            self.requests.append(request)
        route = self.routes.get(http.path.split("?")[0])
        answer = route(request) if route else self._not_found()
        # The client may give up first: that is what a cap or a timeout does.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._respond(http, answer)

    def _record(self, http: BaseHTTPRequestHandler) -> Any:
        raise NotImplementedError

    def _not_found(self) -> Any:
        raise NotImplementedError

    def _respond(self, http: BaseHTTPRequestHandler, answer: Any) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, answer: Any) -> str:
        """Serve ``answer`` (a fixed answer, or a function of the request) at ``path``."""
        self.routes[path] = answer if callable(answer) else (lambda _request, a=answer: a)
        return self.url(path)

    def _matching(self, path: str) -> list[Any]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]


class FeedServer(LoopbackServer):
    """Well-behaved answers with a Content-Length, optionally after a delay."""

    def _record(self, http: BaseHTTPRequestHandler) -> Request:
        return Request(http.path, {k.lower(): v for k, v in http.headers.items()})

    def _not_found(self) -> Response:
        return Response(404, b"not found")

    def _respond(self, http: BaseHTTPRequestHandler, response: Response) -> None:
        if response.delay:
            time.sleep(response.delay)
        http.send_response(response.status)
        for name, value in response.headers.items():
            http.send_header(name, value)
        if "Content-Length" not in response.headers:
            http.send_header("Content-Length", str(len(response.body)))
        http.end_headers()
        http.wfile.write(response.body)

    def hits(self, path: str) -> list[Request]:
        return self._matching(path)
