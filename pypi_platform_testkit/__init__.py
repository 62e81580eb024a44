"""Support code the tests and the benchmarks share: release files built in memory (``dists``), a fake upstream
index on 127.0.0.1 (``fake_index``) and the scanner's evaluation set (``scanner_evalset``). Not part of the
platform: the wheel ships ``pypi_platform`` only.
"""
