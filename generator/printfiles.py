"""Combined print files: every variant's document starting on an odd page, safe for duplex printing."""

from __future__ import annotations

import io

from derivbook.texbuild import Batch


def duplex_merge(batches: list[Batch]) -> bytes:
    """Every document of the batches in order, with a blank page after each one with an odd page count.

    Every document then starts on a right-hand (odd) page, so a duplex printer never puts the end of one
    student's sheet and the start of the next on the two sides of one leaf. Pages come straight from the
    batches' combined PDFs, so the fonts each batch shares are stored once, not once per student.
    """
    import pikepdf  # not needed, nor imported, by a one-sheet build

    out = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(batch.pdf)) for batch in batches]
    try:
        for source, batch in zip(sources, batches):
            for pages in batch.ranges():
                out.pages.extend(source.pages[k] for k in pages)
                if len(pages) % 2:
                    box = source.pages[pages[-1]].mediabox
                    out.add_blank_page(page_size=(float(box[2] - box[0]), float(box[3] - box[1])))
        buffer = io.BytesIO()
        out.save(buffer, static_id=True)
        return buffer.getvalue()
    finally:
        for source in sources:
            source.close()
