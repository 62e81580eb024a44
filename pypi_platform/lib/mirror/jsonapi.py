"""A legacy JSON API document for upstreams that have none, so ``json/<name>`` exists for every project."""

from __future__ import annotations

import json
from collections import defaultdict

from pypi_platform.lib.mirror.filters import sort_versions
from pypi_platform.lib.mirror.pages import WEB, PublishedFile, iso_time


def synthesize_json_document(display_name: str, serial: int | None, files: list[PublishedFile]) -> bytes:
    """The subset of the legacy JSON API a mirror can vouch for: its own files, under their mirror paths."""
    releases: dict[str, list[dict[str, object]]] = defaultdict(list)
    for published in files:
        releases[published.version or ""].append(
            {
                "filename": published.filename,
                # The same bytes are served at json/<name> and pypi/<name>/json, so no single relative URL fits
                # both; the path is relative to the mirror's web root.
                "url": published.object_key[len(WEB) + 1 :],
                "digests": {"sha256": published.sha256},
                "size": published.size,
                "upload_time_iso_8601": iso_time(published.upload_time) if published.upload_time else None,
                "requires_python": published.requires_python,
                "yanked": published.yanked,
                "yanked_reason": published.yanked_reason,
                "core-metadata": {"sha256": published.metadata_sha256}
                if published.metadata_sha256
                else False,
            }
        )
    ordered = sort_versions(set(releases) - {""})
    latest = ordered[-1] if ordered else None
    document = {
        "info": {"name": display_name, "version": latest},
        "last_serial": serial,
        "releases": {version: releases[version] for version in ordered},
        "urls": releases.get(latest, []) if latest else [],
    }
    return json.dumps(document, separators=(",", ":")).encode()
