"""Every test run uses its own cache folder, never the user's, and removes it when the run ends."""

import os
import shutil
import tempfile

CACHE = tempfile.mkdtemp(prefix="derivbook-test-cache-")
os.environ["DERIVBOOK_CACHE"] = CACHE


def pytest_unconfigure(config):
    shutil.rmtree(CACHE, ignore_errors=True)
