-- Run once, when the compose stack's PostgreSQL volume is first created. POSTGRES_DB creates Dagster's database
-- ("dagster" unless DAGSTER_PG_DB says otherwise); the platform's own data gets a database of its own.
CREATE DATABASE pypi_platform;
