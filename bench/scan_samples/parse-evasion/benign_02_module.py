# scan-sample: unparseable (a Python 2 module shipped in an old sdist, as many on the index still are)
"""Old helper module kept for Python 2 users."""

import os


def home():
    return os.path.expanduser("~")

print "compat module loaded"
