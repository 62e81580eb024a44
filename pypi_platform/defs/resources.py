"""Every resource key, provided once, chosen from the environment (DESIGN.md section 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import dagster as dg
import psycopg
from pydantic import PrivateAttr

from pypi_platform.lib import postgres
from pypi_platform.lib.config import Settings, load_settings
from pypi_platform.lib.storage import ObjectStore, open_store


class ObjectStoreResource(dg.ConfigurableResource):
    """The object store: a local directory (file:///...) or S3 and S3-compatible stores (s3://bucket/prefix)."""

    url: str
    endpoint_url: str | None = None
    _store: ObjectStore | None = PrivateAttr(default=None)

    def get_store(self) -> ObjectStore:
        if self._store is None:
            self._store = open_store(self.url, endpoint_url=self.endpoint_url)
        return self._store


class PostgresResource(dg.ConfigurableResource):
    """PostgreSQL by DSN, or an embedded server under ``embedded_dir``; migrations applied once per process."""

    dsn: str | None = None
    embedded_dir: str | None = None

    def get_dsn(self) -> str:
        return postgres.ensure_database(self.dsn, self.embedded_dir)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.get_dsn()) as conn:
            yield conn


class MirrorSettingsResource(dg.ConfigurableResource):
    """The upstream index and the mirror's filters, parsed from the environment at load time."""

    upstream_url: str
    workers: int = 10
    delete_grace_hours: float = 24.0

    @cached_property
    def settings(self) -> Settings:
        return load_settings()


def build_resources(settings: Settings) -> dict[str, object]:
    store = ObjectStoreResource(url=settings.storage_url, endpoint_url=settings.s3_endpoint_url)
    database = PostgresResource(
        dsn=settings.database_url,
        embedded_dir=None if settings.database_url else str(settings.embedded_postgres_dir),
    )
    return {"object_store": store, "postgres": database}


@dg.definitions
def defs() -> dg.Definitions:
    # Reading the environment here, not at import, lets a bad value fail the code location with its name.
    return dg.Definitions(resources=build_resources(load_settings()))
