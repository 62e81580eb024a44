-- Mirror state: what every downstream asset reads to know what the mirror holds.
CREATE SCHEMA IF NOT EXISTS mirror;

CREATE TABLE IF NOT EXISTS mirror.projects (
    name               TEXT PRIMARY KEY,          -- PEP 503 normalized
    display_name       TEXT NOT NULL,             -- spelling the upstream uses
    serial             BIGINT,                    -- NULL = unknown (an HTML-only index), never 0
    status             TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'removed')),
    error              TEXT,
    failures           INTEGER NOT NULL DEFAULT 0,   -- consecutive failed attempts
    etag               TEXT,                      -- validators of the upstream project page
    last_modified      TEXT,
    page_sha256        TEXT,
    filter_fingerprint TEXT,
    synced_at          TIMESTAMPTZ,               -- last time its pages were published
    checked_at         TIMESTAMPTZ,
    removed_at         TIMESTAMPTZ
);

-- One row per release file the mirror publishes (or published: removed_at marks files gone upstream).
CREATE TABLE IF NOT EXISTS mirror.files (
    project         TEXT NOT NULL REFERENCES mirror.projects (name),
    filename        TEXT NOT NULL,
    version         TEXT,
    packagetype     TEXT,
    size            BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    md5             TEXT,
    upload_time     TIMESTAMPTZ,
    requires_python TEXT,
    yanked          BOOLEAN NOT NULL DEFAULT FALSE,
    yanked_reason   TEXT,
    object_key      TEXT NOT NULL,
    metadata_sha256 TEXT,                          -- PEP 658 sidecar published beside the file, if any
    removed_at      TIMESTAMPTZ,
    PRIMARY KEY (project, filename)
);
CREATE INDEX IF NOT EXISTS files_live ON mirror.files (project) WHERE removed_at IS NULL;

-- Every verified object in the store. Written as soon as an upload is verified, before the project's pages,
-- so a sync killed midway resumes without downloading anything again.
CREATE TABLE IF NOT EXISTS mirror.blobs (
    object_key     TEXT PRIMARY KEY,
    sha256         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    stored_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    unreferenced_at TIMESTAMPTZ                     -- set when no live file points here; deleted after a grace period
);

-- Each sync run with its report, so the history is queryable outside Dagster too.
CREATE TABLE IF NOT EXISTS mirror.sync_runs (
    id               BIGSERIAL PRIMARY KEY,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    upstream         TEXT NOT NULL,
    projects_checked INTEGER,
    projects_changed INTEGER,
    projects_failed  INTEGER,
    projects_removed INTEGER,
    files_fetched    INTEGER,
    bytes_fetched    BIGINT
);
CREATE INDEX IF NOT EXISTS files_object_key ON mirror.files (object_key);
