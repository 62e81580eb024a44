-- Each package's `overall` counts kept together, a row per package and month, beside the daily partitions.
-- A package's 180-day series read from the daily tables touches 180 partitions; from here it is one index
-- lookup in each of about seven month partitions. Position i of a month's arrays is the month's day i (31
-- positions in every month); NULL where `overall` has no row for that package, category and day.
--
-- The rows are a copy of `overall`, kept exact by its owner (lib/downloads/tables.py): replace_day calls
-- overall_series_set_day in the day's transaction, drop_days_before calls overall_series_drop_before in
-- retention's. Each rewrites a month partition whole (TRUNCATE, then INSERT), so no dead rows pile up.
CREATE TABLE IF NOT EXISTS downloads.overall_series (
    month           DATE     NOT NULL CHECK (extract(day FROM month) = 1),
    package         TEXT     NOT NULL,
    with_mirrors    BIGINT[] NOT NULL,
    without_mirrors BIGINT[] NOT NULL,
    PRIMARY KEY (package, month)
) PARTITION BY RANGE (month);

-- `counts` (NULL: a month with nothing yet) with position `pos` set to `value` (NULL clears it).
CREATE OR REPLACE FUNCTION downloads.overall_series_put(counts BIGINT[], pos INT, value BIGINT)
RETURNS BIGINT[] LANGUAGE sql IMMUTABLE AS $$
    SELECT array_cat(array_append((coalesce(counts, array_fill(NULL::BIGINT, ARRAY[31])))[1:pos - 1], value),
                     (coalesce(counts, array_fill(NULL::BIGINT, ARRAY[31])))[pos + 1:31])
$$;

-- Rewrite the month partition `part` from the temporary table overall_series_next (package, w, wo), leaving
-- out packages with no count left in the month; the rows written.
CREATE OR REPLACE FUNCTION downloads.overall_series_swap(part TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    written BIGINT;
BEGIN
    EXECUTE format('TRUNCATE downloads.%I', part);
    EXECUTE format(
        'INSERT INTO downloads.%I (month, package, with_mirrors, without_mirrors)
         SELECT to_date(%L, ''YYYYMM''), package, w, wo FROM pg_temp.overall_series_next
         WHERE cardinality(array_remove(w, NULL)) > 0 OR cardinality(array_remove(wo, NULL)) > 0',
        part, right(part, 6));
    GET DIAGNOSTICS written = ROW_COUNT;
    DROP TABLE pg_temp.overall_series_next;
    RETURN written;
END
$$;

-- Make day `loaded`'s position in its month what the day's `overall` partition holds now (none: nothing).
CREATE OR REPLACE FUNCTION downloads.overall_series_set_day(loaded DATE) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    first DATE := date_trunc('month', loaded)::date;
    pos INT := extract(day FROM loaded)::int;
    part TEXT := 'overall_series_' || to_char(loaded, 'YYYYMM');
    source TEXT := 'overall_' || to_char(loaded, 'YYYYMMDD');
    fresh TEXT := 'SELECT NULL::TEXT AS package, NULL::BIGINT AS w, NULL::BIGINT AS wo WHERE false';
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS downloads.%I PARTITION OF downloads.overall_series
         FOR VALUES FROM (%L) TO (%L)', part, first, (first + interval '1 month')::date);
    IF to_regclass(format('downloads.%I', source)) IS NOT NULL THEN
        fresh := format(
            'SELECT package, max(downloads) FILTER (WHERE category = ''with_mirrors'') AS w,
                    max(downloads) FILTER (WHERE category = ''without_mirrors'') AS wo
             FROM downloads.%I GROUP BY package', source);
    END IF;
    DROP TABLE IF EXISTS pg_temp.overall_series_next;
    EXECUTE format(
        'CREATE TEMP TABLE overall_series_next AS
         SELECT coalesce(o.package, n.package) AS package,
                downloads.overall_series_put(o.with_mirrors, %1$s, n.w) AS w,
                downloads.overall_series_put(o.without_mirrors, %1$s, n.wo) AS wo
         FROM downloads.%2$I o FULL JOIN (%3$s) n ON n.package = o.package',
        pos, part, fresh);
    RETURN downloads.overall_series_swap(part);
END
$$;

-- Retention: forget every day before `cutoff` (whole month partitions, and the first days of cutoff's month).
CREATE OR REPLACE FUNCTION downloads.overall_series_drop_before(cutoff DATE) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    part TEXT;
    keep_from INT := extract(day FROM cutoff)::int;
    cut_part TEXT := 'overall_series_' || to_char(cutoff, 'YYYYMM');
BEGIN
    FOR part IN
        SELECT child.relname FROM pg_inherits
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE pg_inherits.inhparent = 'downloads.overall_series'::regclass
          AND right(child.relname, 6) < to_char(cutoff, 'YYYYMM')
    LOOP
        EXECUTE format('DROP TABLE downloads.%I', part);
    END LOOP;
    IF keep_from > 1 AND to_regclass(format('downloads.%I', cut_part)) IS NOT NULL THEN
        DROP TABLE IF EXISTS pg_temp.overall_series_next;
        EXECUTE format(
            'CREATE TEMP TABLE overall_series_next AS
             SELECT package, array_cat(array_fill(NULL::BIGINT, ARRAY[%1$s - 1]), with_mirrors[%1$s:31]) AS w,
                    array_cat(array_fill(NULL::BIGINT, ARRAY[%1$s - 1]), without_mirrors[%1$s:31]) AS wo
             FROM downloads.%2$I',
            keep_from, cut_part);
        PERFORM downloads.overall_series_swap(cut_part);
    END IF;
END
$$;

-- The series of the days loaded before this migration.
DO $$
DECLARE
    part TEXT;
BEGIN
    FOR part IN
        SELECT child.relname FROM pg_inherits
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE pg_inherits.inhparent = 'downloads.overall'::regclass
        ORDER BY child.relname
    LOOP
        PERFORM downloads.overall_series_set_day(to_date(right(part, 8), 'YYYYMMDD'));
    END LOOP;
END
$$;

-- /api/top and the dashboard's top lists without a country read the `recent` table's largest counts of a
-- period: with this index, the first rows of an index scan instead of a sort of every package.
CREATE INDEX IF NOT EXISTS recent_top ON downloads.recent (category, downloads DESC, package COLLATE "C");
