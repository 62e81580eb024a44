"""Which executor the fan-out jobs (the global scan, the corpus) use: Dagster's default, or one pod per step.

``PYPI_PLATFORM_EXECUTOR=k8s`` gives them dagster-k8s's job executor, so on Kubernetes every step of a run gets
its own pod and a backfill's partitions spread across nodes. Unset (or ``default``), Dagster's default executor
runs the steps as processes next to the run.

Only plain functions here: this module sits in the autoloaded defs folder, and a module-level Dagster object
would be picked up as a definition.
"""

import os
from collections.abc import Mapping

import dagster as dg

from pypi_platform.lib.config import ConfigError

EXECUTOR_VARIABLE = "PYPI_PLATFORM_EXECUTOR"
EXECUTOR_CHOICES = ("default", "k8s")


def fan_out_executor(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition | None:
    """The executor for the scan and corpus jobs, from ``PYPI_PLATFORM_EXECUTOR``; None means Dagster's default."""
    env = os.environ if environ is None else environ
    choice = (env.get(EXECUTOR_VARIABLE) or "default").strip().lower()
    if choice == "default":
        return None
    if choice != "k8s":
        raise ConfigError(
            f"{EXECUTOR_VARIABLE} must be one of {', '.join(EXECUTOR_CHOICES)}, got {env[EXECUTOR_VARIABLE]!r}"
        )
    try:
        from dagster_k8s import k8s_job_executor  # only Kubernetes deployments install dagster-k8s
    except ImportError as error:
        raise ConfigError(
            f"{EXECUTOR_VARIABLE}=k8s needs dagster-k8s, which is not installed: "
            "install the project with its k8s extra (pip install '.[k8s]')"
        ) from error
    return k8s_job_executor
