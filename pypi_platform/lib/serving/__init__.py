"""What the download-statistics API reads and how, without a web framework: request validation, the SQL,
the token bucket, and the API's settings. ``pypi_platform.serving`` puts them behind HTTP.

- ``queries``: package names, parameters and dates validated into a :class:`queries.Query`; the SQL, always
  parameterized, over tables named from a fixed whitelist.
- ``ratelimit``: a per-client token bucket.
- ``settings``: the ``PYPI_PLATFORM_API_*`` variables.
"""
