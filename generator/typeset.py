"""What pdflatex with T1 fonts and UTF-8 input can print: checked before a user's string reaches TeX.

The set comes from the installed TeX's own encoding tables (``t1enc.dfu``, ``ts1enc.dfu``), so a
character that would stop TeX with "Unicode character … not set up for use with LaTeX" is refused
first, with a message that names it.
"""

from __future__ import annotations

import pickle
import re
import shutil
import subprocess
import unicodedata
from functools import lru_cache
from pathlib import Path

TABLES = ("t1enc.dfu", "ts1enc.dfu")
# Declared, but printed invisibly or as another glyph (ẞ as "SS", ℗ ℞ ℠ ₦ ₱ ⟨ ⟩ with no text behind
# them, a lone ogonek, a soft hyphen, a byte-order mark): refused rather than misprinted. Measured by
# compiling every declared character and reading the PDF back with pdftotext.
MISPRINTED = frozenset({
    0x00AD, 0x02DB, 0x0E3F, 0x1E9E, 0x2031, 0x2052, 0x20A6, 0x20B1, 0x2117, 0x211E, 0x2120, 0x2126,
    0x2127, 0x2422, 0x25EF, 0x27E8, 0x27E9, 0xFEFF,
})
FALLBACK = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))  # Latin-1 and Latin Extended-A


@lru_cache(maxsize=1)
def printable_codepoints() -> frozenset[int]:
    """Code points the document's font encodings declare, plus printable ASCII.

    Remembered for this TeX and this code: finding and reading the tables would cost every build.
    """
    from derivbook import cache
    from derivbook.texbuild import tex_version

    key = cache.digest("printable", Path(__file__).read_bytes(), tex_version())
    if (stored := cache.load("printable", key)) is not None:
        return frozenset(pickle.loads(stored))
    found = _declared_codepoints()
    if found is None:  # no TeX tables here: not remembered
        return frozenset(FALLBACK)
    cache.store("printable", key, pickle.dumps(sorted(found)))
    return found


def _declared_codepoints() -> frozenset[int] | None:
    found = set(range(0x20, 0x7F))
    kpsewhich = shutil.which("kpsewhich")
    paths = []
    if kpsewhich:
        result = subprocess.run([kpsewhich, *TABLES], capture_output=True, text=True, check=False)
        paths = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    if not paths:
        return None
    for path in paths:
        text = path.read_text(encoding="latin-1")
        found.update(int(code, 16) for code in re.findall(r"\\DeclareUnicodeCharacter\{([0-9A-F]+)\}", text))
    return frozenset(found - MISPRINTED)


def unprintable(text: str) -> str | None:
    """A description of the first character of ``text`` the fonts cannot print, or None."""
    allowed = printable_codepoints()
    for char in unicodedata.normalize("NFC", text):
        if char in " \t\n\r":
            continue
        if unicodedata.category(char) == "Cc":
            return f"the control character U+{ord(char):04X}"
        if ord(char) not in allowed and not char.isspace():
            name = unicodedata.name(char, "unnamed character")
            return f"{char!r} (U+{ord(char):04X} {name})"
    return None
