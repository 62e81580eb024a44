"""The static security scanner: archives read safely in memory, rules, scores (plain Python, no Dagster)."""
