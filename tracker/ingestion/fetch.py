"""HTTP only: one guarded GET of a feed or a page, with limits -> FetchResult.

Guards, in the order a request meets them:

- only http and https URLs, and none with credentials in them;
- the host is resolved here and every address it resolves to must be a public
  unicast address (no loopback, private, link-local, multicast, reserved,
  unspecified or otherwise non-global address, in IPv4 or IPv6) unless the host,
  or host:port, is in ``allowlist`` (TRACKER_FETCH_ALLOWLIST);
- the TCP connection goes to the very address that was checked: the check runs
  inside the connection backend, so there is no second DNS lookup for a
  rebinding server to answer differently. TLS still verifies the certificate and
  sends SNI for the host name, and the Host header is the URL's;
- redirects are followed by hand, at most ``max_redirects``, and each hop goes
  through every guard again;
- connect and read timeouts per request, and a total deadline over all hops
  that is checked while the body streams in;
- the body is read in chunks and abandoned past ``max_bytes``, counted both as
  received and as decoded: gzip and deflate are decoded here, in bounded steps,
  so a small compressed body cannot inflate past the cap in memory.

Residual risks, accepted: the system resolver has no timeout of its own (a slow
DNS server can hold a request past the deadline); the total deadline is checked
between chunks, so a server dripping bytes can overrun it by at most one read
timeout; environment proxies are ignored (``trust_env=False``), since a proxy
would connect on our behalf to addresses we never checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.cookiejar
import ipaddress
import os
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

import httpcore
import httpx

from tracker.ingestion.errors import (
    CONNECTION,
    DNS,
    GONE,
    HTTP,
    REDIRECTS,
    TIMEOUT,
    TOO_LARGE,
    BlockedError,
    FetchError,
)
from tracker.ingestion.schedule import parse_retry_after

FEED_ACCEPT: Final = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT: Final = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

DEFAULT_TIMEOUT: Final = 30.0  # seconds for the whole fetch, redirects included
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_READ_TIMEOUT: Final = 10.0  # longest silence while waiting for bytes

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES: Final = frozenset({301, 308})
# Statuses whose Retry-After we read; other errors rarely send one.
RETRY_AFTER_STATUSES: Final = frozenset({429, 503})

# Only what we can decode with a bound on the output; brotli would need a
# library that is not installed, so it is not offered to servers.
ACCEPT_ENCODING: Final = "gzip, deflate"
_DECODE_STEP: Final = 64 * 1024  # largest piece one decompression step may yield

HostGate = Callable[[str], AbstractContextManager[None]]


@dataclass(frozen=True)
class Redirect:
    """One hop: ``url`` answered ``status_code`` pointing at ``location``."""

    status_code: int
    url: str
    location: str


@dataclass(frozen=True)
class FetchResult:
    """A completed request: a 2xx with its body, or a 304 (``not_modified``, no body).

    ``headers`` has lower-cased names; repeated headers are joined with ", ".
    ``etag`` and ``last_modified`` are the response's validators; on a 304 that
    omits them they are the ones sent, so the caller can store them either way.
    ``bytes_received`` counts bytes as they came over the wire (before decoding);
    ``elapsed`` is in seconds, all hops included.
    """

    url: str
    status_code: int
    content: bytes
    headers: dict[str, str]
    etag: str
    last_modified: str
    not_modified: bool
    bytes_received: int
    elapsed: float
    redirects: list[Redirect] = field(default_factory=list)

    @property
    def permanent_url(self) -> str:
        """The URL to store in place of the requested one: the final URL when
        every hop was a permanent redirect (301, 308). Returns "" when there was
        no redirect or any hop was temporary."""
        if self.redirects and all(
            r.status_code in PERMANENT_REDIRECT_STATUSES for r in self.redirects
        ):
            return self.url
        return ""

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased; "" when not sent."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


# --- Guards ---------------------------------------------------------------------


def address_problem(address: str) -> str:
    """Why ``address`` (an IPv4 or IPv6 literal) may not be fetched, as a word
    for the error message ("loopback", "private", ...). Returns "" for a public
    unicast address.

    IPv4 addresses embedded in IPv6 (mapped, 6to4, NAT64) are judged as the
    IPv4 address they carry.
    """
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            address.split("%", 1)[0]  # an IPv6 zone id ("fe80::1%eth0")
        )
    except ValueError:
        return "invalid"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-global", not ip.is_global),
    )
    return next((word for word, hit in checks if hit), "")


_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


def check_url(url: str) -> httpx.URL:
    """The parsed URL when it may be requested at all (scheme, credentials, host);
    raises BlockedError otherwise. Addresses are checked later, at connect time."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise BlockedError(f"not a valid URL: {url[:200]!r} ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "no scheme"
        raise BlockedError(f"only http and https URLs are fetched, not {scheme}: {url[:200]}")
    if parsed.userinfo:
        # The credentials themselves stay out of the message, which is stored.
        raise BlockedError(f"URLs with credentials are refused (host {parsed.host})")
    if not parsed.host:
        raise BlockedError(f"URL has no host: {url[:200]}")
    return parsed


def _normalise_allowlist(allowlist: Iterable[str]) -> frozenset[str]:
    return frozenset(entry.strip().lower() for entry in allowlist if entry.strip())


def _is_allowlisted(host: str, port: int, allowlist: frozenset[str]) -> bool:
    host = host.lower().strip("[]")
    names = {host, f"{host}:{port}", f"[{host}]:{port}", f"[{host}]"}
    return not allowlist.isdisjoint(names)


def _resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` in the resolver's order, without repeats.
    Raises FetchError(kind dns) when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"could not resolve {host}: {exc}", kind=DNS) from None
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"could not resolve {host}: no addresses", kind=DNS)
    return addresses


def resolve_checked(host: str, port: int, allowlist: Iterable[str] = ()) -> list[str]:
    """The addresses to connect to for ``host``: all of them must pass
    ``address_problem`` (one bad answer refuses the host, so a name cannot mix a
    public and a private address) unless the host is allowlisted.
    Raises BlockedError or FetchError(kind dns)."""
    addresses = _resolve(host, port)
    allowed = allowlist if isinstance(allowlist, frozenset) else _normalise_allowlist(allowlist)
    if _is_allowlisted(host, port, allowed):
        return addresses
    for address in addresses:
        problem = address_problem(address)
        if problem:
            shown = host if host == address else f"{host} resolves to {address}, which"
            raise BlockedError(
                f"{shown} is a {problem} address; refused (TRACKER_FETCH_ALLOWLIST "
                "lists hosts that may be fetched anyway)"
            )
    return addresses


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks and connects in one step, to the address it checked."""

    def __init__(self, allowlist: frozenset[str]) -> None:
        self._allowlist = allowlist

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, self._allowlist)
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next address, as browsers do
                failure = exc
        raise failure or httpcore.ConnectError(f"no address to connect to for {host}")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context serves all.
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allowlist: frozenset[str]) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False, retries=0)
        # httpx has no public way to pass a network backend; the pool it built
        # above is unused and replaced with the same one over our backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=64,
            max_keepalive_connections=16,
            keepalive_expiry=15.0,
            network_backend=_GuardedBackend(allowlist),
        )


@functools.cache
def _client(allowlist: frozenset[str], pid: int) -> httpx.Client:
    """One client per process (``pid``: a forked worker builds its own) and
    allowlist, shared by its threads, so that requests to a host reuse a kept-alive
    connection. Every connection is opened through the guarded backend, and no
    cookie is ever kept: a fetch carries nothing from an earlier one."""
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        transport=_GuardedTransport(allowlist),
        follow_redirects=False,
        trust_env=False,
        cookies=no_cookies,
    )


# --- Body decoding with a bound ----------------------------------------------------


class _Decoder:
    """Decodes a Content-Encoding in steps of at most _DECODE_STEP bytes."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        self._first = True
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            if data:
                yield data
            return
        if self.encoding == "deflate" and self._first and data:
            # "deflate" is meant to be zlib-wrapped, but some servers send raw
            # deflate; the two-byte zlib header (checksummed mod 31) tells them apart.
            self._first = False
            is_zlib = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            if not is_zlib:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        pending = data
        while pending:
            piece = self._zlib.decompress(pending, _DECODE_STEP)
            if piece:
                yield piece
            if self._zlib.eof and self._zlib.unused_data and self.encoding != "deflate":
                # Concatenated gzip members are one body.
                pending = self._zlib.unused_data
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
                continue
            if not piece and pending == self._zlib.unconsumed_tail:
                break
            pending = self._zlib.unconsumed_tail

    def flush(self) -> bytes:
        return self._zlib.flush() if self._zlib is not None else b""


def _decoder_for(content_encoding: str, host: str) -> _Decoder:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity", "gzip", "x-gzip", "deflate"):
        return _Decoder("" if encoding == "identity" else encoding)
    raise FetchError(f"unsupported Content-Encoding {encoding!r} from {host}", kind=HTTP)


def format_size(size: int) -> str:
    """A byte count for people: "5 MB", "1.5 MB", "64 KB", "900 bytes"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _too_large(max_bytes: int, detail: str = "") -> FetchError:
    suffix = f" ({detail})" if detail else ""
    return FetchError(
        f"response larger than {format_size(max_bytes)}, aborted{suffix}", kind=TOO_LARGE
    )


def _read_body(
    response: httpx.Response, *, max_bytes: int, deadline: float, total: float, host: str
) -> bytes:
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes, f"Content-Length {declared}")
    decoder = _decoder_for(response.headers.get("content-encoding", ""), host)
    chunks: list[bytes] = []
    size = 0
    try:
        for raw in response.iter_raw():
            if time.monotonic() > deadline:
                raise _deadline_passed(host, total)
            if response.num_bytes_downloaded > max_bytes:
                raise _too_large(max_bytes)
            for piece in decoder.decode(raw):
                size += len(piece)
                if size > max_bytes:
                    raise _too_large(max_bytes, "after decompression")
                chunks.append(piece)
        tail = decoder.flush()
    except zlib.error as exc:
        raise FetchError(f"corrupt {decoder.encoding} body from {host}: {exc}", kind=HTTP) from None
    if size + len(tail) > max_bytes:
        raise _too_large(max_bytes, "after decompression")
    chunks.append(tail)
    return b"".join(chunks)


# --- Errors ----------------------------------------------------------------------


def _deadline_passed(host: str, total: float) -> FetchError:
    return FetchError(f"gave up on {host} after {total:g} s (total time limit)", kind=TIMEOUT)


@contextmanager
def _network_errors(host: str, port: int | None) -> Iterator[None]:
    where = f"{host}:{port}" if port is not None else host
    try:
        yield
    except httpx.ConnectTimeout:
        raise FetchError(f"timed out connecting to {where}", kind=TIMEOUT) from None
    except httpx.ReadTimeout:
        raise FetchError(f"timed out waiting for data from {where}", kind=TIMEOUT) from None
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out talking to {where} ({exc})", kind=TIMEOUT) from None
    except httpx.ConnectError as exc:
        raise FetchError(f"could not connect to {where}: {exc}", kind=CONNECTION) from None
    except httpx.RemoteProtocolError as exc:
        # httpx reads the Location of every redirect, even one it does not follow.
        if str(exc).startswith("Invalid URL in location header"):
            raise FetchError(f"redirect from {where} with an invalid Location", kind=HTTP) from None
        raise FetchError(f"connection to {where} failed: {exc}", kind=CONNECTION) from None
    except (httpx.TransportError, httpcore.NetworkError) as exc:
        # Reset or closed mid-response, garbled HTTP: worth trying again later.
        reason = str(exc) or type(exc).__name__
        raise FetchError(f"connection to {where} failed: {reason}", kind=CONNECTION) from None


def _status_error(response: httpx.Response, host: str) -> FetchError:
    status = response.status_code
    try:
        phrase = response.reason_phrase or HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    message = f"HTTP {status} {phrase}".rstrip() + f" from {host}"
    retry_after = None
    if status in RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), dt.datetime.now(dt.UTC)
        )
        if retry_after is not None:
            message += f", retry after {retry_after} s"
    if status == 410:
        return FetchError(message, kind=GONE, permanent=True, status_code=status)
    if status in REDIRECT_STATUSES:
        message += " without a Location header"
    return FetchError(message, kind=HTTP, status_code=status, retry_after=retry_after)


# --- The request -----------------------------------------------------------------


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    max_bytes: int,
    user_agent: str,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    allowlist: Sequence[str] = (),
    max_redirects: int = 5,
    accept: str = FEED_ACCEPT,
    host_gate: HostGate | None = None,
) -> FetchResult:
    """GET ``url`` through the guards described in the module docstring.

    ``etag`` and ``last_modified`` (stored from the previous response) make the
    request conditional. ``timeout`` bounds the whole fetch, redirects included;
    ``connect_timeout`` and ``read_timeout`` bound each connect and each wait for
    data. ``host_gate(host)``, when given, is entered around each request to
    ``host`` (a lower-cased name without port), the body included: the caller's
    per-host politeness limit.

    Returns a FetchResult for a 2xx (its body) or a 304 (``not_modified``, empty
    body). Raises FetchError for everything else, with ``kind`` as in
    ``tracker.models.ErrorKind``: blocked (permanent), dns, connection, timeout,
    too_large, redirects, gone (410, permanent) or http (other statuses, with
    ``status_code`` and, for 429 and 503, ``retry_after`` in seconds).
    """
    started = time.monotonic()
    deadline = started + timeout
    headers = {
        "User-Agent": user_agent,
        "Accept": accept,
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    redirects: list[Redirect] = []
    client = _client(_normalise_allowlist(allowlist), os.getpid())
    current = url
    while True:
        target = check_url(current)
        host = target.host.lower()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _deadline_passed(host, timeout)
        limits = httpx.Timeout(
            connect=min(connect_timeout, remaining),
            read=min(read_timeout, remaining),
            write=min(read_timeout, remaining),
            pool=min(connect_timeout, remaining),
        )
        gate = host_gate(host) if host_gate is not None else nullcontext()
        with gate, _network_errors(host, target.port):
            request = client.build_request("GET", target, headers=headers, timeout=limits)
            response = client.send(request, stream=True)
            try:
                status = response.status_code
                location = response.headers.get("location", "").strip()
                if status in REDIRECT_STATUSES and location:
                    next_url = str(target.join(location))
                    redirects.append(Redirect(status, str(target), next_url))
                    if len(redirects) > max_redirects:
                        raise FetchError(
                            f"more than {max_redirects} redirects, last from {host}",
                            kind=REDIRECTS,
                        )
                    current = next_url
                    continue
                if status == 304:
                    content = b""
                elif 200 <= status < 300:
                    content = _read_body(
                        response,
                        max_bytes=max_bytes,
                        deadline=deadline,
                        total=timeout,
                        host=host,
                    )
                else:
                    raise _status_error(response, host)
                received = response.num_bytes_downloaded
            finally:
                response.close()
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        return FetchResult(
            url=str(target),
            status_code=status,
            content=content,
            headers=response_headers,
            etag=response_headers.get("etag", etag if status == 304 else ""),
            last_modified=response_headers.get(
                "last-modified", last_modified if status == 304 else ""
            ),
            not_modified=status == 304,
            bytes_received=received,
            elapsed=time.monotonic() - started,
            redirects=redirects,
        )
