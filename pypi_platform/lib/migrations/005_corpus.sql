CREATE SCHEMA IF NOT EXISTS corpus;

-- One row per shard (pypi-mirror-N). `head` is the commit its branch must point at: after a crash between
-- writing commits and recording them here, the database wins and the branch is moved back.
CREATE TABLE IF NOT EXISTS corpus.shards (
    number     INTEGER PRIMARY KEY CHECK (number >= 1),
    capacity   INTEGER NOT NULL CHECK (capacity >= 1),
    files      INTEGER NOT NULL DEFAULT 0,  -- distribution files assigned to it: committed or skipped
    head       TEXT,
    closed_at  TIMESTAMPTZ,                 -- set when full: a closed shard is never written again
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every mirrored distribution file the corpus has handled. Committed and skipped files belong to a shard at a
-- position; a failed one (its bytes could not be fetched) has no shard and is planned again on the next run.
CREATE TABLE IF NOT EXISTS corpus.files (
    project       TEXT NOT NULL,
    filename      TEXT NOT NULL,
    shard         INTEGER REFERENCES corpus.shards (number),
    position      INTEGER,                  -- 1-based order inside the shard
    status        TEXT NOT NULL CHECK (status IN ('committed', 'skipped', 'failed')),
    reason        TEXT NOT NULL DEFAULT '',  -- archive-level skip reason, or the failure
    commit_id     TEXT,
    members       INTEGER NOT NULL DEFAULT 0,
    rules_version TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project, filename),
    CHECK ((status = 'failed') = (shard IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS files_position ON corpus.files (shard, position) WHERE shard IS NOT NULL;

-- The language features of each unique Python blob, parsed once per parser.
CREATE TABLE IF NOT EXISTS corpus.blob_features (
    oid       BYTEA NOT NULL,
    parser    TEXT NOT NULL,
    status    TEXT NOT NULL,
    features  TEXT[] NOT NULL,
    lines     INTEGER NOT NULL,
    parsed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (oid, parser)
);
