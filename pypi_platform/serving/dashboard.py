"""The dashboard: HTML pages whose charts read the JSON API."""

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []
