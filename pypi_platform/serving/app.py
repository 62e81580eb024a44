"""The ASGI application: the API's routes and the dashboard's, over one PostgreSQL database."""

from starlette.applications import Starlette

from pypi_platform.serving import api, dashboard


def create_app(dsn: str) -> Starlette:
    """The app over the database at `dsn` (migrated already); routes read it through ``app.state.dsn``."""
    app = Starlette(routes=[*api.routes(), *dashboard.routes()])
    app.state.dsn = dsn
    return app
