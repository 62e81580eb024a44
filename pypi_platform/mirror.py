"""The mirror from the command line: serve it over HTTP for pip, from whatever object store holds it.

    python -m pypi_platform.mirror serve [--host 127.0.0.1] [--port 8080]

It reads the store of ``PYPI_PLATFORM_STORAGE_URL`` (a local directory or S3, with ``PYPI_PLATFORM_S3_*``), so a
mirror synced to a private bucket is usable by ``pip install --index-url http://HOST:PORT/simple/ <project>``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pypi_platform.lib.config import ConfigError, load_settings
from pypi_platform.lib.mirror.serve import make_server
from pypi_platform.lib.storage import open_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pypi_platform.mirror", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the mirror's simple index and files over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1 only)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (0 picks a free one)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    store = open_store(
        settings.storage_url, endpoint_url=settings.s3_endpoint_url, timeouts=settings.s3_timeouts
    )
    server = make_server(store, args.host, args.port)
    host, port = server.server_address[:2]
    # The first line names the URL, so a script (or a test) can read the port chosen with --port 0.
    print(f"Serving the mirror in {store.url} at http://{host}:{port}/simple/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
