"""The state's bulk writes (COPY) leave what a sync's one-project-at-a-time writes leave."""

from datetime import UTC, datetime

import psycopg
import pytest

from pypi_platform.lib.mirror.pages import PublishedFile
from pypi_platform.lib.mirror.state import MirrorState, ProjectUpdate

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _update(name: str, files: int) -> ProjectUpdate:
    published = [
        PublishedFile(
            filename=f"{name}-1.{k}.tar.gz",
            object_key=f"mirror/web/packages/ab/cd/{name}{k:058d}/{name}-1.{k}.tar.gz",
            sha256=f"{k:064x}",
            size=100 + k,
            version=f"1.{k}",
            upload_time=datetime(2025, 1, 1 + k, tzinfo=UTC),
            requires_python=">=3.9" if k else None,
            yanked=k == 1,
            yanked_reason="broken" if k == 1 else None,
            metadata_sha256=f"{k + 7:064x}" if k % 2 == 0 else None,
        )
        for k in range(files)
    ]
    return ProjectUpdate(
        name=name,
        display_name=name.capitalize(),
        serial=42,
        etag='"tag"',
        last_modified=None,
        page_sha256="e" * 64,
        filter_fingerprint="keep=0",
        files=published,
        md5={f.filename: None for f in published},
        packagetypes={f.filename: "sdist" for f in published},
        latest_version=published[-1].version if published else None,
    )


def _blobs(update: ProjectUpdate) -> list[tuple[str, str, int]]:
    rows = [(f.object_key, f.sha256, f.size) for f in update.files]
    return rows + [
        (f.object_key + ".metadata", f.metadata_sha256, 9) for f in update.files if f.metadata_sha256
    ]


def _rows(dsn: str) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(f"SELECT * FROM mirror.{table} ORDER BY 1, 2").fetchall()
            for table in ("projects", "files", "blobs")
        }


def test_bulk_publish_leaves_the_rows_publish_leaves(database):
    updates = [_update("alpha", 3), _update("beta", 0), _update("gamma", 1)]
    state = MirrorState(database)
    try:
        for update in updates:
            for key, sha256, size in _blobs(update):
                state.record_blob(key, sha256, size)
            state.publish(update, NOW)
        one_by_one = _rows(database)
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("TRUNCATE mirror.files, mirror.blobs, mirror.projects")
            # stored_at defaults to now() for a single record; the bulk write takes the time it is given.
            one_by_one["blobs"] = [(*row[:3], NOW, row[4]) for row in one_by_one["blobs"]]

        assert state.bulk_publish(iter(updates), NOW) == 3
        state.bulk_record_blobs((blob for update in updates for blob in _blobs(update)), NOW)
    finally:
        state.close()
    assert _rows(database) == one_by_one
    assert len(one_by_one["files"]) == 4 and len(one_by_one["blobs"]) == 7


def test_bulk_publish_of_a_project_already_in_the_state_writes_nothing(database):
    state = MirrorState(database)
    try:
        state.publish(_update("alpha", 1), NOW)
        with pytest.raises(psycopg.errors.UniqueViolation):
            state.bulk_publish([_update("beta", 2), _update("alpha", 2)], NOW)
        with pytest.raises(psycopg.errors.UniqueViolation):
            state.bulk_record_blobs([("k", "0" * 64, 1), ("k", "0" * 64, 1)], NOW)
    finally:
        state.close()
    rows = _rows(database)
    assert [row[0] for row in rows["projects"]] == ["alpha"]
    assert [row[1] for row in rows["files"]] == ["alpha-1.0.tar.gz"]
    assert rows["blobs"] == []


def test_live_serials_give_a_serial_only_to_current_projects(database):
    state = MirrorState(database)
    try:
        state.bulk_publish([_update("alpha", 1), _update("beta", 1), _update("gamma", 1)], NOW)
        state.record_failure("beta", "beta", "HTTP 500", NOW)  # failing: checked again, whatever its serial
        state.remove_projects(["gamma"], NOW)
        state.record_failure("delta", "delta", "HTTP 500", NOW)  # never published
        assert state.live_serials("keep=0") == {"alpha": 42, "beta": None, "delta": None}
        # Other filters than the ones a project was published with: every project is checked again.
        assert state.live_serials("keep=1") == {"alpha": None, "beta": None, "delta": None}
        assert set(state.projects(["alpha", "gamma", "omega"])) == {"alpha", "gamma"}
    finally:
        state.close()
