"""Fixtures shared by the Dagster wiring tests."""

import dagster as dg
import pytest

from pypi_platform.definitions import defs as load_definitions


@pytest.fixture
def definitions(monkeypatch, tmp_path) -> dg.Definitions:
    """The code location as it loads on the embedded defaults, under a fresh PYPI_PLATFORM_HOME."""
    for variable in (
        "PYPI_PLATFORM_MIRROR_PROJECTS",
        "PYPI_PLATFORM_DATABASE_URL",
        "PYPI_PLATFORM_STORAGE_URL",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path))
    return load_definitions()


@pytest.fixture
def platform_environment(monkeypatch, tmp_path, s3_store, s3_endpoint, database):
    """configure(**variables): the platform's PYPI_PLATFORM_* variables pointed at the test's S3 store and
    database (plus any given), and a persistent Dagster instance under DAGSTER_HOME, as `make ui` sets them."""

    def configure(**variables: str) -> None:
        settings = {
            "PYPI_PLATFORM_HOME": str(tmp_path / "home"),
            "PYPI_PLATFORM_STORAGE_URL": s3_store.url,
            "PYPI_PLATFORM_S3_ENDPOINT_URL": s3_endpoint,
            "PYPI_PLATFORM_DATABASE_URL": database,
            **variables,
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PYPI_PLATFORM_MIRROR_PROJECTS", raising=False)
        dagster_home = tmp_path / "dagster"
        dagster_home.mkdir(exist_ok=True)
        (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))

    return configure
