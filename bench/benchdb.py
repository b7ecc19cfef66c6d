"""The benchmarks' throwaway SQLite database."""

from pathlib import Path


def fresh_sqlite(path: Path) -> None:
    """Delete the SQLite database at ``path`` (with its -wal and -shm files) and
    migrate a new one. Refuses a path without "bench" in it: it is emptied."""
    from django.core.management import call_command

    if "bench" not in str(path):
        raise SystemExit(f"refusing to replace {path}: set TRACKER_VAR_DIR to a bench dir")
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(path.name + "*"):
        old.unlink()
    call_command("migrate", verbosity=0)
