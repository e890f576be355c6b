"""Settings for the test suite: the same as production but fast hashing and a fixed clock zone.

The database comes from DATABASE_URL like everywhere (the test runner sets it for the
PostgreSQL pass); SQLite otherwise.
"""

import os
import tempfile

os.environ.setdefault("FUPIN_DATA_DIR", tempfile.mkdtemp(prefix="fupin-test-"))
os.environ.setdefault("FUPIN_SECRET_KEY", "test-secret-key-that-is-long-enough-for-checks")

from fupin.settings import *  # noqa: F403
from fupin.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("FUPIN_TEST_DB_NAME", "test_fupin")}
