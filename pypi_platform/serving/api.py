"""The JSON API under ``/api/``, in pypistats.org's paths, parameters and shapes."""

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []
