"""What the download-statistics API does without a web framework: request validation and the token bucket.
``pypi_platform.serving`` puts them behind HTTP.

- ``queries``: package names, parameters and dates validated into query objects, answered through
  ``lib/downloads/reads.py``.
- ``ratelimit``: a per-client token bucket, kept by one process.
- ``shared_buckets``: the same buckets in a file every process of one server maps (``--workers``).
- ``answers``: the answers given, kept for the data version they were read at.

The API's settings (``PYPI_PLATFORM_API_*``) are ``ServingSettings`` in ``lib/config.py``.
"""
