"""Is anything late? Every asset with a freshness policy, late ones first, each late one with what to do.

    python -m pypi_platform.late          (``make late`` with the demo's settings)

It reads the Dagster instance of ``DAGSTER_HOME`` (the one the UI and the daemon use) and the windows the assets
declare, and exits 1 when an asset is late, so that a cron job or a monitor can alert on it. The same windows
drive the freshness checks the UI shows failing on late assets.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import dagster as dg

from pypi_platform.definitions import defs as load_definitions
from pypi_platform.defs.ops.lateness import late_assets, late_table


def main() -> int:
    definitions = load_definitions()
    now = datetime.now(UTC)
    with dg.DagsterInstance.get() as instance:
        rows = late_assets(definitions, instance, now)
    print(late_table(rows, now))
    late = [row for row in rows if row.late_at(now)]
    print(f"\n{len(late)} of {len(rows)} assets late" if late else f"\nnothing is late ({len(rows)} assets)")
    return 1 if late else 0


if __name__ == "__main__":
    sys.exit(main())
