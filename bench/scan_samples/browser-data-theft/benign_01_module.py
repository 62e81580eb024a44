"""Import bookmarks from the user's own browser profile into our reading-list app (a documented feature)."""

import json
import os
import sqlite3
from pathlib import Path


def chrome_bookmarks(profile="Default"):
    root = Path(os.environ.get("LOCALAPPDATA", Path.home() / ".config")) / "Google" / "Chrome" / "User Data"
    path = root / profile / "Bookmarks"
    if not path.exists():
        return []
    tree = json.loads(path.read_text(encoding="utf-8"))["roots"]["bookmark_bar"]
    return [(node["name"], node["url"]) for node in tree.get("children", []) if node.get("type") == "url"]


def firefox_bookmarks(profile_dir):
    connection = sqlite3.connect(f"file:{Path(profile_dir) / 'places.sqlite'}?mode=ro", uri=True)
    query = "SELECT b.title, p.url FROM moz_bookmarks b JOIN moz_places p ON b.fk = p.id WHERE b.type = 1"
    return connection.execute(query).fetchall()
