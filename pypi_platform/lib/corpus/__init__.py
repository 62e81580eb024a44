"""The source-code corpus: release contents packed into sharded bare git repositories, indexed in Parquet.

- ``members``: one distribution file's members, each with its shard path, git blob id and skip reason.
- ``shard``: appending distribution files to a shard, one deterministic commit each (pygit2).
- ``features``: the language features of each unique Python blob, parsed once, in a process pool.
- ``index``: the Parquet index of a shard, in the columns of py-code.org's index.
"""
