-- The newest release upstream (before the mirror's filters), so the datasets can tell a project whose latest
-- release the mirror skipped from one it holds.
ALTER TABLE mirror.projects ADD COLUMN IF NOT EXISTS latest_version TEXT;

CREATE SCHEMA IF NOT EXISTS datasets;

-- The requirements read from the core metadata of each project's latest release, kept between runs so that an
-- hourly dependency_list reads only the releases that changed. ``fingerprint`` identifies the release's files.
CREATE TABLE IF NOT EXISTS datasets.releases_read (
    project     TEXT PRIMARY KEY,
    version     TEXT,
    fingerprint TEXT NOT NULL,
    read_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS datasets.release_dependencies (
    project     TEXT NOT NULL REFERENCES datasets.releases_read (project) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    version     TEXT,
    requirement TEXT,
    name        TEXT,
    specifier   TEXT,
    extras      TEXT[],
    marker      TEXT,
    extra       TEXT,
    source      TEXT,
    problem     TEXT,
    PRIMARY KEY (project, position)
);
