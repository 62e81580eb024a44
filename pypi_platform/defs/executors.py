"""Which executor the fan-out jobs (the global scan, the corpus) use: Dagster's default, or one pod per step.

``PYPI_PLATFORM_EXECUTOR=k8s`` (``Settings.executor``) gives them dagster-k8s's job executor, so on Kubernetes
every step of a run gets its own pod and a backfill's partitions spread across nodes. Unset (or ``default``),
Dagster's default executor runs the steps as processes next to the run. The jobs are built when definitions
load, from the settings, never at import.

Only plain functions here: this module sits in the autoloaded defs folder, and a module-level Dagster object
would be picked up as a definition.
"""

import dagster as dg

from pypi_platform.lib.config import ConfigError


def fan_out_executor(choice: str) -> dg.ExecutorDefinition | None:
    """The executor for the scan and corpus jobs; None means Dagster's default."""
    if choice == "default":
        return None
    try:
        from dagster_k8s import k8s_job_executor  # only Kubernetes deployments install dagster-k8s
    except ImportError as error:
        raise ConfigError(
            "PYPI_PLATFORM_EXECUTOR=k8s needs dagster-k8s, which is not installed: "
            "install the project with its k8s extra (pip install '.[k8s]')"
        ) from error
    return k8s_job_executor
