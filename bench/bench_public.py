"""Benchmark of the public pages: a story of 1,000 events with 3 citations each,
served by gunicorn (as `make run` serves it) on loopback.

Reports, for the timeline (shown 100 events a page) and its neighbours:
- response time, median and p99, measured by an httpx client on loopback:
  cold (cache emptied before each request), uncached (the story changed before
  each request: the page is rendered again, cards of unchanged events come from
  the card cache) and cached, for the first page and one in the middle;
- SQL queries per page at 10 and at 1,000 events (they must not grow);
- throughput under a bounded load (wrk -t2 -c16 -d10s) of the timeline, next to
  the same HTML saved as a static file served by the same gunicorn + whitenoise.

Writes the figures into the "Public pages" section of bench/README.md.

    .venv/bin/python bench/bench_public.py [--events 1000] [--no-readme]

It builds a throwaway SQLite database under var/bench-public (DEBUG off), with an
embedded Redis there that it stops at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-public"
README = ROOT / "bench" / "README.md"
SECTION = "## Public pages"

os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DEBUG="0",
    SECRET_KEY="bench-only-secret-key",  # noqa: S106 - a throwaway database
    SECURE_SSL_REDIRECT="0",
    ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
    TRACKER_VAR_DIR=str(VAR),
    LOG_LEVEL="WARNING",
)
sys.path.insert(0, str(ROOT))

# Targets from the issue; "uncached" holds for a cold page as well as one
# rendered again after a change.
CACHED_MEDIAN_MS = 10
UNCACHED_MEDIAN_MS = 150
THROUGHPUT_SHARE = 0.5

OUTLETS = [
    "Reuters",
    "Bloomberg",
    "The Verge",
    "TechCrunch",
    "Financial Times",
    "The Information",
    "CNBC",
    "Wired",
    "Axios",
    "The New York Times",
    "",
    "Business Insider",
]


def stop_redis() -> None:
    """Shut down the embedded Redis a run of this benchmark started, if it is up."""
    from config import embedded_redis

    sock = embedded_redis.socket_path(VAR)
    if embedded_redis.is_running(sock):
        import redis

        # It closes the connection as it goes.
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)


def setup_django() -> None:
    import django

    stop_redis()
    if VAR.exists():
        shutil.rmtree(VAR)
    VAR.mkdir(parents=True)
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from config import embedded_redis

    embedded_redis.ensure_running(Path(settings.VAR_DIR))
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def build_story(slug: str, events: int, citations: int = 3):
    """A published story of ``events`` events, built as of 90 days ago, with a few
    events edited and sourced two days ago (so some carry an "updated" mark)."""
    import time_machine
    from django.db import transaction

    from tracker.dates import Precision
    from tracker.models import (
        Category,
        Certainty,
        Citation,
        Claim,
        ClaimValue,
        Entity,
        Event,
        Source,
        Story,
    )

    now = dt.datetime.now(tz=dt.UTC)
    precisions = [Precision.DAY, Precision.MONTH, Precision.DAY, Precision.QUARTER,
                  Precision.DAY, Precision.SEASON, Precision.MONTH, Precision.YEAR]  # fmt: skip
    certainties = [Certainty.CONFIRMED] * 5 + [Certainty.REPORTED] * 3 + [Certainty.EXPECTED,
                   Certainty.DENIED]  # fmt: skip
    with time_machine.travel(now - dt.timedelta(days=90)), transaction.atomic():
        story = Story.objects.create(
            slug=slug,
            title=f"Benchmark story of {events} events",
            summary="A long-running story used to measure the public pages.",
        )
        entities = [
            Entity.objects.create(
                name=f"Company {n}", slug=f"{slug}-company-{n}", kind="organization"
            )
            for n in range(30)
        ]
        made = []
        for i in range(events):
            event = Event.objects.create(
                story=story,
                slug=f"event-{i}",
                title=f"Event {i}: a development in the story, as reported",
                summary="What happened, in a sentence or two of the length an editor writes "
                "for a timeline entry, with the detail a reader needs.",
                category=list(Category)[i % len(Category)],
                status="published",
                occurred_on=dt.date(2018, 1, 1) + dt.timedelta(days=3 * i),
                precision=precisions[i % len(precisions)],
                certainty=certainties[i % len(certainties)],
                is_approximate=i % 17 == 0,
            )
            event.entities.add(entities[i % 30], entities[(i * 7 + 3) % 30])
            cited = []
            for j in range(citations):
                source = Source.objects.create(
                    title=f"Report {i}.{j} on the development",
                    publisher=OUTLETS[(i + j * 5) % len(OUTLETS)],
                    url=f"https://news.example.com/{slug}/{i}/{j}",
                    published_text=f"{(i + j) % 28 + 1} March 2025",
                )
                cited.append(
                    Citation.objects.create(event=event, source=source, quote="A quoted passage.")
                )
            if i % 10 == 0:
                claim = Claim.objects.create(event=event, label="Amount")
                first = ClaimValue.objects.create(
                    claim=claim, value="$1 billion", is_preferred=True
                )
                first.citations.add(cited[0])
                ClaimValue.objects.create(claim=claim, value="$1.2 billion").citations.add(cited[1])
            made.append(event)
    with time_machine.travel(now - dt.timedelta(days=2)):
        for event in made[5 : events : max(events // 5, 1)]:
            event.certainty = Certainty.CONFIRMED
            event.save()
            source = Source.objects.create(title=f"Late report on {event.slug}", publisher="AP")
            Citation.objects.create(event=event, source=source)
    return story


# --- Measuring --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(port: int):
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "2",
        "--log-level",
        "warning",
    ]  # fmt: skip — the same as the Procfile's web process
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def timed(client, url: str, n: int, before=None) -> list[float]:
    times = []
    for _ in range(n):
        if before:
            before()
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def queries(url: str, prepare=None) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    if prepare:
        prepare()
    with CaptureQueriesContext(connection) as captured:
        response = Client().get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def wrk(url: str) -> float:
    """Requests per second under wrk -t2 -c16 -d10s."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    out = subprocess.run(
        ["wrk", "-t2", "-c16", "-d10s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert errors is None, out
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    try:
        run(args)
    finally:
        stop_redis()


def run(args) -> None:
    print(f"building a throwaway database in {VAR} ...", flush=True)
    setup_django()
    import httpx
    from django.conf import settings
    from django.core.cache import cache as django_cache
    from django.test import Client

    from tracker import cache

    started = time.monotonic()
    small = build_story("bench-10", 10)
    big = build_story("bench-big", args.events)
    print(f"built {args.events} + 10 events in {time.monotonic() - started:.0f} s", flush=True)

    def empty_cache() -> None:
        django_cache.clear()

    def change(story):
        return lambda: cache.bump([story.pk])

    timeline = f"/stories/{big.slug}/"
    event_page = f"/stories/{big.slug}/events/event-500/"
    api_page = f"/api/v1/stories/{big.slug}/events/"
    feed = f"/stories/{big.slug}/feed/"

    # SQL per page, in process: cold, after a change, and cached.
    query_rows = []
    for label, path in [("timeline", "/stories/{}/"),
                        ("timeline, newest first", "/stories/{}/?order=newest"),
                        ("event page", "/stories/{}/events/event-5/"),
                        ("API events page", "/api/v1/stories/{}/events/"),
                        ("Atom feed", "/stories/{}/feed/")]:  # fmt: skip
        row = [label]
        for story in (small, big):
            url = path.format(story.slug)
            row += [queries(url, empty_cache), queries(url, change(story)), queries(url)]
        query_rows.append(row)

    # The same HTML as a static file, served by the same stack.
    html = Client().get(timeline).content
    pages = re.search(rb"\(page 1 of (\d+)\)", html)
    page_count = int(pages.group(1)) if pages else 1
    middle = f"{timeline}?page={page_count // 2 + 1}" if page_count > 1 else timeline
    static_file = Path(settings.STATIC_ROOT) / "bench" / "timeline.html"
    static_file.parent.mkdir(parents=True, exist_ok=True)
    static_file.write_bytes(html)
    # Whitenoise serves a .gz beside a file to clients that accept gzip, as the
    # page cache does: httpx asks for gzip, wrk for neither.
    static_file.with_name(static_file.name + ".gz").write_bytes(
        gzip.compress(html, compresslevel=6, mtime=0)
    )

    port = free_port()
    results = {}
    with gunicorn(port) as base, httpx.Client(base_url=base, timeout=60) as client:
        for path in (timeline, middle, event_page, api_page, feed, "/static/bench/timeline.html"):
            timed(client, path, 5)  # warm every worker
        results["timeline, cold"] = summary(timed(client, timeline, 30, empty_cache))
        results["timeline, uncached"] = summary(timed(client, timeline, 100, change(big)))
        results["timeline, cached"] = summary(timed(client, timeline, 300))
        if middle != timeline:
            label = f"timeline page {page_count // 2 + 1} of {page_count}"
            results[f"{label}, cold"] = summary(timed(client, middle, 30, empty_cache))
            results[f"{label}, uncached"] = summary(timed(client, middle, 100, change(big)))
            results[f"{label}, cached"] = summary(timed(client, middle, 300))
        for label, path in (("event page", event_page), ("API events page", api_page),
                            ("Atom feed", feed)):  # fmt: skip
            results[f"{label}, uncached"] = summary(timed(client, path, 100, change(big)))
            results[f"{label}, cached"] = summary(timed(client, path, 300))
        results["static file"] = summary(timed(client, "/static/bench/timeline.html", 300))
        not_modified = client.get(
            timeline, headers={"If-None-Match": client.get(timeline).headers["ETag"]}
        )
        assert not_modified.status_code == 304
        timeline_rps = wrk(base + timeline)
        static_rps = wrk(base + "/static/bench/timeline.html")

    size_kb = len(html) / 1024
    today = dt.datetime.now(tz=dt.UTC)
    lines = [
        "`.venv/bin/python bench/bench_public.py [--events 1000]` (needs `wrk`: "
        "`apt-get install wrk`).",
        "",
        f"Measured {today:%-d %B %Y} on {machine()}:",
        f"a story of {args.events:,} published events with 3 citations each (plus 30 entities, "
        "a disputed claim on every tenth event, a few events changed two days earlier), "
        f"SQLite, the embedded Redis as cache, gunicorn `--workers 2 --threads 2` on loopback. "
        f"The timeline is shown in {page_count} pages; its first is {size_kb:,.0f} KiB of HTML.",
        "",
        "Response time (httpx on loopback, asking for gzip as browsers do; ms). "
        "*Cold*: the cache emptied before each request. "
        "*Uncached*: the story changed before each request, so the page is rendered again "
        "(cards of unchanged events come from the card cache). *Cached*: nothing changed.",
        "",
        "| page | median | p99 |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {label} | {m:.1f} | {p:.1f} |" for label, (m, p) in results.items()]
    lines += [
        "",
        "SQL queries per page (cold / after a change / cached), at 10 and at "
        f"{args.events:,} events:",
        "",
        f"| page | 10 events | {args.events:,} events |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| {r[0]} | {r[1]} / {r[2]} / {r[3]} | {r[4]} / {r[5]} / {r[6]} |" for r in query_rows
    ]
    share = timeline_rps / static_rps
    lines += [
        "",
        "Throughput, `wrk -t2 -c16 -d10s` against the same gunicorn (wrk on the same machine, "
        "no compression asked for):",
        "",
        "| target | requests/s |",
        "| --- | ---: |",
        f"| timeline, cached | {timeline_rps:,.0f} |",
        f"| the same HTML as a static file (whitenoise) | {static_rps:,.0f} |",
        f"| timeline ÷ static file | {share:.2f} |",
        "",
        "Targets: cached median under {} ms ({}), uncached (cold and after a change) under "
        "{} ms ({}), throughput at least {:.0%} of the static file ({}).".format(
            CACHED_MEDIAN_MS,
            "met" if results["timeline, cached"][0] < CACHED_MEDIAN_MS else "MISSED",
            UNCACHED_MEDIAN_MS,
            "met"
            if max(results["timeline, cold"][0], results["timeline, uncached"][0])
            < UNCACHED_MEDIAN_MS
            else "MISSED",
            THROUGHPUT_SHARE,
            "met" if share >= THROUGHPUT_SHARE else "MISSED",
        ),
    ]
    report = "\n".join(lines)
    print()
    print(report)
    if not args.no_readme:
        write_section(report)
        print(f"\nwritten to {README.relative_to(ROOT)}")


def with_section(text: str | None, report: str) -> str:
    """``text`` (bench/README.md) with its "Public pages" section replaced by
    ``report``, keeping the sections of other benchmarks and any "### "
    subsection recorded by hand at the end of this one (Lighthouse scores)."""
    text = text or "# Benchmarks\n"
    body = f"{SECTION}\n\n{report}\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    match = pattern.search(text)
    if match is None:
        return text.rstrip("\n") + "\n\n" + body
    kept = re.search(r"^### .*", match.group(0), re.S | re.M)
    if kept and "\n### " not in f"\n{report}":
        body += f"\n{kept.group(0).rstrip()}\n"
    rest = text[match.end() :]
    return text[: match.start()] + body + ("\n" if rest else "") + rest


def write_section(report: str) -> None:
    README.write_text(with_section(README.read_text() if README.exists() else None, report))


if __name__ == "__main__":
    main()
