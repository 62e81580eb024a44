"""Shard names, paths and numbering: one rule for the assets, the sensor, the demo and the extract command."""

from pathlib import Path

import pytest

from pypi_platform.lib.corpus.state import (
    Shard,
    next_shard_number,
    shard_name,
    shard_name_of,
    shard_number,
    shard_path,
)


def _shard(number: int, closed: bool) -> Shard:
    return Shard(number=number, capacity=10, files=10 if closed else 3, head=None, closed=closed)


def test_a_shard_path_and_its_name_read_back_to_the_number(tmp_path: Path):
    path = shard_path(tmp_path, 12)
    assert path == tmp_path / "pypi-mirror-12.git"
    assert shard_name_of(path) == shard_name(12) == "pypi-mirror-12"
    assert shard_number(shard_name_of(path)) == 12


@pytest.mark.parametrize("name", ["pypi-mirror-0", "pypi-mirror-x", "other-3", "pypi-mirror-"])
def test_a_name_that_is_not_a_shard_is_refused(name: str):
    with pytest.raises(ValueError, match="is not a shard name"):
        shard_number(name)


def test_new_files_go_to_the_open_shard_or_the_one_after_a_closed_one():
    assert next_shard_number([]) == 1
    assert next_shard_number([_shard(1, closed=True), _shard(2, closed=False)]) == 2
    assert next_shard_number([_shard(1, closed=True), _shard(2, closed=True)]) == 3
