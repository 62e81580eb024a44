-- Download statistics, one table per dimension, keyed (date, package, category) as pypistats.org keys them.
-- Each table is partitioned by day: replacing a day truncates and refills its partition, retention drops one.
CREATE SCHEMA IF NOT EXISTS downloads;

DO $$
DECLARE
    dimension TEXT;
BEGIN
    FOREACH dimension IN ARRAY ARRAY['overall', 'python_major', 'python_minor', 'system',
                                     'installer', 'country', 'version', 'ci']
    LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS downloads.%I (
                 date      DATE   NOT NULL,
                 package   TEXT   NOT NULL,
                 category  TEXT   NOT NULL,
                 downloads BIGINT NOT NULL CHECK (downloads >= 0),
                 PRIMARY KEY (date, package, category)
             ) PARTITION BY RANGE (date)', dimension);
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON downloads.%I (package)', dimension || '_package', dimension);
    END LOOP;
END
$$;

-- Last day, week and month per package, from overall/without_mirrors, as pypistats.org's `recent`.
CREATE TABLE IF NOT EXISTS downloads.recent (
    package   TEXT   NOT NULL,
    category  TEXT   NOT NULL CHECK (category IN ('day', 'week', 'month')),
    downloads BIGINT NOT NULL,
    PRIMARY KEY (package, category)
);

-- Every loaded day with what its load saw, for checks, freshness and audits.
CREATE TABLE IF NOT EXISTS downloads.loaded_days (
    date             DATE PRIMARY KEY,
    loaded_at        TIMESTAMPTZ NOT NULL,
    source           TEXT NOT NULL,
    semantics        TEXT NOT NULL,
    rows_in_window   BIGINT,
    dropped_python   BIGINT,
    dropped_package  BIGINT,
    bytes_scanned    BIGINT
);
