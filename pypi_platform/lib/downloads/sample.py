"""Synthetic download logs in the shape of the public ``file_downloads`` table, for tests and benchmarks.

``write_sample`` writes one zstd Parquet file per *arrival* day, ``file_downloads-YYYY-MM-DD.parquet``, in exactly
the ``FILE_DOWNLOADS`` schema. The content mimics what a daily aggregation meets in the real table: Zipf-like
popularity over the projects (the given ones, the mirrored projects in the demo, most downloaded; then made-up
filler names shaped like real ones, such as ``aio-yaml`` or ``flask-cachekit``), newest versions downloaded most, mostly wheels, pip ahead of uv and the rest, mirror
and proxy installers, NULL installers, ~2 % of rows whose whole ``details`` is NULL (an unparseable user agent),
python strings that pypistats drops, a skewed country mix, and ``ci`` TRUE or NULL.

Late data: rows keep arriving after their UTC day has closed, as they do in the public table, so about
``LATE_SHARE`` of the rows in the file of arrival day D carry a timestamp on day D-1. The rows of day D
therefore live in the files of D *and* D+1, and a reader of day D must scan both, as ``source_files`` does.

Randomness comes from ``random.Random`` seeded by (seed, day, chunk) as raw 64-bit words; polars turns the words
into categories in bulk (a binary search over cumulative weights, then a gather from a small table), so no Python
code runs per row. Files are streamed chunk by chunk into the Parquet writer, which bounds memory for large days.
Same arguments, same files.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
from packaging.utils import canonicalize_name
from polars.io.plugins import register_io_source

from pypi_platform.lib.downloads.schema import FILE_DOWNLOADS

LATE_SHARE = 0.05
CHUNK_ROWS = 1_000_000  # rows generated at once
# Rows per Parquet row group. A reader that cannot prune struct leaves (polars) decodes a whole row group of the
# wide ``file`` and ``details`` structs at once, so smaller groups bound its memory; 128k rows measured 1.2 GB
# peak for the 20M-row day of bench/downloads_aggregate against 1.9 GB with 1M-row groups, at the same speed.
ROW_GROUP_ROWS = 131_072
ZIPF_EXPONENT = 1.1
FILE_PREFIX = "file_downloads-"
_DAY_US = 86_400_000_000
_BITS = 16  # resolution of one categorical draw: weights down to 1/65536
_MAX_VERSIONS = 5

# (value, weight) tables. A None value is a NULL in the output.
_VERSION_SLOTS = ((0, 55), (1, 24), (2, 12), (3, 6), (4, 3))  # slot 0 is the newest release
_FILE_TYPES = (("bdist_wheel", 85), ("sdist", 14), ("bdist_egg", 1))
_INSTALLERS = (
    (("pip", "24.2"), 30), (("pip", "24.0"), 16), (("pip", "25.0.1"), 10), (("pip", "23.3.1"), 5),
    (("uv", "0.5.11"), 8), (("uv", "0.4.30"), 3), (("poetry", "1.8.3"), 3), (("poetry", "2.0.1"), 2),
    (("pdm", "2.22.1"), 1), (("requests", "2.32.3"), 3), (("Browser", None), 2), (("bandersnatch", "6.5.0"), 2),
    (("z3c.pypimirror", "1.0.16"), 0.3), (("Artifactory", "7.98.11"), 3), (("devpi", "6.14.0"), 0.5),
    (("Nexus", "3.75.0-06"), 2), (("pep381client", "1.5"), 0.2), (None, 3),
)  # fmt: skip
_PYTHONS = (
    ("3.12.4", 20), ("3.11.9", 19), ("3.10.14", 15), ("3.9.19", 10), ("3.13.0", 8), ("3.8.18", 5),
    ("2.7.18", 2), ("3.13t", 0.5), ("3.12.0rc1", 0.2), (None, 6),
    # pypistats drops these: they do not start with one digit, a dot and a digit.
    ("", 0.3), ("3", 0.2), ("x.y", 0.2), ("10.1.2", 0.2),
)  # fmt: skip
_PYPY_SHARE = 0.03  # of the rows that have details; the rest are CPython, whose version is the python string
_SYSTEMS = (
    (("Linux", "6.5.0-1025-azure", "x86_64"), 52), (("Linux", "6.8.0-45-generic", "aarch64"), 8),
    (("Windows", "10", "AMD64"), 15), (("Darwin", "23.6.0", "arm64"), 9), (("Darwin", "22.6.0", "x86_64"), 3),
    (("FreeBSD", "14.1-RELEASE", "amd64"), 0.5), (("Emscripten", "3.1.58", "wasm32"), 0.3), (None, 4),
)  # fmt: skip
_COUNTRIES = (
    ("US", 34), ("CN", 12), ("DE", 6), ("IE", 5), ("IN", 5), ("GB", 4), ("FR", 3), ("JP", 3), ("NL", 3),
    ("SG", 3), ("BR", 2), ("KR", 2), ("CA", 2), ("AU", 1), ("SE", 1), ("PL", 1), ("RU", 1), ("ZA", 0.5),
    (None, 2),
)  # fmt: skip
_CI = ((True, 15), (False, 0.5), (None, 84.5))
_TLS = ((("TLSv1.3", "TLS_AES_128_GCM_SHA256"), 88), (("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), 12))
_DETAILS_NULL_SHARE = 0.02

# Filler project names are a prefix, one or two stems and a suffix; an empty prefix or suffix is the most common.
_PREFIXES = ("",) * 12 + (
    "py", "python-", "django-", "flask-", "pytest-", "sphinx-", "aio", "aio-", "async-", "fast", "simple-",
    "open", "tiny", "easy-", "micro", "auto", "super", "data-", "cloud-", "mkdocs-",
)  # fmt: skip
_STEMS = (
    "cache", "config", "parse", "json", "yaml", "toml", "http", "log", "schema", "graph", "retry", "queue",
    "task", "crypt", "hash", "image", "text", "token", "stream", "geo", "time", "date", "money", "mail", "sql",
    "query", "shell", "path", "file", "zip", "term", "color", "plot", "chart", "table", "frame", "array",
    "vector", "matrix", "model", "vision", "audio", "speech", "lang", "search", "index", "store", "vault",
    "secret", "auth", "jwt", "session", "cookie", "proxy", "socket", "grpc", "rest", "web", "html", "xml",
    "markdown", "doc", "lint", "format", "type", "check", "mock", "bench", "profile", "trace", "metric",
    "monitor", "alert", "event", "signal", "worker", "cron", "job", "pipe", "flow", "dag", "batch", "sync",
    "diff", "patch", "merge", "git", "build", "pack", "deploy", "docker", "kube", "blob", "bucket", "db", "orm",
    "mongo", "redis", "kafka", "mqtt", "serial", "usb", "gpio", "robot", "sensor", "device", "game", "sprite",
    "pixel", "font", "icon", "emoji", "regex", "glob", "fuzzy", "phone", "address", "units", "math", "stats",
    "rand", "uuid", "slug", "url", "dns", "net", "ping", "dict", "tree", "heap", "bloom", "lru", "env", "cli",
)  # fmt: skip
_SUFFIXES = ("",) * 12 + (
    "-utils", "-tools", "-lite", "kit", "ify", "-client", "-sdk", "-core", "-py", "x", "er", "-helpers", "-cli",
    "-plus", "2", "-ng", "lib", "-extras", "-async", "-toolkit", "-wrapper", "-api",
)  # fmt: skip
_TWO_STEMS = 0.25
# Draws repeat names as the space fills up; a tenth of the distinct names keeps the draws cheap.
_MAX_FILLER = len(set(_PREFIXES)) * len(_STEMS) ** 2 * len(set(_SUFFIXES)) // 10
# A filler name is drawn this much less often than its Zipf rank alone would give: every given project stays
# clearly ahead of the most popular filler, even in one small day.
FILLER_WEIGHT = 0.5


def sample_projects(projects: Sequence[str], extra_projects: int = 200, seed: int = 0) -> list[str]:
    """The sampled project names, most downloaded first: ``projects`` normalised (in an order the seed shuffles),
    then ``extra_projects`` made-up filler names, so that the projects asked for rank above every filler."""
    given = sorted(dict.fromkeys(canonicalize_name(name) for name in projects))
    random.Random(f"ranks/{seed}").shuffle(given)  # a fixed order first, whatever order the caller passed
    if not given and not extra_projects:
        raise ValueError("no projects to sample")
    return given + filler_names(extra_projects, seed, exclude=given)


def filler_names(count: int, seed: int = 0, exclude: Sequence[str] = ()) -> list[str]:
    """``count`` distinct made-up project names, shaped like real ones: a prefix, one or two stems and a suffix
    from small word lists (``pytest-retrykit``, ``aio-yaml``, ``tomlcache-utils``). Never in ``exclude``; never
    holding a dot, so never a host name. Same arguments, same names."""
    if count > _MAX_FILLER:
        raise ValueError(
            f"at most {_MAX_FILLER:,} filler project names can be made up, {count:,} were asked for"
        )
    rng = random.Random(f"filler/{seed}")
    taken, names = set(exclude), []
    while len(names) < count:
        prefix, stem, suffix = rng.choice(_PREFIXES), rng.choice(_STEMS), rng.choice(_SUFFIXES)
        if rng.random() < _TWO_STEMS:
            stem += rng.choice(("", "-")) + rng.choice(_STEMS)
        elif not prefix and not suffix:
            continue  # a bare word (``cache``, ``stream``) is most likely a real project's name
        name = canonicalize_name(prefix + stem + suffix)
        # "py" + "pixel" would read as the index's own name, which no filler should seem to be.
        if name not in taken and "pypi" not in name:
            taken.add(name)
            names.append(name)
    return names


def write_sample(
    directory: Path,
    start: date,
    end: date,
    *,
    projects: Sequence[str],
    rows_per_day: int = 50_000,
    seed: int = 0,
    extra_projects: int = 200,
) -> list[Path]:
    """Write one file per arrival day in [start, end]; the paths, in date order. See the module docstring."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    ranked = sample_projects(projects, extra_projects, seed)
    catalogue = _Catalogue(ranked, given=len(ranked) - extra_projects)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    day = start
    while day <= end:
        path = directory / f"{FILE_PREFIX}{day.isoformat()}.parquet"
        _day_frame(day, rows_per_day, catalogue, seed).sink_parquet(
            path, compression="zstd", row_group_size=ROW_GROUP_ROWS
        )
        paths.append(path)
        day += timedelta(days=1)
    return paths


def _day_frame(day: date, rows: int, catalogue: _Catalogue, seed: int) -> pl.LazyFrame:
    """A lazy frame that generates the day's rows chunk by chunk when collected or sunk."""

    def chunks(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        # Chunks are always drawn whole, whatever batch_size or n_rows polars asks for, so that a prefix of the
        # output holds the same rows as the full output.
        limit = rows if n_rows is None else min(rows, n_rows)
        for index, offset in enumerate(range(0, limit, CHUNK_ROWS)):
            frame = _chunk(day, min(CHUNK_ROWS, rows - offset), catalogue, f"{seed}/{day}/{index}")
            frame = frame.head(limit - offset)
            if predicate is not None:
                frame = frame.filter(predicate)
            yield frame if with_columns is None else frame.select(with_columns)

    return register_io_source(chunks, schema=FILE_DOWNLOADS, is_pure=True)


class _Catalogue:
    """Projects with their popularity and their files; row draws index into these small tables."""

    def __init__(self, ranked: list[str], given: int) -> None:
        weights = [
            (1 if rank <= given else FILLER_WEIGHT) / rank**ZIPF_EXPONENT
            for rank in range(1, len(ranked) + 1)
        ]
        self.popularity = _thresholds(weights, 32)  # 16 bits cannot resolve a long tail
        releases = [_versions(name) for name in ranked]
        self.version_count = pl.Series([len(versions) for versions in releases], dtype=pl.Int64)
        # One row per (project, version slot, file type), dense so that a row's file index is arithmetic.
        rows = []
        for name, versions in zip(ranked, releases, strict=True):
            for slot in range(_MAX_VERSIONS):
                version = versions[min(slot, len(versions) - 1)]
                for file_type, _ in _FILE_TYPES:
                    filename = _filename(name, version, file_type)
                    rows.append((name, version, file_type, filename, _url(filename)))
        self.files = pl.DataFrame(
            rows, schema=["project", "version", "type", "filename", "url"], orient="row"
        )


def _chunk(day: date, rows: int, catalogue: _Catalogue, key: str) -> pl.DataFrame:
    """``rows`` rows arriving on ``day``, drawn from the random stream named ``key``."""
    # Four random 64-bit words per row, each split into bit fields: w0 = timestamp (bits 0-39) and lateness
    # (40-55); w1 = project (0-31), version slot (32-47), file type (48-63); w2 and w3 = 16-bit draws.
    rng = random.Random(key)
    words = {
        f"w{i}": pl.Series(values=[rng.randbytes(8 * rows)])
        .bin.reinterpret(dtype=pl.Array(pl.UInt64, rows), endianness="little")
        .explode()
        for i in range(4)
    }
    day_start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
    late = _field("w0", 40) < int(LATE_SHARE * 2**_BITS)
    # 40 random bits scaled onto a day: uniform, without the bias a modulo would add.
    offset = (_field("w0", 0, 40).cast(pl.Float64) * (_DAY_US / 2**40)).cast(pl.Int64)
    n_types = len(_FILE_TYPES)
    slot = pl.min_horizontal(_pick("w1", 32, _VERSION_SLOTS), pl.col("versions") - 1)
    draws = (
        pl.DataFrame(words)
        .lazy()
        .with_columns(project_index=_field("w1", 0, 32).pipe(_search, catalogue.popularity))
        .with_columns(versions=pl.lit(catalogue.version_count).gather(pl.col("project_index")))
        .select(
            timestamp=(pl.when(late).then(day_start - _DAY_US).otherwise(day_start) + offset).cast(
                pl.Datetime("us", "UTC")
            ),
            file_index=(pl.col("project_index") * _MAX_VERSIONS + slot) * n_types
            + _pick("w1", 48, _FILE_TYPES),
            installer=_pick("w2", 0, _INSTALLERS),
            python=_pick("w2", 16, _PYTHONS),
            pypy=_field("w2", 32) < int(_PYPY_SHARE * 2**_BITS),
            system=_pick("w2", 48, _SYSTEMS),
            country=_pick("w3", 0, _COUNTRIES),
            ci=_pick("w3", 16, _CI),
            no_details=_field("w3", 32) < int(_DETAILS_NULL_SHARE * 2**_BITS),
            tls=_pick("w3", 48, _TLS),
        )
        .with_columns(pl.lit(column).gather(pl.col("file_index")) for column in catalogue.files)
    )
    python = _values(_PYTHONS, "python")
    installer = pl.struct(
        name=_values(_INSTALLERS, "installer", 0), version=_values(_INSTALLERS, "installer", 1)
    )
    details = pl.struct(
        installer=pl.when(_is_null(_INSTALLERS, "installer")).then(None).otherwise(installer),
        python=python,
        implementation=pl.when(pl.col("pypy"))
        .then(pl.struct(name=pl.lit("PyPy"), version=pl.lit("7.3.17")))
        .otherwise(pl.struct(name=pl.lit("CPython"), version=python)),
        system=pl.when(_is_null(_SYSTEMS, "system"))
        .then(None)
        .otherwise(pl.struct(name=_values(_SYSTEMS, "system", 0), release=_values(_SYSTEMS, "system", 1))),
        cpu=_values(_SYSTEMS, "system", 2),
        ci=_values(_CI, "ci"),
    )
    return (
        draws.select(
            "timestamp",
            country_code=_values(_COUNTRIES, "country"),
            url="url",
            project="project",
            file=pl.struct("filename", "project", "version", "type"),
            details=pl.when(pl.col("no_details")).then(None).otherwise(details),
            tls_protocol=_values(_TLS, "tls", 0),
            tls_cipher=_values(_TLS, "tls", 1),
        )
        .collect()
        .cast(dict(FILE_DOWNLOADS))  # types NULL-only literals and pins struct field types to the schema
    )


def _field(word: str, shift: int, bits: int = _BITS) -> pl.Expr:
    """``bits`` bits of a random word starting at bit ``shift``."""
    return (pl.col(word) // (1 << shift)) & pl.lit((1 << bits) - 1, dtype=pl.UInt64)


def _thresholds(weights: Sequence[float], bits: int) -> pl.Series:
    """Cumulative integer bounds over [0, 2**bits): draw u falls in category i when bound[i-1] <= u < bound[i]."""
    total, running, bounds = sum(weights), 0.0, []
    for weight in weights:
        running += weight
        bounds.append(round(running / total * 2**bits))
    return pl.Series(bounds, dtype=pl.UInt64)


def _search(draw: pl.Expr, bounds: pl.Series) -> pl.Expr:
    return pl.lit(bounds).search_sorted(draw, side="right")


def _pick(word: str, shift: int, table: Sequence[tuple[object, float]]) -> pl.Expr:
    """The index of a weighted draw from ``table``, using 16 bits of ``word``."""
    return _search(_field(word, shift), _thresholds([weight for _, weight in table], _BITS))


def _values(table: Sequence[tuple[object, float]], index: str, part: int | None = None) -> pl.Expr:
    """The table values (or part ``part`` of tuple values) at the drawn indices in column ``index``."""
    values = [value if part is None or value is None else value[part] for value, _ in table]
    return pl.lit(pl.Series(values)).gather(pl.col(index))


def _is_null(table: Sequence[tuple[object, float]], index: str) -> pl.Expr:
    return pl.col(index).is_in([i for i, (value, _) in enumerate(table) if value is None])


def _versions(name: str) -> list[str]:
    """Plausible release numbers for ``name``, newest first (one to five of them)."""
    # Seeded by the name only, so every sample shows the same releases for a project.
    rng = random.Random(f"releases/{name}")
    major, minor, patch = rng.randrange(6), rng.randrange(30), rng.randrange(12)
    versions = [f"{major}.{minor}.{patch}"]
    for _ in range(rng.randrange(_MAX_VERSIONS)):
        if patch > 0:
            patch -= 1
        elif minor > 0:
            minor, patch = minor - 1, rng.randrange(5)
        elif major > 0:
            major, minor, patch = major - 1, rng.randrange(1, 20), 0
        else:
            break  # nothing older than 0.0.0
        versions.append(f"{major}.{minor}.{patch}")
    return versions


def _filename(name: str, version: str, file_type: str) -> str:
    stem = name.replace("-", "_")
    if file_type == "sdist":
        return f"{stem}-{version}.tar.gz"
    if file_type == "bdist_egg":
        return f"{stem}-{version}-py2.7.egg"
    # About a third of projects ship compiled wheels; the rest are pure Python.
    if int(hashlib.blake2b(name.encode(), digest_size=2).hexdigest(), 16) % 3 == 0:
        return f"{stem}-{version}-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    return f"{stem}-{version}-py3-none-any.whl"


def _url(filename: str) -> str:
    """A request path shaped like the index's: two 2-hex levels, then the remaining 60 hex digits."""
    digest = hashlib.blake2b(filename.encode(), digest_size=32).hexdigest()
    return f"/packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"
