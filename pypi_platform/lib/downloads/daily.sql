-- One UTC day of download logs aggregated server-side into the DAILY_FRAME shape (pypistats.org's rules or our
-- corrected ones), plus three bookkeeping rows under dimension '_counts' (rows_in_window, dropped_package,
-- dropped_python) so that one scan also yields the reconciliation figures: a second query would bill the same
-- leaves again.
--
-- This is a string.Template rendered by bigquery_sql.render_daily_sql: a table name cannot be a query parameter
-- and an IN list of parameters is awkward, so the table, the mirror names and one boolean are substituted with
-- validated values. The window bounds stay query parameters (TIMESTAMP, half-open).
WITH leaves AS (
  -- Leaf columns only (nested fields bill per leaf); the timestamp range prunes to one day's partition.
  SELECT
    LOWER(REGEXP_REPLACE(file.project, r'[-_.]+', '-')) AS package,
    file.version AS version,
    country_code AS country,
    details.installer.name AS installer,
    details.python AS python,
    details.system.name AS system_name,
    details.ci AS ci
  FROM `$table`
  WHERE timestamp >= @start AND timestamp < @end
),

flagged AS (
  -- The package rule is checked first, so every row in the window is either dropped once or in the base set.
  SELECT
    *,
    CASE
      WHEN package IS NULL OR LENGTH(package) > 128 THEN 'dropped_package'
      WHEN python IS NOT NULL AND NOT REGEXP_CONTAINS(python, r'^[0-9]\.[0-9]+') THEN 'dropped_python'
    END AS dropped
  FROM leaves
),

scoped AS (
  SELECT
    *,
    dropped IS NULL AS in_base,
    -- pypistats relies on NOT IN being NULL for a NULL installer, which leaves those rows out; the corrected
    -- definition counts them explicitly.
    dropped IS NULL
    AND (installer NOT IN ($mirrors) OR (installer IS NULL AND $null_installer_is_not_mirror)) AS in_without
  FROM flagged
),

labelled AS (
  -- One label per dimension; SQL NULL means "this row does not count here" ('null' is a real category).
  SELECT
    package,
    dropped,
    IF(in_base, 'with_mirrors', NULL) AS with_mirrors,
    IF(in_without, 'without_mirrors', NULL) AS without_mirrors,
    IF(in_without, COALESCE(SPLIT(python, '.')[SAFE_OFFSET(0)], 'null'), NULL) AS by_python_major,
    IF(in_without, COALESCE(REGEXP_EXTRACT(python, r'^[0-9]+\.[0-9]+'), 'null'), NULL) AS by_python_minor,
    IF(
      in_without,
      CASE
        WHEN system_name IN ('Windows', 'Linux', 'Darwin') THEN system_name
        WHEN system_name IS NULL THEN 'null'
        ELSE 'other'
      END,
      NULL
    ) AS by_system,
    IF(in_base, COALESCE(installer, 'null'), NULL) AS by_installer,
    IF(in_base, COALESCE(country, 'null'), NULL) AS by_country,
    IF(in_base, COALESCE(version, 'null'), NULL) AS by_version,
    IF(in_base, CASE WHEN ci THEN 'true' WHEN NOT ci THEN 'false' ELSE 'null' END, NULL) AS by_ci
  FROM scoped
),

grouped AS (
  -- One grouping set per dimension (a cube over all of them would explode), one for the drop reasons and the
  -- empty set for the number of rows in the window.
  SELECT
    CASE
      WHEN GROUPING(with_mirrors) = 0 OR GROUPING(without_mirrors) = 0 THEN 'overall'
      WHEN GROUPING(by_python_major) = 0 THEN 'python_major'
      WHEN GROUPING(by_python_minor) = 0 THEN 'python_minor'
      WHEN GROUPING(by_system) = 0 THEN 'system'
      WHEN GROUPING(by_installer) = 0 THEN 'installer'
      WHEN GROUPING(by_country) = 0 THEN 'country'
      WHEN GROUPING(by_version) = 0 THEN 'version'
      WHEN GROUPING(by_ci) = 0 THEN 'ci'
      ELSE '_counts'
    END AS dimension,
    IF(GROUPING(package) = 0, package, '__all__') AS package,
    CASE
      WHEN GROUPING(with_mirrors) = 0 THEN with_mirrors
      WHEN GROUPING(without_mirrors) = 0 THEN without_mirrors
      WHEN GROUPING(by_python_major) = 0 THEN by_python_major
      WHEN GROUPING(by_python_minor) = 0 THEN by_python_minor
      WHEN GROUPING(by_system) = 0 THEN by_system
      WHEN GROUPING(by_installer) = 0 THEN by_installer
      WHEN GROUPING(by_country) = 0 THEN by_country
      WHEN GROUPING(by_version) = 0 THEN by_version
      WHEN GROUPING(by_ci) = 0 THEN by_ci
      WHEN GROUPING(dropped) = 0 THEN dropped
      ELSE 'rows_in_window'
    END AS category,
    COUNT(*) AS downloads
  FROM labelled
  GROUP BY GROUPING SETS (
    (package, with_mirrors),
    (package, without_mirrors),
    (package, by_python_major),
    (package, by_python_minor),
    (package, by_system),
    (package, by_installer),
    (package, by_country),
    (package, by_version),
    (package, by_ci),
    (dropped),
    ()
  )
)

-- A NULL category is the group of rows that did not count in that set; pypistats also discards the python
-- categories '' and '.'.
SELECT dimension, package, category, downloads
FROM grouped
WHERE
  category IS NOT NULL
  AND NOT (dimension IN ('python_major', 'python_minor') AND category IN ('', '.'))
