"""The published datasets as frames and as the bytes of their Aura-format files, built from the mirror's tables.

Everything here is a pure function of polars frames, sized for the whole index (about a million projects and ten
million requirements): the work runs in polars expressions, never in a Python loop over rows. Output is sorted
wherever the schema leaves an order open, so the same mirror state always gives the same bytes and checksums.
JSON is compact (no spaces) UTF-8, valid for any string: polars' encoder escapes whatever needs it.
bench/datasets_scale measures these builders at full scale against a plain Python implementation.
"""

from __future__ import annotations

import gzip
import io

import polars as pl

from pypi_platform.lib.datasets.schema import DEPENDENCY_LIST, DOWNLOAD_STATS, PACKAGE_LIST

# zlib's default level. Level 9 took 2.3 times as long for 0.2 % fewer bytes on a reverse dependencies document.
GZIP_LEVEL = 6
_HALF = 2**32
_NO_KEY = 2**64 - 1  # never a key: ranks stay far below 2**32 - 1
# Every byte but the quote, the backslash and the controls: the bytes a JSON string holds as they are.
_PLAIN = bytes(byte for byte in range(32, 256) if byte not in b'"\\')


def package_list(projects: pl.DataFrame) -> pl.DataFrame:
    """One PACKAGE_LIST row per distinct name of ``projects`` (the mirrored projects), sorted by name.

    If a name occurs twice, the row with the highest serial (then the latest ``synced_at``) is kept, so the choice
    does not depend on the order of the input.
    """
    packages = projects.lazy().select(PACKAGE_LIST.names()).cast(dict(PACKAGE_LIST)).sort("name").collect()
    if not (pl.col("name") == pl.col("name").shift()).any().pipe(packages.select).item():
        return packages
    return packages.sort(
        ["name", "serial", "synced_at", "display_name", "latest_version"],
        descending=[False, True, True, False, False],
        nulls_last=True,
    ).unique("name", keep="first", maintain_order=True)


def package_list_text(packages: pl.DataFrame) -> bytes:
    """The package list in Aura's format, uncompressed: one name per line, each line ending in a newline."""
    buffer = io.BytesIO()
    packages.select("name").write_csv(buffer, include_header=False, quote_style="never", line_terminator="\n")
    return buffer.getvalue()


def dependency_edges(dependencies: pl.DataFrame) -> pl.DataFrame:
    """The distinct (project, name) edges of DEPENDENCY_LIST rows, sorted by name and then project.

    Only good edges count: rows with a problem (self-dependencies among them) or without a parsed name are left
    out, and so is a row naming its own project should one arrive without its ``self-dependency`` problem.
    Needs only the ``project``, ``name`` and ``problem`` columns.
    """
    names, keys, _ = _ranked_edges(dependencies, pl.Series(dtype=pl.String), own_rows=False)
    return keys.select(
        project=pl.lit(names).gather(_low(pl.col("key")) - 1), name=pl.lit(names).gather(_high(pl.col("key")))
    ).collect()


def mutual_dependencies(edges: pl.DataFrame) -> pl.DataFrame:
    """Pairs of projects that depend on each other (the shortest cycles), from ``dependency_edges``, each pair
    once as (first, second) in name order, sorted."""
    pairs = edges.lazy().select("project", "name").filter(pl.col("project") < pl.col("name"))
    reversed_edges = edges.lazy().select(project="name", name="project")
    return (
        pairs.join(reversed_edges, on=["project", "name"], how="semi")
        .select(first="project", second="name")
        .sort("first", "second")
        .collect()
    )


def reverse_dependencies(dependencies: pl.DataFrame, projects: pl.Series) -> pl.DataFrame:
    """REVERSE_DEPENDENCIES: a row for every mirrored project (``projects``) and every project depended upon,
    with the sorted, distinct projects depending on it (an empty list when none do), sorted by name.
    Needs only the ``project``, ``name`` and ``problem`` columns of ``dependencies``."""
    names, keys, mirrored = _ranked_edges(dependencies, projects, own_rows=True)
    # Every name has its own key, first among its keys, so every name has a group, and each group's first
    # element stands for that key (any string will do there: it is cut off).
    reverse = (
        keys.select(
            rank=_high(pl.col("key")).set_sorted(),
            dependents=pl.lit(names).gather(_low(pl.col("key")).clip(1) - 1),
        )
        .group_by("rank", maintain_order=True)
        .agg(pl.col("dependents").slice(1))
        .select(name=pl.lit(names).set_sorted(), dependents="dependents")
        .collect()
    )
    # Names that are neither mirrored nor depended upon (projects depending on others, outside the mirror).
    keep = pl.lit(mirrored) | (pl.col("dependents").list.len() > 0)
    return reverse if reverse.select(keep.all()).item() else reverse.filter(keep)


def reverse_dependencies_json(reverse: pl.DataFrame) -> bytes:
    """Reverse dependencies in Aura's format, uncompressed: ONE JSON object mapping every name to the list of
    its dependents, keys sorted."""
    if not reverse.get_column("name").is_sorted():
        reverse = reverse.sort("name")
    name, dependents = pl.col("name"), pl.col("dependents")
    some = dependents.list.len() > 0
    # Normalized names need no escaping, so quotes are all the encoding they need, and much faster to add than
    # running the encoder. A string that would need escaping brings a quote, a backslash or a control
    # character into the document beyond the structure's own quotes; the check counts those bytes (in one pass
    # that keeps only them), and such a document is built again by the encoder.
    quoted = pl.concat_str(
        pl.lit('"'),
        name,
        pl.when(some).then(pl.lit('":["')).otherwise(pl.lit('":[')),
        dependents.list.join('","'),
        pl.when(some).then(pl.lit('"]')).otherwise(pl.lit("]")),
    )
    document = _object(reverse.lazy().select(quoted), reverse.height)
    structure = 2 * (reverse.height + reverse.select(dependents.list.len().sum()).item())
    if len(document.translate(None, _PLAIN)) == structure:
        return document
    encoded = pl.concat_str(_json_value(name), pl.lit(":"), _json_value(dependents))
    return _object(reverse.lazy().select(encoded), reverse.height)


def dependency_list_jsonl(dependencies: pl.DataFrame) -> bytes:
    """JSON Lines, one object per DEPENDENCY_LIST row with every column of the schema (nulls as null)."""
    return _ndjson(dependencies.select(DEPENDENCY_LIST.names()).cast(dict(DEPENDENCY_LIST)))


def download_stats_jsonl(stats: pl.DataFrame) -> bytes:
    """The download statistics in Aura's format, uncompressed: JSON Lines of ``{"package_name": ..., "downloads":
    ...}`` in the frame's order, which is already most downloaded first."""
    columns = ["package_name", "downloads"]
    return _ndjson(stats.select(columns).cast({name: DOWNLOAD_STATS[name] for name in columns}))


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzipped with no modification time and no file name, so equal data gives equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=GZIP_LEVEL, mtime=0) as file:
        file.write(data)
    return buffer.getvalue()


def _ranked_edges(
    dependencies: pl.DataFrame, projects: pl.Series, *, own_rows: bool
) -> tuple[pl.Series, pl.LazyFrame, pl.Series]:
    """All names of ``dependencies`` and ``projects`` sorted; the good edges as sorted, distinct keys (lazy: the
    plans that use them run best in one piece, streamed); and whether each sorted name is one of ``projects``.

    Sorting and deduplicating ten million pairs of strings is slow, so each string becomes its rank among all
    the names: a categorical whose mapping is private to this call gives each distinct string a code, and
    codes become ranks. An edge's key packs the rank of its name (high 32 bits) and 1 + the rank of its
    project (low 32 bits); with ``own_rows``, every name also gets a key of its own with a low half of 0. One
    sort of 64-bit integers then orders everything by name and then by project, and adjacent duplicates drop
    out.
    """
    mirrored = _sorted_distinct(projects)
    # pl.Categories is marked unstable in polars 2.1; the tests cover what this relies on.
    categories = pl.Categories.random()
    text = pl.Categorical(categories)
    # The mirrored names go in first, in order, so they take codes 0, 1, ... (checked below, as nothing
    # promises it) and only the few other names need sorting. Looking up names already in the mapping is also
    # cheaper than adding them. ``known`` keeps the mapping alive while codes are read.
    known = mirrored.cast(text)
    name, project = pl.col("name"), pl.col("project")
    # Cast before filtering: strings are costly to copy, codes are not. A self-dependency always carries its
    # problem; name != project also drops one that would arrive without.
    edges = (
        dependencies.lazy()
        .select(
            name=name.cast(pl.String).cast(text).to_physical(),
            project=project.cast(pl.String).cast(text).to_physical(),
            good=pl.col("problem").is_null(),
        )
        .filter(pl.col("good") & name.is_not_null() & (name != project))
        .select("name", "project")
        .collect()
    )
    strings = categories.to_series()  # the string of code i at position i
    codes = known.to_physical()
    # Distinct codes, sorted, from 0 to len - 1: exactly 0, 1, ...
    in_order = codes.is_empty() or (codes.is_sorted() and codes[0] == 0 and codes[-1] == codes.len() - 1)
    rank = _ranks(strings, codes.len() if in_order else 0)
    ranked = pl.lit(rank)
    keys = [edges.lazy().select(key=ranked.gather(name).cast(pl.UInt64) * _HALF + ranked.gather(project) + 1)]
    if own_rows:
        keys.append(pl.LazyFrame({"key": pl.int_range(strings.len(), dtype=pl.UInt64, eager=True) * _HALF}))
    key = pl.col("key")
    is_mirrored = pl.zeros(strings.len(), pl.Boolean, eager=True).scatter(rank.gather(codes), True)
    return (
        strings.gather(rank.arg_sort()),
        pl.concat(keys).sort("key").filter(key != key.shift().fill_null(_NO_KEY)),
        is_mirrored,
    )


def _sorted_distinct(names: pl.Series) -> pl.Series:
    """The distinct non-null ``names``, sorted; cheap when they are already (a package list's names are)."""
    names = names.drop_nulls().cast(pl.String)
    if names.is_sorted() and not (names.slice(1) == names.head(names.len() - 1)).any():
        return names
    return names.unique().sort()


def _ranks(strings: pl.Series, head: int) -> pl.Series:
    """The rank of each of the distinct ``strings`` in their sorted order, given that the first ``head`` of
    them are sorted already: only the others are sorted, then merged in by binary search."""
    first, rest = strings.head(head), strings.slice(head)
    order = rest.arg_sort()
    # How many of ``first`` sort before each of ``rest``, taken in sorted order: a non-decreasing series.
    before = first.search_sorted(rest.gather(order)).cast(pl.UInt32)
    positions = pl.int_range(head, dtype=pl.UInt32, eager=True)
    first_ranks = positions + before.search_sorted(positions, side="right").cast(pl.UInt32)
    rest_ranks = pl.zeros(rest.len(), pl.UInt32, eager=True).scatter(
        order, before + pl.int_range(rest.len(), dtype=pl.UInt32, eager=True)
    )
    return pl.concat([first_ranks, rest_ranks])


def _high(key: pl.Expr) -> pl.Expr:
    return (key // _HALF).cast(pl.UInt32)


def _low(key: pl.Expr) -> pl.Expr:
    return (key % _HALF).cast(pl.UInt32)


def _object(members: pl.LazyFrame, count: int) -> bytes:
    """One JSON object from a one-column frame of its ``count`` members (``"key":value``), streamed out."""
    buffer = io.BytesIO()
    buffer.write(b"{")
    members.sink_csv(buffer, include_header=False, quote_style="never", line_terminator=",")
    if count:
        buffer.seek(-1, io.SEEK_END)  # over the last member's comma
    buffer.write(b"}")
    return buffer.getvalue()


def _json_value(column: pl.Expr) -> pl.Expr:
    """``column`` encoded as JSON values, through a one-field struct whose wrapping is then cut off."""
    return pl.struct(column.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")


def _ndjson(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ndjson(buffer)
    return buffer.getvalue()
