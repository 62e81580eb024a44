"""The download-statistics web app (``make serve``): a pypistats-compatible JSON API and a dashboard.

- ``app``: the ASGI application, built from the routes of the modules below.
- ``api``: the JSON endpoints under ``/api/``.
- ``dashboard``: the HTML pages and the static assets they load, all served by the app itself.
"""
