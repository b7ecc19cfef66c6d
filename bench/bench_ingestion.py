"""How fast the real pipeline ingests 500 feeds of 20 articles each.

    make bench-ingestion                  # or:
    .venv/bin/python bench/bench_ingestion.py [--feeds 500] [--items 20] [options]

Starts the loopback feed farm (bench/feedfarm.py) in its own process, a fresh
SQLite database under TRACKER_VAR_DIR (var/bench-ingestion unless set; or the
PostgreSQL database DATABASE_URL names, which must have "bench" in its name
since it is emptied), the embedded Redis unless REDIS_URL is set, and real
`celery worker` processes: one on the poll queue, one on the extract queue.
Then, with one story whose include term every article matches:

1. first pass: sends every feed's poll to the workers as `pollfeeds --all`
   does, and waits until every feed is polled (the polling phase) and every
   article is stored and extracted (the whole run);
2. second pass: the same over the unchanged feeds, counting the 304 answers;
3. counts the duplicates the run created (the farm serves none);
4. when Debian's newsboat is installed, times `newsboat -x reload` with 8
   reload threads on the same feeds, against a fresh cache;
5. times bare `trafilatura.extract`, with the options the tracker passes, on
   the same pages in this one process, from bytes already in memory.

It prints a table at the end, in Markdown. Every process it starts is stopped
before it exits, on failure too.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import psutil  # noqa: E402
from benchdb import fresh_sqlite  # noqa: E402
from feedfarm import Farm  # noqa: E402

# The pipeline's politeness is per host name, port left out (fetch.py passes
# ``target.host`` to the gate), and every farm URL is on 127.0.0.1: with the
# defaults (2 at once, 500 ms apart) the 10,500 requests would take at least
# 10,500 x 0.5 s = 88 minutes whatever the workers do. The benchmark lifts the
# gap and sets the cap above the workers' concurrency, so the gate is still
# taken and released around every request (its Redis round trips are measured)
# but never makes a request wait: what is timed is the pipeline, not the wait.
HOST_CONCURRENCY = 64
HOST_GAP_MS = 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--poll-pool", default="prefork", choices=["threads", "prefork", "solo"])
    parser.add_argument("--poll-concurrency", type=int, default=6)
    parser.add_argument("--extract-pool", default="prefork", choices=["threads", "prefork", "solo"])
    parser.add_argument("--extract-concurrency", type=int, default=2)
    parser.add_argument(
        "--extract-nice", type=int, default=10,
        help="CPU priority of the extract worker, as nice(1) (0: as the poll worker)",
    )  # fmt: skip
    parser.add_argument("--host-concurrency", type=int, default=HOST_CONCURRENCY)
    parser.add_argument("--host-gap-ms", type=int, default=HOST_GAP_MS)
    parser.add_argument(
        "--bare-limit", type=int, default=0,
        help="extract only this many pages in the bare trafilatura run (0: all)",
    )  # fmt: skip
    parser.add_argument("--no-newsboat", action="store_true")
    parser.add_argument("--no-bare", action="store_true")
    parser.add_argument(
        "--timeout", type=float, default=360,
        help="stop waiting for a pass after this many seconds and report what was done",
    )  # fmt: skip
    return parser.parse_args()


# --- Processes ----------------------------------------------------------------------


class Processes:
    """Every process the benchmark starts, stopped in reverse order on exit."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(command, start_new_session=True, **kwargs)
        self.started.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 20) -> None:
        if process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for _name, process in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                self.stop(process)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process and its live children."""
    try:
        root = psutil.Process(pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


@dataclass
class FarmClient:
    base_url: str

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._get("/_stats")

    def reset(self) -> None:
        self._get("/_reset")


def start_farm(processes: Processes, args: argparse.Namespace, epoch: int) -> tuple[str, int]:
    farm = processes.start(
        "farm",
        [sys.executable, str(BENCH / "feedfarm.py"), "--feeds", str(args.feeds),
         "--items", str(args.items), "--epoch", str(epoch)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    line = farm.stdout.readline()
    if not line.startswith("feedfarm listening on "):
        raise SystemExit(f"the feed farm did not start: {line!r}")
    print(line.strip(), flush=True)
    return line.split()[3], farm.pid


# --- Environment and services ---------------------------------------------------------


def configure_environment(args: argparse.Namespace, farm_url: str) -> None:
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("TRACKER_VAR_DIR", str(ROOT / "var" / "bench-ingestion"))
    os.environ["TRACKER_FETCH_ALLOWLIST"] = farm_url.removeprefix("http://")
    os.environ["TRACKER_HOST_CONCURRENCY"] = str(args.host_concurrency)
    os.environ["TRACKER_HOST_GAP_MS"] = str(args.host_gap_ms)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"


def fresh_database() -> str:
    """Migrate an empty database and say which one it is."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        path = Path(db["NAME"])
        fresh_sqlite(path)
        version = connection.cursor().execute("select sqlite_version()").fetchone()[0]
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        return f"SQLite {version} (WAL, {shown})"
    if "bench" not in db["NAME"]:
        raise SystemExit(
            f"refusing to empty database {db['NAME']!r}: DATABASE_URL must name a bench database"
        )
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("show server_version")
        version = cursor.fetchone()[0]
    return f"PostgreSQL {version} ({db['NAME']} on {db['HOST'] or 'local socket'})"


def start_redis(processes: Processes) -> tuple[str, int | None]:
    """The broker: the embedded Redis (started here, stopped on exit) or REDIS_URL's,
    with the tracker's queues and host slots emptied."""
    import redis
    from django.conf import settings

    from config import embedded_redis

    pid = None
    if settings.EMBEDDED_REDIS:
        var_dir = Path(settings.VAR_DIR)
        var_dir.mkdir(parents=True, exist_ok=True)
        sock = embedded_redis.socket_path(var_dir)
        if not embedded_redis.is_running(sock):
            lock = embedded_redis.lock(var_dir)
            if lock is not None:
                command = embedded_redis.server_command(var_dir, daemonize=False, persist=False)
                process = processes.start(
                    "redis", command, stdout=subprocess.DEVNULL, pass_fds=(lock,)
                )
                os.close(lock)
                pid = process.pid
        embedded_redis.wait_until_running(sock)
    client = redis.Redis.from_url(embedded_redis.redis_client_url(settings.REDIS_URL))
    version = client.info("server")["redis_version"]
    for key in client.scan_iter("tracker:host:*"):
        client.delete(key)
    for queue in ("poll", "extract"):
        client.delete(queue)
    client.close()
    where = "embedded, unix socket" if settings.EMBEDDED_REDIS else settings.REDIS_URL
    return f"Redis {version} ({where})", pid


def start_worker(
    processes: Processes, name: str, queue: str, pool: str, concurrency: int, nice: int = 0
) -> subprocess.Popen:
    from django.conf import settings

    log = Path(settings.VAR_DIR) / f"worker-{name}.log"
    env = {**os.environ, "TRACKER_REDIS_AUTOSTART": "0"}
    command = [
        *(["nice", "-n", str(nice)] if nice else []),
        str(Path(sys.executable).parent / "celery"),
        "-A", "config", "worker",
        "--hostname", f"{name}@bench",
        "--queues", queue,
        "--pool", pool,
        "--concurrency", str(concurrency),
        "--loglevel", "WARNING",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    return processes.start(
        name, command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def wait_for_workers(names: list[str], timeout: float = 60) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    wanted = {f"{name}@bench" for name in names}
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if wanted <= {host for reply in replies for host in reply}:
            return
    raise SystemExit(f"workers {sorted(wanted)} did not answer within {timeout:.0f} s")


# --- The passes -------------------------------------------------------------------------


def create_feeds(feed_urls: list[str]) -> None:
    from tracker.models import Feed, Story

    story = Story.objects.create(
        title="Meta and Scale AI",
        slug="meta-scale-ai",
        include_terms="Scale AI\nAlexandr Wang",
    )
    Feed.objects.bulk_create([Feed(url=url) for url in feed_urls])
    story.feeds.add(*Feed.objects.all())


@dataclass
class Pass:
    started: float
    polled_at: float | None = None
    done_at: float | None = None
    ended: float = 0.0
    trigger_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def poll_seconds(self) -> float:
        return (self.polled_at or self.ended) - self.started

    @property
    def total_seconds(self) -> float:
        return (self.done_at or self.ended) - self.started


def run_pass(
    expected_articles: int,
    feeds: int,
    timeout: float,
    cpu_of: dict[str, int],
    *,
    wait_for_extraction: bool = True,
) -> Pass:
    """Send every feed's poll to the workers and wait until all are polled and, with
    ``wait_for_extraction``, ``expected_articles`` articles exist with none left to
    extract. After ``timeout`` seconds it stops waiting: ``polled_at`` or
    ``done_at`` stays None and the extractions still queued are dropped."""
    from django.utils import timezone

    from tracker import services
    from tracker.models import Article, ExtractionStatus, Feed

    cpu_before = {name: tree_cpu(pid) for name, pid in cpu_of.items()}
    since = timezone.now()
    result = Pass(started=time.monotonic())
    services.poll_now(Feed.objects.all())
    result.trigger_seconds = time.monotonic() - result.started
    deadline = result.started + timeout
    while time.monotonic() < deadline:
        if result.polled_at is None and (
            Feed.objects.filter(last_polled_at__gte=since).count() >= feeds
        ):
            result.polled_at = time.monotonic()
            if not wait_for_extraction:
                break
        if result.polled_at is not None:
            stored = Article.objects.count()
            pending = Article.objects.filter(extraction_status=ExtractionStatus.PENDING).count()
            if stored >= expected_articles and pending == 0:
                result.done_at = time.monotonic()
                break
        time.sleep(0.1)
    result.ended = time.monotonic()
    result.cpu = {name: tree_cpu(pid) - cpu_before[name] for name, pid in cpu_of.items()}
    if (result.done_at is None and wait_for_extraction) or result.polled_at is None:
        print(f"  stopped waiting after {timeout:.0f} s", flush=True)
        drop_queued_extractions()
    return result


def drop_queued_extractions() -> None:
    """Empty the extract queue so a pass that ran out of time does not spill into
    the next measurement (tasks already running finish)."""
    import redis
    from django.conf import settings

    from config import embedded_redis

    client = redis.Redis.from_url(embedded_redis.redis_client_url(settings.REDIS_URL))
    client.delete("extract")
    client.close()


def article_figures() -> dict:
    from django.db.models import Count, Max, Min

    from tracker.models import Article, Feed, PollLog, ReviewState

    articles = Article.objects.all()
    by_status = dict(articles.values_list("extraction_status").annotate(n=Count("pk")).order_by())
    by_state = dict(articles.values_list("review_state").annotate(n=Count("pk")).order_by())
    same_url = (
        articles.originals()
        .exclude(normalized_url="")
        .values("story", "normalized_url")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    same_guid = (
        articles.values("story", "feed", "guid").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    span = articles.filter(extracted_at__isnull=False).aggregate(
        first=Min("extracted_at"), last=Max("extracted_at")
    )
    return {
        "stored": articles.count(),
        "polled": Feed.objects.filter(last_polled_at__isnull=False).count(),
        "by_status": by_status,
        "by_state": by_state,
        "duplicate_state": by_state.get(ReviewState.DUPLICATE, 0),
        "same_url_groups": same_url,
        "same_guid_groups": same_guid,
        "first_extracted": span["first"],
        "last_extracted": span["last"],
        "failing_feeds": Feed.objects.filter(consecutive_failures__gt=0).count(),
        "poll_logs_304": PollLog.objects.filter(was_not_modified=True).count(),
    }


# --- newsboat and bare trafilatura -----------------------------------------------------


def time_newsboat(feed_urls: list[str], farm: FarmClient) -> dict | None:
    """Three `newsboat -x reload` runs with 8 reload threads: a fresh cache, then the
    same cache twice more. None when newsboat is not installed. (Newsboat 2.21
    stores a feed's ETag and Last-Modified on the run after the one that first
    saw it, so only the third run is fully conditional.)"""
    newsboat = shutil.which("newsboat")
    if newsboat is None:
        return None
    version = subprocess.run(
        [newsboat, "--version"], capture_output=True, text=True, check=False
    ).stdout.split("\n")[0]
    with tempfile.TemporaryDirectory(prefix="bench-newsboat-") as tmp:
        home = Path(tmp)
        (home / "urls").write_text("\n".join(feed_urls) + "\n")
        (home / "config").write_text("reload-threads 8\n")
        env = {
            **os.environ,
            "HOME": tmp,
            "XDG_CONFIG_HOME": tmp,
            "XDG_DATA_HOME": tmp,
            "XDG_CACHE_HOME": tmp,
        }
        command = [newsboat, "-x", "reload", "-u", "urls", "-c", "cache.db", "-C", "config"]
        runs = []
        for _ in range(3):
            farm.reset()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            subprocess.run(command, cwd=tmp, env=env, check=True, capture_output=True)
            seconds = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            with contextlib.closing(sqlite3.connect(home / "cache.db")) as db:
                items = db.execute("select count(*) from rss_item").fetchone()[0]
            runs.append({"seconds": seconds, "cpu": cpu, "items": items, **farm.stats()})
    return {"version": version, "first": runs[0], "second": runs[1], "third": runs[2]}


def time_bare_trafilatura(farm_url: str, epoch: int, args: argparse.Namespace) -> dict:
    """trafilatura.extract with the options the tracker passes to trafilatura."""
    import trafilatura

    from tracker.ingestion.extract import TRAFILATURA_OPTIONS

    pages = Farm(feeds=args.feeds, items=args.items, base_url=farm_url, epoch=epoch).article_pages()
    if args.bare_limit:
        pages = pages[: args.bare_limit]
    trafilatura.extract(pages[0][1], url=pages[0][0], **TRAFILATURA_OPTIONS)  # warm-up
    empty = 0
    cpu_started = time.process_time()
    started = time.perf_counter()
    for url, page in pages:
        if not trafilatura.extract(page, url=url, **TRAFILATURA_OPTIONS):
            empty += 1
    seconds = time.perf_counter() - started
    return {
        "pages": len(pages),
        "seconds": seconds,
        "cpu": time.process_time() - cpu_started,
        "empty": empty,
        "version": trafilatura.__version__,
    }


# --- Report ------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} CPUs ({model}), {memory:.0f} GiB RAM, Python {platform.python_version()}"
    )


def seconds_or_unfinished(at: float | None, run: Pass) -> str:
    if at is None:
        return f"NOT FINISHED: stopped waiting after {run.ended - run.started:.0f} s"
    return f"{at - run.started:.1f} s"


def mb(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def main() -> None:
    args = parse_args()
    processes = Processes()
    epoch = int(time.time()) // 60 * 60
    rows: list[tuple[str, str]] = []
    notes: list[str] = []
    try:
        farm_url, farm_pid = start_farm(processes, args, epoch)
        farm = FarmClient(farm_url)
        configure_environment(args, farm_url)
        import django

        django.setup()
        database = fresh_database()
        broker, redis_pid = start_redis(processes)
        feed_urls = Farm.feed_urls_for(farm_url, args.feeds)
        create_feeds(feed_urls)
        expected = args.feeds * args.items

        poll = start_worker(processes, "poll", "poll", args.poll_pool, args.poll_concurrency)
        extract = start_worker(
            processes,
            "extract",
            "extract",
            args.extract_pool,
            args.extract_concurrency,
            nice=args.extract_nice,
        )
        wait_for_workers(["poll", "extract"])
        # What sends the polls is imported before the clock starts, as in a running
        # admin or beat process: its first import (trafilatura and all) takes 0.4 s.
        import tracker.tasks  # noqa: F401

        cpu_of = {"poll worker": poll.pid, "extract worker": extract.pid, "farm": farm_pid}
        if redis_pid:
            cpu_of["redis"] = redis_pid
        load_before = os.getloadavg()[0]

        print(f"first pass: {args.feeds} feeds x {args.items} items ...", flush=True)
        farm.reset()
        first = run_pass(expected, args.feeds, args.timeout, cpu_of)
        first_http = farm.stats()
        figures = article_figures()

        print("second pass over the unchanged feeds ...", flush=True)
        farm.reset()
        second = run_pass(expected, args.feeds, args.timeout, cpu_of, wait_for_extraction=False)
        second_http = farm.stats()
        after = article_figures()
        load_after = os.getloadavg()[0]
        processes.stop(poll)
        processes.stop(extract)

        boat = None if args.no_newsboat else time_newsboat(feed_urls, farm)
        bare = None if args.no_bare else time_bare_trafilatura(farm_url, epoch, args)
    finally:
        processes.stop_all()

    extracted = sum(n for s, n in figures["by_status"].items() if s in ("full", "teaser", "failed"))
    span = (figures["last_extracted"] - figures["first_extracted"]).total_seconds()
    run_rate = extracted / first.total_seconds
    span_rate = extracted / span if span else 0.0
    rows += [
        ("feeds x items", f"{args.feeds} x {args.items} = {expected} articles"),
        ("polling phase (all feeds polled)", seconds_or_unfinished(first.polled_at, first)),
        ("  of which leasing and sending the polls", f"{first.trigger_seconds:.2f} s"),
        ("  feeds/s", f"{figures['polled'] / first.poll_seconds:.1f}"),
        ("whole run (all stored and extracted)", seconds_or_unfinished(first.done_at, first)),
        (
            "  articles/s, whole run",
            f"{run_rate:.1f} ({extracted} extracted in {first.total_seconds:.1f} s)",
        ),
        (
            "  articles/s, first to last extracted_at",
            f"{span_rate:.1f} (over {span:.1f} s)",
        ),
        (
            "  requests (feeds + pages)",
            f"{first_http['requests']} ({first_http['feed_requests']} + "
            f"{first_http['article_requests']}), {first_http['not_found']} not found",
        ),
        (
            "  bytes sent by the farm (feeds + pages)",
            f"{mb(first_http['bytes_sent'])} ({mb(first_http['feed_bytes'])} + "
            f"{mb(first_http['article_bytes'])})",
        ),
        (
            "  extraction status",
            ", ".join(f"{k} {v}" for k, v in sorted(figures["by_status"].items())),
        ),
        (
            "  CPU s: poll / extract worker, farm, redis",
            " / ".join(f"{first.cpu.get(k, 0):.0f}" for k in ("poll worker", "extract worker"))
            + f", {first.cpu.get('farm', 0):.0f}, {first.cpu.get('redis', 0):.0f}",
        ),
        (
            "  extract worker CPU ms per article",
            f"{1000 * first.cpu['extract worker'] / max(extracted, 1):.1f}",
        ),
        ("second pass (unchanged feeds)", f"{second.poll_seconds:.1f} s"),
        (
            "  requests answered 304",
            f"{second_http['not_modified']} of {second_http['requests']} "
            f"({100 * second_http['not_modified'] / max(second_http['requests'], 1):.1f}%)",
        ),
        ("  bytes sent by the farm", mb(second_http["bytes_sent"])),
        ("  new articles", str(after["stored"] - figures["stored"])),
        (
            "duplicates created",
            f"{figures['duplicate_state']} marked duplicate, "
            f"{figures['same_url_groups']} URLs stored twice, "
            f"{figures['same_guid_groups']} guids stored twice",
        ),
        ("feeds failing", str(after["failing_feeds"])),
    ]
    if boat is not None:
        rows += [
            (
                f"newsboat -x reload, 8 threads ({boat['version'].split(' - ')[0]})",
                f"{boat['first']['seconds']:.1f} s",
            ),
            (
                "  requests, bytes, items stored, CPU s",
                f"{boat['first']['requests']}, {mb(boat['first']['bytes_sent'])}, "
                f"{boat['first']['items']}, {boat['first']['cpu']:.1f}",
            ),
            (
                "  second, third run: time, answered 304",
                f"{boat['second']['seconds']:.1f} s, {boat['second']['not_modified']} of "
                f"{boat['second']['requests']}; {boat['third']['seconds']:.1f} s, "
                f"{boat['third']['not_modified']} of {boat['third']['requests']}",
            ),
        ]
    elif not args.no_newsboat:
        notes.append("newsboat is not installed (apt-get install newsboat): no comparison.")
    if bare is not None:
        bare_rate = bare["pages"] / bare["seconds"]
        rows += [
            (
                f"bare trafilatura.extract {bare['version']}, one process",
                f"{bare['pages']} pages in {bare['seconds']:.1f} s = {bare_rate:.1f} pages/s",
            ),
            ("  CPU ms per page", f"{1000 * bare['cpu'] / bare['pages']:.1f}"),
        ]
    rows.append(("load average (1 min) before / after", f"{load_before:.2f} / {load_after:.2f}"))

    print()
    print(f"Machine: {machine()}")
    print(f"Database: {database}; broker: {broker}")
    print(
        f"Workers: poll --pool {args.poll_pool} --concurrency {args.poll_concurrency}; "
        f"extract --pool {args.extract_pool} --concurrency {args.extract_concurrency}"
        f" (nice {args.extract_nice}); "
        f"TRACKER_HOST_CONCURRENCY={args.host_concurrency} "
        f"TRACKER_HOST_GAP_MS={args.host_gap_ms}"
    )
    print(f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print()
    width = max(len(label) for label, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label.ljust(width)} | {value} |")
    print()
    targets = [
        (
            "polling phase no slower than newsboat",
            None
            if boat is None
            else first.polled_at is not None and first.poll_seconds <= boat["first"]["seconds"],
            f"{first.poll_seconds:.1f} s vs {boat['first']['seconds']:.1f} s" if boat else "",
        ),
        (
            ">= 99% of the second pass answered 304",
            second_http["not_modified"] >= 0.99 * second_http["requests"],
            f"{second_http['not_modified']}/{second_http['requests']}",
        ),
        (
            "all articles extracted",
            first.done_at is not None,
            f"{extracted} of {expected}",
        ),
        (
            "no duplicates",
            figures["duplicate_state"] + figures["same_url_groups"] + figures["same_guid_groups"]
            == 0,
            "",
        ),
    ]
    if bare is not None:
        for name, rate in (("whole run", run_rate), ("extraction span", span_rate)):
            targets.append(
                (
                    f"extraction ({name}) within 15% of bare trafilatura",
                    rate >= 0.85 * bare_rate,
                    f"{rate:.1f} vs {bare_rate:.1f} pages/s ({100 * rate / bare_rate:.0f}%)",
                )
            )
    for name, met, detail in targets:
        verdict = "n/a" if met is None else ("met" if met else "MISSED")
        print(f"{verdict:>6}  {name}  {detail}")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
