"""One fixture per real component (PostgreSQL, S3, the upstream index), each in its module of fixtures/."""

from pypi_platform_tests.fixtures.browser import *  # noqa: F403
from pypi_platform_tests.fixtures.components import *  # noqa: F403
from pypi_platform_tests.fixtures.upstream import *  # noqa: F403
