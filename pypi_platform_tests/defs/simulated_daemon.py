"""What the Dagster daemon does, done in-process on a real instance, tick by tick, for a simulated clock.

The daemon evaluates each running schedule at each of its cron ticks, each running sensor with its cursor (the
sensors running by default included), and the automation conditions with theirs (``automation_sensor``); it
launches what they request, skipping a run key already launched by the same schedule or sensor, retries a
failed run once (``run_retries`` of dagster.yaml, which an in-process run does not apply by itself), and
``run_failure_sensor`` records each failure. Here every launch is ``execute_in_process`` on the project's own
definitions, one after the other (the pools and run limits would order them too), and each run carries the tags
the daemon gives it, so a run without one of them was launched by hand.

Where this differs from the daemon, to keep a simulated week to about two minutes: sensors and automation are
evaluated when the caller wakes the daemon and a schedule launched a run (or hourly schedules were asked for),
not every minute; an hourly schedule runs only its latest tick, and only when asked; automation requests of
several partitions run one by one instead of as a backfill.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg
from dagster._core.definitions.automation_tick_evaluation_context import build_run_requests
from dagster._core.storage.tags import (
    AUTOMATION_CONDITION_TAG,
    PARENT_RUN_ID_TAG,
    RETRY_NUMBER_TAG,
    RUN_KEY_TAG,
    SCHEDULE_NAME_TAG,
    SENSOR_NAME_TAG,
)
from dagster._utils.schedules import cron_string_iterator

from pypi_platform.defs.ops.sensors import run_failure_sensor

AUTOMATION_SENSOR = "automation_sensor"
MAX_RETRIES = 1  # dagster.yaml's run_retries.max_retries
DAEMON_TAGS = (SCHEDULE_NAME_TAG, SENSOR_NAME_TAG)


@dataclass
class Launch:
    """One run the daemon launched: who asked for it, and how it ended."""

    origin: str
    run_id: str
    success: bool
    at: datetime
    partition: str | None


@dataclass
class SimulatedDaemon:
    definitions: dg.Definitions
    instance: dg.DagsterInstance
    schedules: list[str]
    sensors: list[str]
    hourly: set[str] = field(default_factory=set)  # schedules that run only their latest tick, when asked
    hourly_done: dict[str, datetime] = field(default_factory=dict)
    cursors: dict[str, str | None] = field(default_factory=dict)
    automation_cursor: object = None
    launches: list[Launch] = field(default_factory=list)
    skipped: list[tuple[datetime, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # What runs without an operator: sensors running by default, besides the two evaluated apart here.
        for sensor in self.definitions.get_repository_def().sensor_defs:
            running = sensor.default_status == dg.DefaultSensorStatus.RUNNING
            if running and sensor.name not in {*self.sensors, AUTOMATION_SENSOR, run_failure_sensor.name}:
                self.sensors.append(sensor.name)

    def tick(self, previous: datetime, now: datetime, hourly: bool = True) -> None:
        """Everything the daemon does in (previous, now]: schedule ticks in time order, then one evaluation
        of each sensor and of the automation conditions (unless no schedule launched a run and ``hourly`` is
        false). An hourly schedule runs its latest tick since it last ran, and only when ``hourly``: each tick
        of it would cost seconds of runs."""
        # In a copy of the context: the evaluations open instances, each setting Dagster's current state
        # storage in a context variable, and one was left set after its instance closed, which broke every
        # later test that loads definitions ("undefined DagsterInstance weakref").
        contextvars.copy_context().run(self._tick, previous, now, hourly)

    def _tick(self, previous: datetime, now: datetime, hourly: bool) -> None:
        due = []
        for name in self.schedules:
            if name in self.hourly:
                if hourly:
                    since = self.hourly_done.get(name, previous)
                    due += [(moment, name) for moment in _cron_ticks(self._schedule(name), since, now)[-1:]]
                    self.hourly_done[name] = now
            else:
                due += [(moment, name) for moment in _cron_ticks(self._schedule(name), previous, now)]
        launched = len(self.launches)
        for moment, name in sorted(due):
            self._evaluate_schedule(name, moment)
        # Sensors and conditions follow what ran: a schedule tick that skipped changed nothing for them.
        if hourly or len(self.launches) > launched:
            for name in self.sensors:
                self._evaluate_sensor(name)
            self._evaluate_automation(now)

    def schedule_ticks(self, previous: datetime, now: datetime) -> list[datetime]:
        """The ticks in (previous, now] of the schedules that are not hourly."""
        ticks = {
            moment
            for name in self.schedules
            if name not in self.hourly
            for moment in _cron_ticks(self._schedule(name), previous, now)
        }
        return sorted(ticks)

    def _schedule(self, name: str) -> dg.ScheduleDefinition:
        return self.definitions.resolve_schedule_def(name)

    def _evaluate_schedule(self, name: str, moment: datetime) -> None:
        schedule = self.definitions.resolve_schedule_def(name)
        context = dg.build_schedule_context(
            instance=self.instance,
            scheduled_execution_time=moment,
            repository_def=self.definitions.get_repository_def(),
        )
        data = schedule.evaluate_tick(context)
        if data.skip_message:
            self.skipped.append((moment, name, data.skip_message))
        for request in data.run_requests or []:
            self._launch(
                request,
                schedule.job_name,
                origin=name,
                tags={SCHEDULE_NAME_TAG: name},
                tag_key=SCHEDULE_NAME_TAG,
            )

    def _evaluate_sensor(self, name: str) -> None:
        sensor = self.definitions.resolve_sensor_def(name)
        # By its ref, as the daemon passes it: only then are the shards a sensor adds known to its requests.
        with dg.build_sensor_context(
            instance_ref=self.instance.get_ref(),
            cursor=self.cursors.get(name),
            sensor_name=name,
            resources=self.definitions.resources,
            repository_def=self.definitions.get_repository_def(),
        ) as context:
            data = sensor.evaluate_tick(context)
        for request in data.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        self.cursors[name] = data.cursor
        for request in data.run_requests or []:
            job = request.job_name or sensor.job_name  # an asset-selection sensor has an anonymous job
            self._launch(request, job, origin=name, tags={SENSOR_NAME_TAG: name}, tag_key=SENSOR_NAME_TAG)

    def _evaluate_automation(self, now: datetime) -> None:
        result = dg.evaluate_automation_conditions(
            defs=self.definitions, instance=self.instance, cursor=self.automation_cursor, evaluation_time=now
        )
        self.automation_cursor = result.cursor
        tags = {SENSOR_NAME_TAG: AUTOMATION_SENSOR, AUTOMATION_CONDITION_TAG: "true"}
        # The requested partitions grouped into runs as the automation sensor groups them (one run per
        # partition, or per range under a single-run backfill policy); backfills are not emitted here.
        requests = build_run_requests(
            result._requested_subsets,  # the daemon groups these subsets into runs
            self.definitions.resolve_asset_graph(),
            run_tags=tags,
            emit_backfills=False,
        )
        for request in requests:
            self._launch(request, None, origin=AUTOMATION_SENSOR, tags=tags, tag_key=None)

    def _launch(
        self, request: dg.RunRequest, job_name: str | None, origin: str, tags: dict, tag_key: str | None
    ) -> None:
        if request.run_key and tag_key and self._run_key_used(request.run_key, tag_key, origin):
            return
        run_tags = {**request.tags, **tags, **({RUN_KEY_TAG: request.run_key} if request.run_key else {})}
        self._execute(request, job_name, origin, run_tags)

    def _execute(self, request: dg.RunRequest, job_name: str | None, origin: str, tags: dict) -> None:
        if job_name is None:
            job = self.definitions.resolve_implicit_global_asset_job_def()
            selection = list(request.asset_selection or [])
        else:
            job = self.definitions.get_repository_def().get_job(job_name)
            selection = None
            if request.asset_check_keys is not None:  # only the checks asked for, as the daemon subsets
                job = job.get_subset(
                    asset_selection=set(), asset_check_selection=set(request.asset_check_keys)
                )
        partition = request.partition_key
        result = job.execute_in_process(
            instance=self.instance,
            partition_key=partition,
            asset_selection=selection,
            tags=tags,
            raise_on_error=False,
        )
        now = datetime.now(UTC)
        self.launches.append(Launch(origin, result.run_id, result.success, now, partition))
        if result.success:
            return
        self._sense_failure(result.run_id)
        retries = int(tags.get(RETRY_NUMBER_TAG, "0"))
        if retries < MAX_RETRIES:
            retry = {**tags, RETRY_NUMBER_TAG: str(retries + 1), PARENT_RUN_ID_TAG: result.run_id}
            retry.pop(RUN_KEY_TAG, None)
            self._execute(request, job_name, origin, retry)

    def _run_key_used(self, run_key: str, tag_key: str, origin: str) -> bool:
        filters = dg.RunsFilter(tags={RUN_KEY_TAG: run_key, tag_key: origin})
        return bool(self.instance.get_run_ids(filters=filters, limit=1))

    def _sense_failure(self, run_id: str) -> None:
        """run_failure_sensor (running by default) sees the failed run."""
        run = self.instance.get_run_by_id(run_id)
        (failure,) = [
            record.event_log_entry.dagster_event
            for record in self.instance.get_records_for_run(run_id).records
            if record.event_log_entry.dagster_event is not None
            and record.event_log_entry.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
        ]
        resources = {"postgres": self.definitions.resources["postgres"]}
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_sensor",
            dagster_instance=self.instance,
            dagster_run=run,
            dagster_event=failure,
            resources=resources,
        ).for_run_failure()
        run_failure_sensor(context)


def _cron_ticks(schedule: dg.ScheduleDefinition, previous: datetime, now: datetime) -> list[datetime]:
    ticks = []
    for moment in cron_string_iterator(
        previous.timestamp(), schedule.cron_schedule, schedule.execution_timezone or "UTC"
    ):
        if moment > now:
            break
        if moment > previous:
            ticks.append(moment.astimezone(UTC))
    return ticks


def runs_by_hand(instance: dg.DagsterInstance, since: datetime) -> list[str]:
    """The runs created after ``since`` that no schedule or sensor launched."""
    records = instance.get_run_records(filters=dg.RunsFilter(created_after=since))
    return [
        f"{record.dagster_run.job_name} ({record.dagster_run.run_id})"
        for record in records
        if not any(tag in record.dagster_run.tags for tag in DAEMON_TAGS)
    ]
