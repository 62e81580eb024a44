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
