"""What can be checked of deploy/ without Docker or a cluster: the files parse, agree with each other, and name
only images, commands, variables and settings that exist."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import click
import pytest
import yaml
from dagster._cli.code_server import start_command
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import validate_concurrency_config
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._daemon.cli import run_command
from dagster_webserver.cli import cli as webserver_cli

from pypi_platform.defs.executors import fan_out_executor
from pypi_platform.lib.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
OUR_IMAGE = "pypi-platform"
VARIABLE = re.compile(r"\b(?:PYPI_PLATFORM|DAGSTER_PG)_[A-Z0-9_]*[A-Z0-9]\b")


def _yaml(path: Path):
    with path.open() as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def compose() -> dict:
    return _yaml(DEPLOY / "docker-compose.yaml")


@pytest.fixture(scope="module")
def values() -> dict:
    return _yaml(DEPLOY / "helm" / "values.yaml")


@pytest.fixture(scope="module")
def deployment(values: dict) -> dict:
    (only,) = values["dagster-user-deployments"]["deployments"]
    return only


def _dockerfile_cmd() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    (cmd,) = re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    return json.loads(cmd)


def _option(args: list[str], *names: str) -> str:
    for index, arg in enumerate(args):
        if arg in names:
            return args[index + 1]
    raise AssertionError(f"none of {names} in {args}")


def _variables_the_project_reads() -> set[str]:
    """Every PYPI_PLATFORM_*/DAGSTER_PG_* name the configuration code and the instance file read."""
    sources = [ROOT / "pypi_platform" / "lib" / "config.py", ROOT / "pypi_platform" / "defs" / "executors.py"]
    known = {name for path in sources for name in VARIABLE.findall(path.read_text())}
    instance = (ROOT / "dagster.yaml").read_text()
    known |= set(re.findall(r"\{env:\s*([A-Z0-9_]+)\}", instance))
    return known


def _images(node) -> list[str]:
    """Every image a Helm values tree names: each mapping that has a repository and a tag."""
    found = []
    if isinstance(node, dict):
        if "repository" in node and "tag" in node:
            found.append(f"{node['repository']}:{node['tag']}")
        for child in node.values():
            found.extend(_images(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(_images(child))
    return found


def _host_path(service: dict, arg: str) -> str:
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./") and target == arg:
            return str(DEPLOY / source)
    return arg


def _assert_pinned(image: str) -> None:
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag and tag and tag != "latest", f"{image} is not pinned to a tag"


def _our_services(compose: dict) -> dict[str, dict]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service["image"].split(":")[0] == OUR_IMAGE
    }


def test_the_files_parse_into_the_expected_shapes(compose: dict, values: dict) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "minio",
        "create-bucket",
        "code-location",
        "webserver",
        "daemon",
    }
    assert set(_our_services(compose)) == {"code-location", "webserver", "daemon"}
    assert values["postgresql"]["enabled"] is False
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagster-user-deployments"]["enabled"] is True


def test_every_image_is_pinned_to_a_tag(compose: dict, values: dict) -> None:
    compose_images = [service["image"] for service in compose["services"].values()]
    helm_images = _images(values)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert len(helm_images) == 3 and bases
    for image in [*compose_images, *helm_images, *bases]:
        _assert_pinned(image)
    # Webserver, daemon and code location run one image, so one Dagster version.
    assert len({image for image in helm_images}) == 1


def test_dagster_commands_exist_and_accept_their_arguments(compose: dict, deployment: dict) -> None:
    """Each command's executable is in the project's environment, and its own CLI parses the arguments."""
    parsers = {
        ("dagster", "code-server", "start"): start_command,
        ("dagster-webserver",): webserver_cli,
        ("dagster-daemon", "run"): run_command,
    }
    # A path the compose file mounts from deploy/ is checked against the file itself.
    commands = [
        [_host_path(service, arg) for arg in service["command"]]
        for service in _our_services(compose).values()
    ]
    commands.append(_dockerfile_cmd())
    # The chart runs `dagster code-server start -h 0.0.0.0 -p <port>` and appends codeServerArgs.
    commands.append(
        ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", str(deployment["port"])]
        + deployment["codeServerArgs"]
    )
    for command in commands:
        assert (BIN / command[0]).is_file(), f"{command[0]} is not installed in {BIN}"
        prefix = next(prefix for prefix in parsers if tuple(command[: len(prefix)]) == prefix)
        parsers[prefix].make_context(" ".join(prefix), list(command[len(prefix) :]))
    with pytest.raises(click.UsageError):  # the check above can fail
        start_command.make_context("start", ["-p", "4000", "--no-such-option"])


def test_every_variable_named_is_one_the_project_reads(compose: dict) -> None:
    known = _variables_the_project_reads()
    assert {"PYPI_PLATFORM_STORAGE_URL", "PYPI_PLATFORM_EXECUTOR", "DAGSTER_PG_PASSWORD"} <= known
    for path in (DEPLOY / "docker-compose.yaml", DEPLOY / "helm" / "values.yaml", DEPLOY / ".env.example"):
        named = set(VARIABLE.findall(path.read_text()))
        assert named, path
        assert named <= known, f"{path.name} names variables the project never reads: {sorted(named - known)}"
    # And the other way round: every variable dagster.yaml needs is given to every Dagster container.
    instance = set(re.findall(r"\{env:\s*([A-Z0-9_]+)\}", (ROOT / "dagster.yaml").read_text()))
    for name, service in _our_services(compose).items():
        assert instance <= set(service["environment"]), name


def test_the_settings_given_to_the_code_location_load(
    compose: dict, deployment: dict, tmp_path: Path
) -> None:
    """The connection settings of both deployments pass the project's own validation."""
    service = compose["services"]["code-location"]
    compose_env = {key: str(value) for key, value in service["environment"].items()}
    settings = load_settings(compose_env, cwd=tmp_path)
    assert settings.storage_url.startswith("s3://") and settings.s3_endpoint_url == "http://minio:9000"
    assert urlparse(settings.database_url).hostname == "postgres"
    assert fan_out_executor(settings.executor) is None  # one host: Dagster's default executor
    helm_env = {key: str(value) for key, value in deployment["env"].items()}
    settings = load_settings(helm_env, cwd=tmp_path)
    assert settings.storage_url.startswith("s3://") and settings.database_url
    assert fan_out_executor(settings.executor).name == "k8s"
    # Both keep the platform's home on the volume mounted for it.
    mounts = [volume.split(":")[1] for volume in service["volumes"]]
    assert compose_env["PYPI_PLATFORM_HOME"] in mounts
    assert helm_env["PYPI_PLATFORM_HOME"] in [mount["mountPath"] for mount in deployment["volumeMounts"]]


def test_the_bucket_created_is_the_bucket_used(compose: dict) -> None:
    storage = urlparse(compose["services"]["code-location"]["environment"]["PYPI_PLATFORM_STORAGE_URL"])
    (script,) = compose["services"]["create-bucket"]["command"]
    assert re.search(rf"mc mb --ignore-existing store/{re.escape(storage.netloc)}\b", script)


def test_the_ports_and_the_location_agree(compose: dict, deployment: dict) -> None:
    dockerfile_cmd = _dockerfile_cmd()
    code_location = compose["services"]["code-location"]
    assert code_location["command"] == dockerfile_cmd
    port = int(_option(dockerfile_cmd, "-p", "--port"))
    assert deployment["port"] == port
    assert f"EXPOSE {port}" in (DEPLOY / "Dockerfile").read_text()
    (origin,) = location_origins_from_yaml_paths([str(DEPLOY / "workspace.yaml")])
    assert (origin.host, origin.port) == ("code-location", port)
    assert origin.location_name == _option(dockerfile_cmd, "--location-name") == "pypi_platform"
    assert _option(deployment["codeServerArgs"], "--location-name") == deployment["name"]
    for name in ("webserver", "daemon"):
        workspace = _option(compose["services"][name]["command"], "-w", "--workspace")
        assert f"./workspace.yaml:{workspace}:ro" in compose["services"][name]["volumes"]


def test_the_image_installs_the_k8s_extra_and_the_instance() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"""pip install ["']?\.\[k8s\]""", dockerfile)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("dagster-k8s") for requirement in extras["k8s"])
    home = re.search(r"DAGSTER_HOME=(\S+)", dockerfile).group(1)
    assert re.search(r"^COPY dagster.yaml \$\{DAGSTER_HOME\}/dagster.yaml$", dockerfile, re.MULTILINE)
    assert _yaml(DEPLOY / "helm" / "values.yaml")["global"]["dagsterHome"] == home
    assert re.search(r"^USER (?!root)\S+$", dockerfile, re.MULTILINE)


def test_the_build_context_leaves_local_state_out() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".venv", ".bench", ".pypi_platform", ".git", "deploy/.env"} <= ignored
    copied = re.findall(
        r"^COPY\s+(?:--\S+\s+)*(.+?)\s+\S+$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE
    )
    for sources in copied:
        for source in sources.split():
            assert source not in ignored and (ROOT / source).exists(), source


def test_helm_queue_and_pool_limits_match_the_one_host_instance(values: dict) -> None:
    instance = _yaml(ROOT / "dagster.yaml")["concurrency"]
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == instance["runs"]["max_concurrent_runs"]
    assert concurrency["pools"]["defaultLimit"] == instance["pools"]["default_limit"]
    assert concurrency["pools"]["granularity"] == instance["pools"]["granularity"]
    assert concurrency["runs"]["tagConcurrencyLimits"] == instance["runs"]["tag_concurrency_limits"]
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator" and "config" not in coordinator


def test_dagster_refuses_run_coordinator_limits_next_to_pools() -> None:
    """Why the values keep the queue's config empty: the chart would write max_concurrent_runs, Dagster refuses."""
    rendered = {
        "run_coordinator": {"class": "QueuedRunCoordinator", "config": {"max_concurrent_runs": -1}},
        "concurrency": {"pools": {"default_limit": 4}},
    }
    with pytest.raises(DagsterInvalidConfigError, match="incompatible"):
        validate_concurrency_config(rendered)
    validate_concurrency_config({**rendered, "run_coordinator": {"class": "QueuedRunCoordinator"}})


def test_the_root_workspace_loads(tmp_path: Path) -> None:
    """The repository's workspace.yaml loads its code location in process, with Dagster's own validator."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYPI_PLATFORM_", "DAGSTER_"))
    }
    env.update(DAGSTER_HOME=str(tmp_path), PYPI_PLATFORM_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All code locations passed validation" in done.stdout + done.stderr
