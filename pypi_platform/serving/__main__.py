"""``python -m pypi_platform.serving [--host 127.0.0.1] [--port 8000] [--workers N]``: the API and dashboard with
uvicorn, in N processes that share the port and the rate-limit buckets (``processes.py``).

The database is the configured one (``PYPI_PLATFORM_DATABASE_URL``) or the embedded server under
``$PYPI_PLATFORM_HOME/postgres``, the one ``make demo`` loads.
"""

from __future__ import annotations

import argparse
import sys

from pypi_platform.lib.config import ConfigError, load_settings
from pypi_platform.lib.postgres import ensure_database
from pypi_platform.serving.processes import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pypi_platform.serving", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies whose X-Forwarded-For names the client, for rate limiting (default 127.0.0.1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="app processes sharing the port and the rate-limit buckets, one per core at most (default 1)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    dsn = ensure_database(settings.database_url, str(settings.embedded_postgres_dir))
    print(
        f"Serving download statistics on http://{args.host}:{args.port}/ (API under /api/), "
        f"{args.workers} process{'es' if args.workers > 1 else ''}",
        flush=True,
    )
    return serve(
        dsn,
        settings.serving,
        host=args.host,
        port=args.port,
        workers=args.workers,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )


if __name__ == "__main__":
    sys.exit(main())
