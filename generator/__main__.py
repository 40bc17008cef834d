"""``python -m derivbook``: the same program as the ``derivbook`` command."""

from derivbook.cli import run

run()
