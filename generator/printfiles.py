"""Combined print files: every variant's document starting on an odd page, safe for duplex printing.

A print file is written as it goes, batch by batch: each compiled batch is read, its pages and everything
they use are written out, and the batch is closed before the next is opened, so a class of any size is
merged in the memory of one batch (a library that merges in memory holds every page until it saves). The
PDF written is plain: the batches' objects as they are (fonts, images and page contents keep their own
compression), renumbered, one page tree, one cross-reference table; dictionary keys in sorted order (pikepdf
hands them over as a set), so the same batches give the same bytes in any process.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")  # page attributes a page tree may hold for its pages


def duplex_merge(batches: list[tuple[Path, list[int]]], target: Path) -> None:
    """Every document of the batches (a compiled batch's PDF and its documents' page counts), in order,
    into ``target``, with a blank page after each one with an odd page count.

    Every document then starts on a right-hand (odd) page, so a duplex printer never puts the end of one
    student's sheet and the start of the next on the two sides of one leaf. Pages come straight from the
    batches' combined PDFs, so the fonts each batch shares are stored once, not once per student.
    """
    import pikepdf  # not needed, nor imported, by a one-sheet build

    with open(target, "wb") as stream:
        out = _Writer(stream)
        for path, counts in batches:
            with pikepdf.open(path) as source:
                out.numbers = {}  # a new batch: its objects are numbered afresh
                pages = list(source.pages)
                first = 0
                for count in counts:
                    for page in pages[first : first + count]:
                        out.page(page.obj)
                    first += count
                    if count % 2:
                        out.blank(pages[first - 1].obj)
        out.close()


class _Writer:
    """A PDF written object by object: a catalog (1), a page tree (2, written last), everything else between."""

    def __init__(self, stream) -> None:
        self.stream, self.offsets, self.kids = stream, {}, []
        self.digest = hashlib.md5(usedforsecurity=False)
        self.next = 3
        self._write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        self.numbers: dict = {}  # the current batch's objects (object, generation) -> their number here

    def page(self, page) -> None:
        """One page of an open batch, with everything it uses (shared objects of the batch written once)."""
        body = {key: page[key] for key in sorted(page.keys()) if key != "/Parent"}
        parent = page.get("/Parent")
        while parent is not None:  # inherited attributes, resolved onto the page
            for key in INHERITED:
                if key not in body and key in parent:
                    body[key] = parent[key]
            parent = parent.get("/Parent")
        number = self._number_of(page)
        pending = []
        entries = b"".join(b" " + bytes(key, "ascii") + b" " + self._value(value, pending) for key, value in body.items())
        self._object(number, b"<< /Parent 2 0 R" + entries + b" >>")
        self.kids.append(number)
        self._drain(pending)

    def blank(self, like) -> None:
        """A blank page of the size of ``like``."""
        box = [like.MediaBox[k] if "/MediaBox" in like else Decimal(0) for k in range(4)] if "/MediaBox" in like else None
        parent = like.get("/Parent")
        while box is None and parent is not None:
            box = [parent.MediaBox[k] for k in range(4)] if "/MediaBox" in parent else None
            parent = parent.get("/Parent")
        number = self._fresh()
        self._object(number, b"<< /Type /Page /Parent 2 0 R /MediaBox [" + b" ".join(_number(v) for v in box) + b"] /Resources << >> >>")
        self.kids.append(number)

    def close(self) -> None:
        """The page tree, the cross-reference table and the trailer."""
        kids = b" ".join(b"%d 0 R" % kid for kid in self.kids)
        self._object(2, b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(self.kids))
        start = self.position
        rows = [b"0000000000 65535 f \n"] + [b"%010d 00000 n \n" % self.offsets[n] for n in range(1, self.next)]
        identity = self.digest.hexdigest().encode()
        self._write(b"xref\n0 %d\n" % self.next + b"".join(rows))
        self._write(b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (self.next, identity, identity, start))

    # --- objects --------------------------------------------------------------------------------------

    @property
    def position(self) -> int:
        return self.stream.tell()

    def _write(self, data: bytes) -> None:
        self.stream.write(data)
        self.digest.update(data)

    def _fresh(self) -> int:
        number, self.next = self.next, self.next + 1
        return number

    def _number_of(self, obj) -> int:
        key = obj.objgen
        if key not in self.numbers:
            self.numbers[key] = self._fresh()
        return self.numbers[key]

    def _object(self, number: int, body: bytes, data: bytes | None = None) -> None:
        self.offsets[number] = self.position
        if data is None:
            self._write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        else:
            self._write(b"%d 0 obj\n" % number + body + b"\nstream\n" + data + b"\nendstream\nendobj\n")

    def _drain(self, pending: list) -> None:
        """Write the indirect objects referred to and not written yet (and theirs)."""
        while pending:
            obj = pending.pop()
            number = self._number_of(obj)
            if number in self.offsets:
                continue
            self.offsets[number] = -1  # being written: a reference back to it is a reference, not a second copy
            import pikepdf

            if isinstance(obj, pikepdf.Stream):
                data = obj.read_raw_bytes()
                entries = b"".join(b" " + bytes(key, "ascii") + b" " + self._value(obj[key], pending)
                                   for key in sorted(obj.keys()) if key != "/Length")
                self._object(number, b"<< /Length %d" % len(data) + entries + b" >>", data)
            else:
                self._object(number, self._value(obj, pending, direct=True))

    def _value(self, value, pending: list, direct: bool = False) -> bytes:
        """A value in PDF syntax; an indirect object becomes a reference (and is queued to be written)."""
        import pikepdf

        if isinstance(value, pikepdf.Object) and value.is_indirect and not direct:
            if value.objgen not in self.numbers or self.numbers[value.objgen] not in self.offsets:
                pending.append(value)
            return b"%d 0 R" % self._number_of(value)
        if isinstance(value, pikepdf.Dictionary):
            return b"<<" + b"".join(b" " + bytes(key, "ascii") + b" " + self._value(value[key], pending)
                                    for key in sorted(value.keys())) + b" >>"
        if isinstance(value, pikepdf.Array):
            return b"[" + b" ".join(self._value(item, pending) for item in value) + b"]"
        if isinstance(value, (pikepdf.Name, pikepdf.String)):
            return value.unparse()
        if isinstance(value, bool):
            return b"true" if value else b"false"
        if value is None:
            return b"null"
        return _number(value)


def _number(value) -> bytes:
    if isinstance(value, Decimal):
        text = format(value, "f")
        return (text.rstrip("0").rstrip(".") if "." in text else text).encode() or b"0"
    return str(int(value)).encode()
