"""fetch() against a loopback server: guards, limits, conditional GET, errors."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tracker.ingestion import fetch as fetch_module
from tracker.ingestion.errors import BlockedError, FetchError
from tracker.ingestion.fetch import FetchResult, address_problem, fetch, format_size

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 16 Jun 2025 08:00:00 GMT"
# 16 MB of zeros compresses to about 16 KB: a small download, a large body.
BOMB = gzip.compress(b"\0" * (16 * 1024 * 1024), compresslevel=9)
UA = "TrackerTest/1.0"


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = getattr(self, "route_" + parts.path.strip("/").replace("-", "_"), None)
        if route is None:
            self.send(404, b"not here")
        else:
            route(query)

    def send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_feed(self, query: dict[str, str]) -> None:
        if self.headers.get("If-None-Match") == ETAG:
            self.send(304, ETag=ETAG)
            return
        self.send(
            200,
            FEED,
            Content_Type="application/rss+xml; charset=utf-8",
            ETag=ETAG,
            Last_Modified=LAST_MODIFIED,
            Cache_Control="max-age=600",
        )

    def route_cookie(self, query: dict[str, str]) -> None:
        self.send(200, FEED, Set_Cookie="session=tracked; Path=/; Max-Age=3600")

    def route_redirect(self, query: dict[str, str]) -> None:
        self.send(int(query.get("status", "302")), Location=query["to"])

    def route_loop(self, query: dict[str, str]) -> None:
        self.send(302, Location="/loop")

    def route_gone(self, query: dict[str, str]) -> None:
        self.send(410)

    def route_busy(self, query: dict[str, str]) -> None:
        self.send(503, b"try later", Retry_After="120")

    def route_slow_down(self, query: dict[str, str]) -> None:
        self.send(429, Retry_After=query["date"])

    def route_declared_big(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(50 * 1024 * 1024))
        self.end_headers()
        self.wfile.write(b"x" * 1024)

    def route_undeclared_big(self, query: dict[str, str]) -> None:
        # HTTP/1.0 without Content-Length: the body ends when the server closes.
        self.send_response(200)
        self.end_headers()
        for _ in range(64):
            self.wfile.write(b"x" * 64 * 1024)

    def route_bomb(self, query: dict[str, str]) -> None:
        self.send(200, BOMB, Content_Encoding="gzip")

    def route_gzipped(self, query: dict[str, str]) -> None:
        self.send(200, gzip.compress(FEED), Content_Encoding="gzip")

    def route_deflated(self, query: dict[str, str]) -> None:
        self.send(200, zlib.compress(FEED), Content_Encoding="deflate")

    def route_raw_deflated(self, query: dict[str, str]) -> None:
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        self.send(200, packer.compress(FEED) + packer.flush(), Content_Encoding="deflate")

    def route_silent(self, query: dict[str, str]) -> None:
        time.sleep(1.0)
        self.send(200, FEED)

    def route_drip(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.end_headers()
        try:
            for _ in range(40):
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def route_hang_up(self, query: dict[str, str]) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def route_echo_host(self, query: dict[str, str]) -> None:
        self.send(200, self.headers.get("Host", "").encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str, dict[str, str]]] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the hang-up route breaks its own connection on purpose

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = Server()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def get(url: str, **kwargs: object) -> FetchResult:
    options: dict[str, object] = {
        "max_bytes": 1024 * 1024,
        "user_agent": UA,
        "allowlist": ["127.0.0.1"],
        "timeout": 3.0,
    }
    options.update(kwargs)
    return fetch(url, **options)  # type: ignore[arg-type]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the fetcher resolves without asking the system resolver."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            raise FetchError(
                f"could not resolve {host}: not in the test table", kind="dns"
            ) from None
        return [host]

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    return table


# --- Success and conditional GET ---------------------------------------------------


def test_feed_is_fetched_with_its_validators_and_headers(server: Server) -> None:
    result = get(f"{server.base}/feed")
    assert result.status_code == 200
    assert result.content == FEED
    assert result.etag == ETAG
    assert result.last_modified == LAST_MODIFIED
    assert result.headers["cache-control"] == "max-age=600"
    assert result.content_type == "application/rss+xml"
    assert not result.not_modified
    assert result.bytes_received == len(FEED)
    assert result.redirects == []
    assert result.elapsed < 3


def test_request_names_itself_and_asks_for_feeds_and_compression(server: Server) -> None:
    get(f"{server.base}/feed")
    _, headers = server.seen[-1]
    assert headers["User-Agent"] == UA
    assert "application/rss+xml" in headers["Accept"]
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in headers


def test_no_cookie_set_by_one_fetch_is_sent_with_the_next(server: Server) -> None:
    get(f"{server.base}/cookie")
    get(f"{server.base}/feed")
    get(f"{server.base}/cookie")
    assert [headers.get("Cookie") for _, headers in server.seen[-3:]] == [None, None, None]


def test_unchanged_feed_answers_304_and_stores_nothing(server: Server) -> None:
    result = get(f"{server.base}/feed", etag=ETAG, last_modified=LAST_MODIFIED)
    _, headers = server.seen[-1]
    assert headers["If-None-Match"] == ETAG
    assert headers["If-Modified-Since"] == LAST_MODIFIED
    assert result.not_modified
    assert result.status_code == 304
    assert result.content == b""
    # The 304 did not repeat Last-Modified: the one sent is kept.
    assert result.etag == ETAG
    assert result.last_modified == LAST_MODIFIED


@pytest.mark.parametrize("route", ["gzipped", "deflated", "raw-deflated"])
def test_compressed_bodies_are_decoded(server: Server, route: str) -> None:
    result = get(f"{server.base}/{route}")
    assert result.content == FEED
    assert result.bytes_received < len(FEED) + 40


# --- Redirects ----------------------------------------------------------------------


def test_redirects_are_followed_and_recorded(server: Server) -> None:
    result = get(f"{server.base}/redirect?status=301&to=/feed")
    assert result.url == f"{server.base}/feed"
    assert result.content == FEED
    assert [r.status_code for r in result.redirects] == [301]
    assert result.permanent_url == f"{server.base}/feed"


def test_a_temporary_redirect_gives_no_permanent_url(server: Server) -> None:
    result = get(f"{server.base}/redirect?status=302&to=/feed")
    assert result.permanent_url == ""


def test_a_redirect_loop_stops_at_the_cap(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/loop", max_redirects=3)
    assert caught.value.kind == "redirects"
    assert "more than 3 redirects" in str(caught.value)


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/feed",
        "http://0.0.0.0/feed",
    ],
)
def test_redirect_to_a_private_address_is_blocked(server: Server, target: str) -> None:
    with pytest.raises(BlockedError) as caught:
        get(f"{server.base}/redirect?to={target}")
    assert caught.value.kind == "blocked"
    assert caught.value.permanent


def test_redirect_to_loopback_on_another_port_is_blocked_when_only_one_port_is_allowed(
    server: Server,
) -> None:
    port = server.server_address[1]
    with pytest.raises(BlockedError):
        get(
            f"{server.base}/redirect?to=http://127.0.0.1:{port + 1}/feed",
            allowlist=[f"127.0.0.1:{port}"],
        )


def test_redirect_to_loopback_is_blocked_when_only_the_first_host_is_allowed(
    server: Server, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["feeds.example"] = ["127.0.0.1"]
    port = server.server_address[1]
    with pytest.raises(BlockedError) as caught:
        get(
            f"http://feeds.example:{port}/redirect?to=http://127.0.0.1:{port}/feed",
            allowlist=["feeds.example"],
        )
    assert "127.0.0.1 is a loopback address" in str(caught.value)


def test_redirect_to_a_broken_location_is_an_http_error(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/redirect?to=http://[::1")
    assert caught.value.kind == "http"
    assert "invalid Location" in str(caught.value)


def test_redirect_to_ftp_is_refused(server: Server) -> None:
    with pytest.raises(BlockedError, match="only http and https"):
        get(f"{server.base}/redirect?to=ftp://example.com/feed")


# --- Guards -----------------------------------------------------------------------


def test_loopback_without_allowlist_is_blocked_before_connecting(server: Server) -> None:
    before = len(server.seen)
    with pytest.raises(BlockedError) as caught:
        get(f"{server.base}/feed", allowlist=[])
    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert len(server.seen) == before


def test_allowlist_entry_may_name_host_and_port(server: Server) -> None:
    port = server.server_address[1]
    assert get(f"{server.base}/feed", allowlist=[f"127.0.0.1:{port}"]).content == FEED


def test_localhost_is_blocked_by_what_it_resolves_to() -> None:
    with pytest.raises(BlockedError, match=r"localhost resolves to .*loopback"):
        get("http://localhost:9/feed", allowlist=[])


def test_a_name_resolving_to_a_private_address_is_blocked(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["intranet.example"] = ["93.184.216.34", "192.168.1.10"]
    with pytest.raises(BlockedError, match=r"192\.168\.1\.10, which is a private address"):
        get("http://intranet.example/feed", allowlist=[])


def test_the_connection_goes_to_the_checked_address_with_the_original_host_header(
    server: Server, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["feeds.example"] = ["127.0.0.1"]
    port = server.server_address[1]
    result = get(f"http://feeds.example:{port}/echo-host", allowlist=["feeds.example"])
    assert result.content == f"feeds.example:{port}".encode()


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/feed", "file:///etc/passwd", "gopher://example.com/", "example.com/feed"],
)
def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    with pytest.raises(BlockedError) as caught:
        get(url)
    assert caught.value.permanent


def test_urls_with_credentials_are_refused_without_echoing_them(server: Server) -> None:
    port = server.server_address[1]
    with pytest.raises(BlockedError) as caught:
        get(f"http://admin:hunter2@127.0.0.1:{port}/feed")
    assert "credentials" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-global"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("not an address", "invalid"),
        ("93.184.216.34", ""),
        ("8.8.8.8", ""),
        ("2606:4700:4700::1111", ""),
    ],
)
def test_address_problem_names_what_is_wrong_with_an_address(address: str, problem: str) -> None:
    assert address_problem(address) == problem


# --- HTTP errors ------------------------------------------------------------------


def test_gone_feed_is_a_permanent_error(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/gone")
    assert caught.value.kind == "gone"
    assert caught.value.permanent
    assert caught.value.status_code == 410


def test_missing_page_is_an_http_error_worth_retrying(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/nowhere")
    assert caught.value.kind == "http"
    assert not caught.value.permanent
    assert caught.value.status_code == 404
    assert str(caught.value) == "HTTP 404 Not Found from 127.0.0.1"


def test_unavailable_server_says_when_to_retry_in_seconds(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/busy")
    assert caught.value.kind == "http"
    assert caught.value.status_code == 503
    assert caught.value.retry_after == 120
    assert str(caught.value).startswith("HTTP 503 Service Unavailable from 127.0.0.1")


def test_rate_limited_server_says_when_to_retry_as_a_date(server: Server) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 600))
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/slow-down?date={when}")
    assert caught.value.status_code == 429
    assert caught.value.retry_after is not None
    assert 590 <= caught.value.retry_after <= 600


# --- Limits ---------------------------------------------------------------------------


def test_declared_length_over_the_cap_is_refused_up_front(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/declared-big", max_bytes=5 * 1024 * 1024)
    assert caught.value.kind == "too_large"
    assert str(caught.value).startswith("response larger than 5 MB, aborted")


def test_streamed_body_over_the_cap_is_aborted(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/undeclared-big", max_bytes=256 * 1024)
    assert caught.value.kind == "too_large"


def test_gzip_bomb_is_aborted_on_its_decoded_size(server: Server) -> None:
    assert len(BOMB) < 1024 * 1024
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/bomb", max_bytes=1024 * 1024)
    assert caught.value.kind == "too_large"
    assert "after decompression" in str(caught.value)


def test_silent_server_times_out_fast(server: Server) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/silent", read_timeout=0.2)
    assert caught.value.kind == "timeout"
    assert not caught.value.permanent
    assert time.monotonic() - started < 0.9


def test_dripping_server_is_cut_off_by_the_total_deadline(server: Server) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/drip", timeout=0.4, read_timeout=0.3)
    assert caught.value.kind == "timeout"
    assert "total time limit" in str(caught.value)
    assert time.monotonic() - started < 1.5


# --- Network failures ---------------------------------------------------------------


def test_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        get(f"http://127.0.0.1:{port}/feed")
    assert caught.value.kind == "connection"
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_server_hanging_up_is_a_connection_error(server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        get(f"{server.base}/hang-up")
    assert caught.value.kind == "connection"


def test_unknown_host_is_a_dns_error(fake_dns: dict[str, list[str]]) -> None:
    with pytest.raises(FetchError) as caught:
        get("http://no-such-host.example/feed")
    assert caught.value.kind == "dns"
    assert not caught.value.permanent


def test_resolver_failure_is_reported_as_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(FetchError, match=r"could not resolve news\.example") as caught:
        get("https://news.example/feed")
    assert caught.value.kind == "dns"


# --- Politeness ---------------------------------------------------------------------


def test_host_gate_is_held_around_each_request_to_a_host(server: Server) -> None:
    events: list[str] = []

    @contextmanager
    def gate(host: str) -> Iterator[None]:
        events.append(f"enter {host}")
        yield
        events.append(f"exit {host}")

    get(f"{server.base}/redirect?to=/feed", host_gate=gate)
    assert events == ["enter 127.0.0.1", "exit 127.0.0.1"] * 2


def test_host_gate_is_released_when_the_request_fails(server: Server) -> None:
    held: list[str] = []

    @contextmanager
    def gate(host: str) -> Iterator[None]:
        held.append(host)
        try:
            yield
        finally:
            held.remove(host)

    with pytest.raises(FetchError):
        get(f"{server.base}/gone", host_gate=gate)
    assert held == []


def test_sizes_read_as_people_write_them() -> None:
    assert format_size(5 * 1024 * 1024) == "5 MB"
    assert format_size(1536 * 1024) == "1.5 MB"
    assert format_size(64 * 1024) == "64 KB"
    assert format_size(900) == "900 bytes"
