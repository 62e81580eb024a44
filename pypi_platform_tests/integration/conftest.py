"""A running Dagster deployment for the UI test: webserver and daemon on PostgreSQL, against real components.

The webserver and the daemon are subprocesses in a session of their own, so that every process they start
(code servers, run workers) can be found and stopped at teardown, even when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
import requests
import yaml
from dagster_graphql import DagsterGraphQLClient
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from pypi_platform_testkit.fake_index import FakeIndex
from pypi_platform_tests.fixtures.components import with_dbname

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
LOCATION = "pypi_platform"  # [tool.dg.project] code_location_name, as `dg dev` names it
PROJECTS = ("alpha", "beta", "gamma")
LOAD_TIMEOUT = 180.0
STOP_TIMEOUT = 20.0

WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack causes { message } }
          ... on RepositoryLocation { repositories { name } }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


@dataclass
class DagsterStack:
    """The started deployment: where it listens, how to talk to it, and its processes' logs."""

    url: str
    port: int
    home: Path
    logs: dict[str, Path]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    repository: str = ""

    @property
    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def log_tail(self, lines: int = 60) -> str:
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"----- {name} log ({path}), last {lines} lines -----\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}\n{self.log_tail()}", pytrace=False)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where the UI test leaves its screenshots and the processes' logs for a person to look at."""
    directory = Path(os.environ.get("PYPI_PLATFORM_TEST_ARTIFACTS") or REPO / "test-artifacts" / "ui")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeIndex]:
    """The index the deployment mirrors: three small projects, one depending on another."""
    with FakeIndex() as index:
        index.add_release("alpha", "1.0")
        index.add_release("alpha", "1.1")
        index.add_release("beta", "2.0", requires=["alpha>=1.0"])
        index.add_release("gamma", "0.3", wheel=False)
        yield index


def _create_database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(admin_dsn, name)


def _drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _dagster_pg_environment(dsn: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables the production dagster.yaml reads, naming the server and database of dsn."""
    info = conninfo_to_dict(dsn)
    host = str(info.get("host") or "")
    env = {
        "DAGSTER_PG_USERNAME": str(info.get("user") or "postgres"),
        "DAGSTER_PG_PASSWORD": str(info.get("password") or ""),
        "DAGSTER_PG_DB": str(info["dbname"]),
        "DAGSTER_PG_PORT": str(info.get("port") or 5432),
    }
    if host.startswith("/"):
        # A unix-socket server (the embedded one): a URL host cannot hold a path; libpq falls back to PGHOST.
        env.update(DAGSTER_PG_HOST="", PGHOST=host)
    else:
        env["DAGSTER_PG_HOST"] = host or "localhost"
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _session_members(session_id: int) -> list[int]:
    """Every live process in a session: the leaders we started and whatever they started in turn."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesized command: state ppid pgrp session ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def stop_sessions(processes: list[subprocess.Popen], timeout: float = STOP_TIMEOUT) -> None:
    """SIGINT to each process group (Dagster shuts down cleanly on it), then SIGKILL to anything left.

    Each process was started with start_new_session, so its pid is its session id, and the session holds
    every process it started, code servers and run workers included.
    """
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.poll() is not None and not _session_members(p.pid) for p in processes):
            break
        time.sleep(0.2)
    for process in processes:
        for pid in _session_members(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_until_loaded(stack: DagsterStack, timeout: float) -> str:
    """Poll the workspace until every code location is LOADED; the name of the location's repository."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            workspace = stack.graphql(WORKSPACE_QUERY)["workspaceOrError"]
        except (requests.RequestException, AssertionError) as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(1)
            continue
        if workspace["__typename"] != "Workspace":
            last = str(workspace)
        else:
            entries = workspace["locationEntries"]
            last = str([(entry["name"], entry["loadStatus"]) for entry in entries])
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                for entry in entries:
                    loaded = entry["locationOrLoadError"]
                    if loaded["__typename"] == "PythonError":
                        causes = "\n".join(f"caused by: {cause['message']}" for cause in loaded["causes"])
                        pytest.fail(
                            f"code location {entry['name']} failed to load: {loaded['message']}\n"
                            + f"{causes}\n{stack.log_tail()}",
                            pytrace=False,
                        )
                names = {entry["name"]: entry for entry in entries}
                assert LOCATION in names, f"no code location {LOCATION!r} in the workspace: {sorted(names)}"
                repositories = names[LOCATION]["locationOrLoadError"]["repositories"]
                assert len(repositories) == 1, f"{LOCATION} holds repositories {repositories}"
                return repositories[0]["name"]
        time.sleep(1)
    pytest.fail(
        f"the code location did not load within {timeout:.0f} s (last state: {last})\n{stack.log_tail()}",
        pytrace=False,
    )


def _write_instance(root: Path) -> tuple[Path, Path]:
    """DAGSTER_HOME with the production dagster.yaml, and a workspace naming the location as `dg dev` does."""
    home = root / "dagster_home"
    home.mkdir()
    instance = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert "postgres" in instance.get("storage", {}), (
        "the production dagster.yaml keeps its storage in PostgreSQL"
    )
    instance.update(telemetry={"enabled": False}, nux={"enabled": False})  # no first-visit modal in shots
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    workspace = root / "workspace.yaml"
    target = {
        "module_name": "pypi_platform.definitions",
        "location_name": LOCATION,
        "working_directory": str(REPO),
    }
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": target}]}))
    return home, workspace


@pytest.fixture(scope="module")
def dagster_stack(
    postgres_dsn: str,
    s3_endpoint: str,
    upstream: FakeIndex,
    artifacts_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DagsterStack]:
    """dagster-webserver and dagster-daemon on the production dagster.yaml, with PostgreSQL storage."""
    root = tmp_path_factory.mktemp("ui")
    suffix = uuid.uuid4().hex[:12]
    # Separate databases on one server: Dagster's tables and ours never mix; the platform migrates its own.
    platform_db, dagster_db = f"ui_platform_{suffix}", f"ui_dagster_{suffix}"
    home, workspace = _write_instance(root)
    port = _free_port()
    commands = {
        "webserver": [
            str(BIN / "dagster-webserver"),
            "-w",
            str(workspace),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        "daemon": [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
    }
    stack = DagsterStack(
        url=f"http://127.0.0.1:{port}",
        port=port,
        home=home,
        logs={name: artifacts_dir / f"{name}.log" for name in commands},
    )
    try:
        platform_dsn = _create_database(postgres_dsn, platform_db)
        dagster_dsn = _create_database(postgres_dsn, dagster_db)
        bucket = f"ui-{suffix}"
        boto3.session.Session().client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYPI_PLATFORM_", "DAGSTER_"))}
        assert env.get("AWS_ACCESS_KEY_ID"), "s3_endpoint puts moto's fake credentials in the environment"
        env.update(_dagster_pg_environment(dagster_dsn))
        env.update(
            DAGSTER_HOME=str(home),
            PYPI_PLATFORM_HOME=str(root / "platform_home"),
            PYPI_PLATFORM_DATABASE_URL=platform_dsn,
            PYPI_PLATFORM_STORAGE_URL=f"s3://{bucket}/platform",
            PYPI_PLATFORM_S3_ENDPOINT_URL=s3_endpoint,
            PYPI_PLATFORM_UPSTREAM_URL=upstream.url,
            PYPI_PLATFORM_MIRROR_PROJECTS=",".join(PROJECTS),
            PYPI_PLATFORM_MIRROR_WORKERS="4",
            PYTHONUNBUFFERED="1",
        )
        for name, command in commands.items():
            with stack.logs[name].open("wb") as log:
                stack.processes[name] = subprocess.Popen(
                    command,
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        stack.repository = _wait_until_loaded(stack, LOAD_TIMEOUT)
        yield stack
    finally:
        stop_sessions(list(stack.processes.values()))
        for name in (platform_db, dagster_db):
            _drop_database(postgres_dsn, name)
        shutil.rmtree(root, ignore_errors=True)
