-- What operators look at when something fails: every failed Dagster run, recorded by the run-failure sensor.
CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE IF NOT EXISTS ops.run_failures (
    run_id        TEXT PRIMARY KEY,               -- a run is recorded once, however often the sensor sees it
    job_name      TEXT NOT NULL,
    partition_key TEXT,                           -- the partition or range the run was for, if any
    failed_at     TIMESTAMPTZ NOT NULL,
    failed_steps  TEXT[] NOT NULL DEFAULT '{}',
    message       TEXT NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS run_failures_recent ON ops.run_failures (failed_at DESC);
