"""Combined print files: every variant's document starting on an odd page, safe for duplex printing."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter


def duplex_merge(documents: list[bytes]) -> bytes:
    """Concatenate PDFs, adding a blank page after each one with an odd page count.

    Every document then starts on a right-hand (odd) page, so a duplex printer never puts the end of one
    student's sheet and the start of the next on the two sides of one leaf.
    """
    writer = PdfWriter()
    for data in documents:
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages:
            writer.add_page(page)
        if len(reader.pages) % 2:
            last = reader.pages[-1].mediabox
            writer.add_blank_page(width=last.width, height=last.height)
    writer.add_metadata({"/Producer": "derivbook"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
