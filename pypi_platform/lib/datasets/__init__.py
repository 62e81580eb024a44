"""Published ecosystem datasets built from the mirror and the download tables (plain Python, no Dagster)."""
