"""The API's settings, from ``PYPI_PLATFORM_API_*`` variables; a bad value raises a ConfigError naming it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pypi_platform.lib.config import ConfigError


@dataclass(frozen=True)
class ServingSettings:
    rate_per_second: float = 20.0  # tokens refilled per client IP and second; 0 turns rate limiting off
    burst: int = 200  # the bucket's size: requests a client may make at once
    max_age: int = 300  # Cache-Control max-age of successful answers, in seconds
    pool_size: int = 10  # PostgreSQL connections, at most
    version_ttl: float = 2.0  # seconds a read of the data's version (for ETags) is reused


def load_serving_settings(environ: Mapping[str, str] | None = None) -> ServingSettings:
    env = os.environ if environ is None else environ
    defaults = ServingSettings()
    return ServingSettings(
        rate_per_second=_number(env, "PYPI_PLATFORM_API_RATE", defaults.rate_per_second, float, 0),
        burst=_number(env, "PYPI_PLATFORM_API_BURST", defaults.burst, int, 1),
        max_age=_number(env, "PYPI_PLATFORM_API_MAX_AGE", defaults.max_age, int, 0),
        pool_size=_number(env, "PYPI_PLATFORM_API_POOL_SIZE", defaults.pool_size, int, 1),
    )


def _number(env: Mapping[str, str], name: str, default, kind: type, minimum: float):
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what} >= {minimum}, got {raw!r}") from None
    if not value >= minimum or value == float("inf"):
        raise ConfigError(f"{name} must be >= {minimum} and finite, got {raw!r}")
    return value
