"""Combined print files: every variant's document starting on an odd page, safe for duplex printing."""

from __future__ import annotations

import contextlib
from pathlib import Path


def duplex_merge(batches: list[tuple[Path, list[int]]], target: Path) -> None:
    """Every document of the batches (a compiled batch's PDF and its documents' page counts), in order,
    into ``target``, with a blank page after each one with an odd page count.

    Every document then starts on a right-hand (odd) page, so a duplex printer never puts the end of one
    student's sheet and the start of the next on the two sides of one leaf. Pages come straight from the
    batches' combined PDFs, so the fonts each batch shares are stored once, not once per student; the
    batches are read from disk as they are written out, not held in memory.
    """
    import pikepdf  # not needed, nor imported, by a one-sheet build

    out = pikepdf.new()
    with contextlib.ExitStack() as opened:
        for path, counts in batches:
            source = opened.enter_context(pikepdf.open(path))
            first = 0
            for count in counts:
                out.pages.extend(source.pages[first : first + count])
                first += count
                if count % 2:
                    box = source.pages[first - 1].mediabox
                    out.add_blank_page(page_size=(float(box[2] - box[0]), float(box[3] - box[1])))
        out.save(target, static_id=True)
