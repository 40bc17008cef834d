"""Every test run uses its own cache folder, never the user's."""

import os
import tempfile

os.environ["DERIVBOOK_CACHE"] = tempfile.mkdtemp(prefix="derivbook-test-cache-")
