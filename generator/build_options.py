"""What a build can write (shared by the command line and the engine, without importing either)."""

FORMATS = ("pdf", "tex", "json", "html", "moodle")
DEFAULT_FORMATS = ("pdf", "tex", "json")
