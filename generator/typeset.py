"""What pdflatex with T1 fonts and UTF-8 input can print: checked before a user's string reaches TeX.

The set comes from the installed TeX's own encoding tables (``t1enc.dfu``, ``ts1enc.dfu``), so a
character that would stop TeX with "Unicode character … not set up for use with LaTeX" is refused
first, with a message that names it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from functools import lru_cache
from pathlib import Path

TABLES = ("t1enc.dfu", "ts1enc.dfu")
FALLBACK = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))  # Latin-1 and Latin Extended-A


@lru_cache(maxsize=1)
def printable_codepoints() -> frozenset[int]:
    """Code points the document's font encodings declare, plus printable ASCII."""
    found = set(range(0x20, 0x7F))
    kpsewhich = shutil.which("kpsewhich")
    paths = []
    if kpsewhich:
        result = subprocess.run([kpsewhich, *TABLES], capture_output=True, text=True, check=False)
        paths = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    if not paths:
        return frozenset(FALLBACK)
    for path in paths:
        text = path.read_text(encoding="latin-1")
        found.update(int(code, 16) for code in re.findall(r"\\DeclareUnicodeCharacter\{([0-9A-F]+)\}", text))
    return frozenset(found)


def unprintable(text: str) -> str | None:
    """A description of the first character of ``text`` the fonts cannot print, or None."""
    allowed = printable_codepoints()
    for char in unicodedata.normalize("NFC", text):
        if ord(char) not in allowed and not char.isspace():
            name = unicodedata.name(char, "unnamed character")
            return f"{char!r} (U+{ord(char):04X} {name})"
    return None
