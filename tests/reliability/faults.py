"""The catalogue of hostile feeds: each one a way a real server has misbehaved,
with what the tracker is expected to make of it. The in-process tests and the
run with real workers play the same catalogue."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

from tests.reliability.hostile import Hit, HostileServer, Play, gzip_bomb

RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"

# The workers' feed cap in the mixed run (TRACKER_MAX_FEED_BYTES): small, so the
# huge body and the bomb cost little to serve.
FEED_CAP = 256 * 1024
# Longer than the fetch's 10 s read timeout.
SLOW_SECONDS = 12.5


def rss(title: str, items: list[dict[str, str]], *, extra: str = "") -> bytes:
    body = "".join(
        "<item>"
        f"<title>{i['title']}</title><link>{i['link']}</link>"
        f"<guid>{i.get('guid', i['link'])}</guid>"
        f"<pubDate>{i.get('date', 'Thu, 12 Jun 2025 10:00:00 GMT')}</pubDate>"
        f"<description>{i.get('summary', 'News of the day.')}</description>"
        "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://wire.example/</link>{extra}{body}"
        "</channel></rss>"
    ).encode()


def page(title: str, seed: int) -> bytes:
    words = ["Scale", "AI", "Meta", "stake", "board", "data", "labeling", "deal", "model"]
    sentences = " ".join(
        " ".join(words[(seed * 7 + i * j) % len(words)] for j in range(12)) + "." for i in range(30)
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{title}: {sentences}</p><p>Report number {seed}.</p></article></body></html>"
    ).encode()


_seq = itertools.count(1)


def items(server: HostileServer, prefix: str, n: int) -> list[dict[str, str]]:
    """``n`` entries whose pages the server also plays."""
    made = []
    for i in range(n):
        seed = next(_seq)
        path = f"/pages/{prefix}/{i}"
        title = f"Scale AI report {prefix} {i}"
        server.route(path, Play(200, page(title, seed), {"Content-Type": HTML}))
        made.append({"title": title, "link": server.url(path), "summary": "Scale AI news."})
    return made


# Entries whose titles miss the story's terms ("Scale AI") are kept as filtered
# out and their pages are never fetched: the ones below that link off this
# machine are written that way, so no test resolves or reaches an outside name.


@dataclass(frozen=True)
class Fault:
    """``kind`` is the error kind the feed must carry after one poll; "" means the
    poll succeeds (the input is hostile, not broken). ``new`` is how many articles
    a successful first poll stores (None: not checked). ``what`` and ``expect`` are
    the two columns of docs/reliability.md."""

    name: str
    what: str
    kind: str
    expect: str
    serve: Callable[[HostileServer, HostileServer], str]
    new: int | None = None
    retry_after: int = 0
    slow: bool = False


def _route(path: str, play: Play | Callable[[Hit], Play]):
    def serve(server: HostileServer, private: HostileServer) -> str:
        return server.route(path, play)

    return serve


def _redirect_chain(server: HostileServer, private: HostileServer) -> str:
    target = server.route("/chain/final.xml", Play(200, rss("Moved", items(server, "chain", 2))))
    server.route("/chain/2", Play(301, headers={"Location": target}))
    server.route("/chain/1", Play(301, headers={"Location": "/chain/2"}))
    return server.route("/chain/0", Play(308, headers={"Location": server.url("/chain/1")}))


def _redirect_loop(server: HostileServer, private: HostileServer) -> str:
    server.route("/loop/b", Play(301, headers={"Location": "/loop/a"}))
    return server.route("/loop/a", Play(301, headers={"Location": "/loop/b"}))


def _to_private(server: HostileServer, private: HostileServer) -> str:
    secret = private.route("/latest/meta-data/", Play(200, rss("Secret", [])))
    server.route("/hop", Play(302, headers={"Location": secret}))
    return server.route("/to-private", Play(301, headers={"Location": "/hop"}))


def _to_localhost(server: HostileServer, private: HostileServer) -> str:
    # A name, not an address: refused for what it resolves to (loopback).
    return server.route(
        "/to-localhost",
        Play(302, headers={"Location": f"http://localhost:{private.port}/latest/meta-data/"}),
    )


def _to_ipv6_loopback(server: HostileServer, private: HostileServer) -> str:
    return server.route(
        "/to-v6", Play(302, headers={"Location": f"http://[::1]:{private.port}/admin"})
    )


def _private_feed(server: HostileServer, private: HostileServer) -> str:
    return private.route("/direct.xml", Play(200, rss("Direct", [])))


def _etag_never_changes(server: HostileServer, private: HostileServer) -> str:
    """Answers 304 to its own ETag whatever the content, and the content changes
    after the first fetch."""
    tag = '"v1-forever"'
    first = items(server, "stale-1", 2)
    later = first + items(server, "stale-2", 2)
    served = {"count": 0}

    def handle(hit: Hit) -> Play:
        if hit.headers.get("if-none-match") == tag:
            return Play(304, headers={"ETag": tag})
        served["count"] += 1
        entries = first if served["count"] == 1 else later
        return Play(200, rss("Stale ETag", entries), {"Content-Type": RSS, "ETag": tag})

    return server.route("/stale-etag.xml", handle)


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + ']><rss version="2.0"><channel><title>Laughs</title><item><title>&j;</title>'
    "<link>https://laughs.example/1</link><description>x</description></item></channel></rss>"
).encode()

XXE = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><title>XXE</title><item><title>root &xxe;</title>'
    b"<link>https://xxe.example/1</link><description>&xxe;</description></item>"
    b"</channel></rss>"
)

HOSTILE_SUMMARY = (
    "&lt;p onclick=alert(1)&gt;Scale AI &lt;script&gt;alert('x')&lt;/script&gt;"
    '&lt;a href="javascript:alert(2)"&gt;link&lt;/a&gt;'
    "&lt;svg onload=alert(3)&gt;&lt;/svg&gt;"
    "&lt;img src=x onerror=alert(4)&gt;&lt;style&gt;body{display:none}&lt;/style&gt;&lt;/p&gt;"
)


def _hostile_markup(server: HostileServer, private: HostileServer) -> str:
    entries = items(server, "markup", 1)
    entries[0]["summary"] = HOSTILE_SUMMARY
    entries[0]["title"] = "Scale AI &lt;script&gt;alert(5)&lt;/script&gt; report"
    return server.route("/markup.xml", Play(200, rss("Markup", entries), {"Content-Type": RSS}))


def _archive_dump(server: HostileServer, private: HostileServer) -> str:
    entries = [
        {"title": f"Archive item {i}", "link": f"https://archive.example/{i}"} for i in range(1000)
    ]
    return server.route("/archive.xml", Play(200, rss("Archive", entries), {"Content-Type": RSS}))


def _long_summary(server: HostileServer, private: HostileServer) -> str:
    entries = [{"title": "Long read", "link": "https://long.example/1", "summary": "A" * 200_000}]
    return server.route("/long.xml", Play(200, rss("Long", entries), {"Content-Type": RSS}))


def _wrong_encoding(server: HostileServer, private: HostileServer) -> str:
    body = rss("Café société", [{"title": "Société à Paris", "link": "https://enc.example/1"}])
    return server.route(
        "/latin1.xml", Play(200, body.decode().encode("latin-1"), {"Content-Type": RSS})
    )


def _recoverable(server: HostileServer, private: HostileServer) -> str:
    entries = items(server, "bozo", 2)
    body = rss("Bozo & Co", entries).replace(b"</channel></rss>", b"<item><title>cut")
    return server.route("/bozo.xml", Play(200, body, {"Content-Type": RSS}))


CATALOGUE: list[Fault] = [
    Fault(
        "slow",
        "no answer for 12.5 s (read timeout 10 s)",
        "timeout",
        "timed out waiting for data; backoff",
        _route("/slow.xml", Play(200, b"<rss/>", delay=SLOW_SECONDS)),
        slow=True,
    ),
    Fault(
        "http-500",
        "500 Internal Server Error",
        "http",
        "HTTP 500 recorded; linear backoff",
        _route("/500.xml", Play(500, b"oops")),
    ),
    Fault(
        "http-503-retry-after",
        "503 with Retry-After: 7200",
        "http",
        "Retry-After honoured: next poll not before 2 h",
        _route("/503.xml", Play(503, b"busy", {"Retry-After": "7200"})),
        retry_after=7200,
    ),
    Fault(
        "http-429-retry-after",
        "429 with Retry-After as an HTTP date 3 h ahead",
        "http",
        "Retry-After date honoured: next poll not before 3 h",
        lambda s, p: s.route(
            "/429.xml",
            lambda hit: Play(
                429, b"slow down", {"Retry-After": formatdate(hit.at + 10800, usegmt=True)}
            ),
        ),
        retry_after=10790,
    ),
    Fault(
        "http-404",
        "404 Not Found",
        "http",
        "HTTP 404 recorded; backoff, tried again later",
        _route("/404.xml", Play(404, b"nope")),
    ),
    Fault(
        "gone-410",
        "410 Gone",
        "gone",
        "feed deactivated with the reason",
        _route("/410.xml", Play(410, b"gone")),
    ),
    Fault(
        "redirect-chain",
        "308 then 301 then 301 to the feed",
        "",
        "followed (3 hops, each one checked); entries stored; the feed's URL is the last hop's",
        _redirect_chain,
        new=2,
    ),
    Fault(
        "redirect-loop",
        "301 loop between two URLs",
        "redirects",
        "stopped after 5 redirects",
        _redirect_loop,
    ),
    Fault(
        "redirect-to-private",
        "301, 302 to 127.0.0.2 (not on the allow-list), /latest/meta-data/",
        "blocked",
        "refused before connecting; the private server saw no request",
        _to_private,
    ),
    Fault(
        "redirect-to-localhost",
        "302 to http://localhost:PORT/ (a name resolving to loopback)",
        "blocked",
        "refused by the address it resolves to",
        _to_localhost,
    ),
    Fault(
        "redirect-to-ipv6-loopback",
        "302 to http://[::1]:PORT/admin",
        "blocked",
        "refused before connecting",
        _to_ipv6_loopback,
    ),
    Fault(
        "private-feed-url",
        "feed URL on 127.0.0.2 itself",
        "blocked",
        "refused before connecting",
        _private_feed,
    ),
    Fault(
        "credentials-in-url",
        "http://user:secret@127.0.0.1/feed",
        "blocked",
        "refused; the password is not echoed in the stored error",
        lambda s, p: s.url("/feed").replace("http://", "http://user:secret@"),
    ),
    Fault(
        "file-scheme",
        "file:///etc/passwd as a feed URL",
        "blocked",
        "refused: only http and https",
        lambda s, p: "file:///etc/passwd",
    ),
    Fault(
        "malformed-xml",
        "truncated XML, no complete item",
        "parse",
        "recorded as a malformed feed; backoff",
        _route(
            "/malformed.xml",
            Play(
                200,
                b'<?xml version="1.0"?><rss version="2.0"><channel><title>x<item><ti',
                {"Content-Type": RSS},
            ),
        ),
    ),
    Fault(
        "malformed-recoverable",
        "well-formed items followed by an unclosed one, bare &",
        "",
        "usable entries kept, feed marked as repaired",
        _recoverable,
        new=2,
    ),
    Fault(
        "wrong-encoding",
        "latin-1 bytes declared as UTF-8",
        "",
        "decoded as windows-1252; titles intact",
        _wrong_encoding,
        new=1,
    ),
    Fault(
        "html-not-feed",
        "an HTML page served as the feed",
        "not_a_feed",
        "recorded as not a feed",
        _route(
            "/page.xml",
            Play(
                200, b"<!doctype html><html><body><p>Hi</p></body></html>", {"Content-Type": HTML}
            ),
        ),
    ),
    Fault(
        "empty-200",
        "200 with an empty body",
        "not_a_feed",
        "recorded as not a feed",
        _route("/empty.xml", Play(200, b"", {"Content-Type": RSS})),
    ),
    Fault(
        "huge-chunked",
        "4 x the cap, chunked, no Content-Length",
        "too_large",
        "aborted once the cap was passed",
        _route(
            "/huge.xml",
            Play(200, b"<rss>" + b" " * (4 * FEED_CAP), {"Content-Type": RSS}, chunked=True),
        ),
    ),
    Fault(
        "huge-declared",
        "Content-Length 1 GB",
        "too_large",
        "refused from the header, body never read",
        _route(
            "/declared.xml",
            Play(200, b"", {"Content-Type": RSS, "Content-Length": "1000000000"}, reset_after=0),
        ),
    ),
    Fault(
        "gzip-bomb",
        "64 MB of zeros gzipped to about 64 KB",
        "too_large",
        "aborted on the decoded size, memory bounded",
        _route(
            "/bomb.xml",
            Play(
                200, gzip_bomb(64 * 1024 * 1024), {"Content-Type": RSS, "Content-Encoding": "gzip"}
            ),
        ),
    ),
    Fault(
        "reset-mid-body",
        "Content-Length 50 000, 600 bytes sent, then a TCP reset",
        "connection",
        "connection error; backoff",
        _route(
            "/reset.xml",
            Play(200, rss("Reset", []) + b" " * 50_000, {"Content-Type": RSS}, reset_after=600),
        ),
    ),
    Fault(
        "billion-laughs",
        "nested XML entities (10^9 expansion)",
        "",
        "expansion stopped by expat's amplification limit; title left unexpanded",
        _route("/laughs.xml", Play(200, LAUGHS, {"Content-Type": RSS})),
        new=1,
    ),
    Fault(
        "xxe",
        "external entity reading file:///etc/passwd",
        "",
        "entity not resolved; no file content stored",
        _route("/xxe.xml", Play(200, XXE, {"Content-Type": RSS})),
        new=1,
    ),
    Fault(
        "stale-etag",
        "ETag never changes while the content does",
        "",
        "first poll stores 2; the lie hides 2 more until the daily full fetch",
        _etag_never_changes,
        new=2,
    ),
    Fault(
        "archive-dump",
        "1,000 entries in one document",
        "",
        "the newest 200 stored",
        _archive_dump,
        new=200,
    ),
    Fault(
        "long-summary",
        "one entry with a 200,000-character summary",
        "",
        "summary stored cut to 20,000 characters",
        _long_summary,
        new=1,
    ),
    Fault(
        "hostile-markup",
        "script, on* handlers, javascript: link, SVG onload, img onerror, style",
        "",
        "sanitized: stored and shown as text and plain links",
        _hostile_markup,
        new=1,
    ),
]
