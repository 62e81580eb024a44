"""One fixture per real component of DESIGN.md section 5; each lives in pypi_platform_tests/fixtures/."""

from pypi_platform_tests.fixtures.browser import *  # noqa: F403
from pypi_platform_tests.fixtures.components import *  # noqa: F403
from pypi_platform_tests.fixtures.upstream import *  # noqa: F403
