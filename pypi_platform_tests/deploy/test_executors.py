"""PYPI_PLATFORM_EXECUTOR picks the executor of the scan and corpus jobs: Dagster's default, or one pod per step."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_k8s import k8s_job_executor

from pypi_platform.defs.executors import fan_out_executor
from pypi_platform.lib.config import ConfigError, load_settings

EXECUTOR_VARIABLE = "PYPI_PLATFORM_EXECUTOR"

ROOT = Path(__file__).resolve().parents[2]
FAN_OUT_JOBS = ("global_scan_job", "corpus_shard_job", "corpus_stats_job")
OTHER_JOBS = ("scan_dataset_job", "mirror_sync_job")

# Loads the whole code location in a fresh interpreter, as a code server or a run pod would, and reports the
# executor of every job named on the command line.
_PROBE = """
import json, sys
from pypi_platform.definitions import defs
loaded = defs()
print(json.dumps({job: loaded.resolve_job_def(job).executor_def.name for job in sys.argv[1:]}))
"""


def _executor(environ: dict[str, str]) -> dg.ExecutorDefinition | None:
    return fan_out_executor(load_settings(environ).executor)


def test_the_default_is_dagsters_executor() -> None:
    assert _executor({}) is None
    assert _executor({EXECUTOR_VARIABLE: ""}) is None
    assert _executor({EXECUTOR_VARIABLE: "default"}) is None


def test_k8s_gives_the_kubernetes_job_executor() -> None:
    assert _executor({EXECUTOR_VARIABLE: "k8s"}) is k8s_job_executor
    assert _executor({EXECUTOR_VARIABLE: " K8S "}) is k8s_job_executor
    assert isinstance(k8s_job_executor, dg.ExecutorDefinition)


def test_an_unknown_value_names_the_variable_and_the_choices() -> None:
    with pytest.raises(
        ConfigError, match=r"PYPI_PLATFORM_EXECUTOR must be one of default, k8s, got 'celery'"
    ):
        load_settings({EXECUTOR_VARIABLE: "celery"})


def _load_executors(tmp_path: Path, executor: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYPI_PLATFORM_") and not name.startswith("DAGSTER_")
    }
    env["PYPI_PLATFORM_HOME"] = str(tmp_path)
    if executor is not None:
        env[EXECUTOR_VARIABLE] = executor
    return subprocess.run(
        [sys.executable, "-c", _PROBE, *FAN_OUT_JOBS, *OTHER_JOBS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_scan_and_corpus_jobs_run_their_steps_in_pods_when_asked(tmp_path: Path) -> None:
    done = _load_executors(tmp_path, "k8s")
    assert done.returncode == 0, done.stderr
    executors = json.loads(done.stdout.strip().splitlines()[-1])
    assert {job: executors[job] for job in FAN_OUT_JOBS} == dict.fromkeys(FAN_OUT_JOBS, k8s_job_executor.name)
    # Only the fan-out jobs: the others keep Dagster's default executor.
    assert all(executors[job] != k8s_job_executor.name for job in OTHER_JOBS)


def test_without_the_variable_every_job_keeps_the_default_executor(tmp_path: Path) -> None:
    done = _load_executors(tmp_path, None)
    assert done.returncode == 0, done.stderr
    executors = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(executors.values()) == {"multi_or_in_process_executor"}


def test_a_bad_value_fails_the_code_location_with_the_variable_named(tmp_path: Path) -> None:
    done = _load_executors(tmp_path, "kubernetes")
    assert done.returncode != 0
    assert "PYPI_PLATFORM_EXECUTOR must be one of default, k8s, got 'kubernetes'" in done.stderr
