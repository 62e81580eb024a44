CREATE SCHEMA IF NOT EXISTS scans;

-- What the scanner found in one release file under one ruleset: an unchanged file is never analysed twice.
CREATE TABLE IF NOT EXISTS scans.file_results (
    sha256     TEXT NOT NULL,
    ruleset    TEXT NOT NULL,
    result     JSONB NOT NULL,
    scanned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, ruleset)
);

-- One record per input package and scan date, replaced bucket by bucket in one transaction.
CREATE TABLE IF NOT EXISTS scans.package_results (
    scan_date  DATE NOT NULL,
    bucket     SMALLINT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT,
    status     TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    duration   DOUBLE PRECISION NOT NULL,
    score      REAL,
    record     JSONB NOT NULL,
    PRIMARY KEY (scan_date, name)
);
CREATE INDEX IF NOT EXISTS package_results_bucket ON scans.package_results (scan_date, bucket);

-- The buckets of a scan date that finished, with the projects they set out to scan.
CREATE TABLE IF NOT EXISTS scans.buckets (
    scan_date      DATE NOT NULL,
    bucket         SMALLINT NOT NULL,
    input_packages TEXT[] NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scan_date, bucket)
);
