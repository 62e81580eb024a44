"""The platform as an operator uses it: the Dagster webserver and daemon on PostgreSQL, driven over GraphQL
and through the UI in headless Chromium.

The mirror job syncs the local index, a three-day backfill loads download statistics, then the asset graph
shows every group and the assets' pages show what was materialized. Screenshots land in the artifacts
directory (PYPI_PLATFORM_TEST_ARTIFACTS, default test-artifacts/ui/), beside the processes' logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterRunStatus
from playwright.sync_api import Page, expect, sync_playwright

from pypi_platform_tests.fixtures.browser import CHROMIUM_ARGS
from pypi_platform_tests.integration.conftest import LOCATION, DagsterStack

# DagsterGraphQLClient passes variables to gql the way gql has deprecated; not ours to change.
pytestmark = pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning")

RUN_TIMEOUT = 180.0
UI_TIMEOUT_MS = 60_000
GROUPS = ("mirror", "downloads", "datasets", "scans", "corpus")

RUN_EVENTS = """
query RunEvents($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ExecutionStepFailureEvent { error { message stack } }
        ... on RunFailureEvent { error { message } }
      }
    }
    ... on PythonError { message }
  }
}
"""

LAUNCH_BACKFILL = """
mutation LaunchBackfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
  }
}
"""

BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      partitionNames
      error { message }
      runs(limit: 10) { runId status }
    }
    ... on PythonError { message }
  }
}
"""


def _run_errors(stack: DagsterStack, run_id: str) -> str:
    """The errors and warnings in a run's event log, for a failure message."""
    logs = stack.graphql(RUN_EVENTS, {"runId": run_id})["logsForRun"]
    lines = []
    for event in logs.get("events") or []:
        if event.get("error"):
            error = event["error"]
            stack_trace = "".join(error.get("stack") or [])
            lines.append(f"{event['__typename']}: {error['message']}\n{stack_trace}")
        elif event.get("level") in ("ERROR", "CRITICAL", "WARNING"):
            lines.append(f"{event['level']} {event.get('stepKey') or ''}: {event['message']}")
    return f"----- run {run_id} -----\n" + ("\n".join(lines) or str(logs))


def _wait_for_run(stack: DagsterStack, run_id: str, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        stack.check_alive()
        status = stack.client.get_run_status(run_id)
        if status == DagsterRunStatus.SUCCESS:
            return
        if status in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            break
        time.sleep(1)
    raise AssertionError(
        f"run {run_id} is {status} (waited up to {timeout:.0f} s)\n{_run_errors(stack, run_id)}\n"
        f"{stack.log_tail()}"
    )


def _wait_for_backfill(stack: DagsterStack, backfill_id: str, timeout: float = RUN_TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    backfill: dict = {}
    while time.monotonic() < deadline:
        stack.check_alive()
        backfill = stack.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        # Asset backfills end COMPLETED_SUCCESS in this Dagster; job backfills end COMPLETED.
        if backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"):
            return backfill
        if backfill["status"] in ("FAILED", "FAILING", "COMPLETED_FAILED", "CANCELED", "CANCELING"):
            break
        time.sleep(1)
    errors = "\n".join(_run_errors(stack, run["runId"]) for run in backfill.get("runs") or [])
    raise AssertionError(
        f"backfill {backfill_id} did not complete within {timeout:.0f} s: {backfill}\n{errors}\n"
        f"{stack.log_tail()}"
    )


@pytest.mark.timeout(600)  # for the whole item: the deployment starts and stops within it
def test_ui_end_to_end(dagster_stack: DagsterStack, chromium: Path, artifacts_dir: Path) -> None:
    stack = dagster_stack

    # The mirror job, through Dagster's GraphQL client; the daemon's run queue launches it.
    mirror_run = stack.client.submit_job_execution(
        "mirror_sync_job", repository_location_name=LOCATION, repository_name=stack.repository
    )
    _wait_for_run(stack, mirror_run)

    # Three days of download statistics as a backfill; the single-run backfill policy makes it one run.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = [(yesterday - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    launched = stack.graphql(
        LAUNCH_BACKFILL,
        {"params": {"partitionNames": days, "assetSelection": [{"path": ["daily_downloads"]}]}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill = _wait_for_backfill(stack, launched["backfillId"])
    assert sorted(backfill["partitionNames"]) == days
    assert [run["status"] for run in backfill["runs"]] == ["SUCCESS"], backfill["runs"]

    def look(page: Page, path: str, name: str, check: Callable[[Page], None]) -> None:
        """Open a page, check it, and keep a screenshot of what it showed, even when a check fails."""
        page.goto(stack.url + path, wait_until="domcontentloaded")
        try:
            check(page)
        finally:
            page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)

    def asset_graph(page: Page) -> None:
        # Group nodes are drawn inside the graph's SVG; the sidebar lists the same names outside it.
        graph = page.locator("svg")
        for group in GROUPS:
            expect(graph.get_by_text(group, exact=True), f"group {group} on the asset graph").to_be_visible()

    def mirror_overview(page: Page) -> None:
        expect(page.get_by_text("Latest materialization", exact=True)).to_be_visible()
        # The metadata of the latest materialization, as the asset reported it.
        expect(page.get_by_text("projects_checked", exact=True).first).to_be_visible()
        expect(page.get_by_text("simple_index", exact=True).first).to_be_visible()

    def mirror_events(page: Page) -> None:
        link = page.locator(f'a[href^="/runs/{mirror_run}"]')
        expect(link.first, "the materialization links the mirror run").to_be_visible()
        expect(link.first).to_have_text(mirror_run[:8])

    def daily_partitions(page: Page) -> None:
        expect(page.get_by_text("Materialized (3)", exact=True)).to_be_visible()
        for day in days:
            expect(page.get_by_text(day, exact=True).first).to_be_visible()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            expect.set_options(timeout=UI_TIMEOUT_MS)
            look(page, "/asset-groups", "asset-graph", asset_graph)
            look(page, "/assets/mirror", "mirror-overview", mirror_overview)
            look(page, "/assets/mirror?view=events", "mirror-events", mirror_events)
            look(
                page,
                "/assets/daily_downloads?view=partitions",
                "daily-downloads-partitions",
                daily_partitions,
            )
        finally:
            browser.close()
