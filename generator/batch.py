"""Many documents in one pdflatex run: the combined document, and cutting its PDF apart again.

Compiled one by one, each answer key needs two passes for "Page x of y", each loading the format; many
keys in one document share one run (docs/performance.md). The combined document needs a single pass: it
holds each document's pages back until the document ends, so its page total is known before a footer is
typeset. The documents' own .tex files stay standard LaTeX (lastpage, two passes with latexmk); this
wrapper exists only here. It relies on what our templates do not use: running heads from marks
(\\markboth) and \\thispagestyle, which would be read when the held pages are shipped rather than when
they were made.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from derivbook.model import BuildError

BATCH_MACROS = r"""\makeatletter
\newwrite\derivbook@pages \immediate\openout\derivbook@pages=doc.pages
\newcount\derivbook@held \newcount\derivbook@k \newcount\derivbook@first
\newbox\derivbook@box \derivbook@first=\allocationnumber
\derivbook@k=1 \loop\ifnum\derivbook@k<%(hold)d \newbox\derivbook@box \advance\derivbook@k by 1 \repeat
\def\@elt#1{\noexpand\setcounter{#1}{\the\value{#1}}}
\xdef\derivbook@counters{\cl@@ckpt}\let\@elt\relax
\let\derivbook@outputpage\@outputpage
\def\@outputpage{%% hold the page body; headers and footers wait until the page total is known
  \ifnum\derivbook@held=%(hold)d \errmessage{more than %(hold)d pages in one document}\fi
  \global\setbox\numexpr\derivbook@first+\derivbook@held\relax\box\@outputbox
  \global\advance\derivbook@held by 1
  \global\@colht\textheight \stepcounter{page}\let\firstmark\botmark}
\def\derivbook@flush{\clearpage
  \immediate\write\derivbook@pages{\the\derivbook@held}%%
  \expandafter\xdef\csname r@LastPage\endcsname{{}{\the\derivbook@held}{}{}{}}%%
  \setcounter{page}{1}\global\derivbook@k=0
  \loop\ifnum\derivbook@k<\derivbook@held
    \global\setbox\@outputbox\box\numexpr\derivbook@first+\derivbook@k\relax
    \global\advance\derivbook@k by 1 \derivbook@outputpage
  \repeat
  \global\derivbook@held=0 }
\def\derivbookdocument{\derivbook@flush\derivbook@counters}
\makeatother
"""
HOLD = 400  # pages one document may have


MARKER = "\n\\begin{document}\n"
END = "\n\\end{document}"


def combine(sources: list[str]) -> tuple[str, list[int]]:
    """One LaTeX document typesetting ``sources`` (same preamble) one after another, each from page 1.

    Also returns the line of the combined file where each document's body starts (to name errors).
    """
    preamble = _parts(sources[0])[0]
    text = [preamble, "\\begin{document}\n", BATCH_MACROS % {"hold": HOLD}]
    lines, starts = sum(part.count("\n") for part in text), []
    for source in sources:
        own_preamble, body = _parts(source)
        if own_preamble != preamble:
            raise BuildError("documents batched together must share one preamble")
        text.append("\\derivbookdocument\n")
        starts.append(lines + 2)
        text.append(body)
        lines += 1 + body.count("\n")
    text.append("\\derivbookdocument\n\\end{document}\n")
    return "".join(text), starts


def _parts(source: str) -> tuple[str, str]:
    """A document's preamble and its body (between \\begin{document} and \\end{document})."""
    start, end = source.find(MARKER), source.rfind(END)
    if start < 0 or end < start:
        raise BuildError("a batched document needs \\begin{document} and \\end{document} on lines of their own")
    return source[: start + 1], source[start + len(MARKER) : end + 1]


def locate(message: str, starts: list[int], sources: list[str], names: list[str]) -> str:
    """Rewrite ``./doc.tex:LINE: …`` of the combined file to the document, problem and line it came from."""
    found = re.match(r"\./doc\.tex:(\d+): (.*)", message)
    context = re.search(r"\bl\.(\d+)", message)  # errors without a file:line prefix still give their l.N
    line = int(found.group(1)) if found else int(context.group(1)) if context else 0
    if line < starts[0]:  # not in any document's body: the preamble, a missing package, a time limit
        others = f" (and {len(names) - 1} more in its batch)" if len(names) > 1 else ""
        return f"{names[0]}{others}: {message}"
    index = max(i for i, start in enumerate(starts) if start <= line)
    detail = found.group(2) if found else message.removeprefix("! ")
    # the body's line in the document's own .tex (as written by --format tex)
    own = line - starts[index] + _parts(sources[index])[0].count("\n") + 2
    before = "\n".join(sources[index].splitlines()[:own])
    problem = re.findall(r"\\problemheading\{(\d+)\}", before)
    where = f"problem {problem[-1]}, " if problem else ""
    detail = re.sub(r"\bl\.\d+", f"l.{own}", detail)
    return f"{names[index]}: {where}line {own}: {detail}"


OVERFULL = re.compile(r"^Overfull \\hbox \((\d+(?:\.\d+)?pt) too wide\) (in paragraph|in alignment|detected) at lines? (\d+)",
                      re.MULTILINE)


def overfull_lines(log: str, starts: list[int], sources: list[str], names: list[str]) -> tuple[str, ...]:
    """Every overfull line in a batch's log, located to its document, problem and line (``locate``):
    ``"<name>: problem 2, line 40: Overfull \\hbox (28.1pt too wide) in paragraph"``."""
    return tuple(locate(f"./doc.tex:{line}: Overfull \\hbox ({width} too wide) {where}", starts, sources, names)
                 for width, where, line in OVERFULL.findall(log))


@dataclass(frozen=True)
class Batch:
    """Documents compiled together: the combined PDF and each document's number of pages, in order, and
    the overfull lines TeX reported (``overfull_lines``)."""

    pdf: bytes
    counts: tuple[int, ...]
    overfull: tuple[str, ...] = ()

    def ranges(self) -> list[range]:
        """Each document's pages (0-based) in the combined PDF."""
        starts = [sum(self.counts[:k]) for k in range(len(self.counts))]
        return [range(start, start + count) for start, count in zip(starts, self.counts)]

    def documents(self) -> list[bytes]:
        """One PDF per document, cut out of the combined one (which is the document, when it is alone)."""
        if len(self.counts) == 1:
            return [self.pdf]
        import pikepdf  # only here and for print files: a one-sheet build does without it

        with pikepdf.open(io.BytesIO(self.pdf)) as combined:
            return [save(combined, pages) for pages in self.ranges()]


def save(source, pages) -> bytes:
    """A new PDF of ``pages`` of ``source`` (a pikepdf.Pdf), written reproducibly (a fixed /ID)."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.pages.extend(source.pages[k] for k in pages)
    buffer = io.BytesIO()
    pdf.save(buffer, static_id=True)
    return buffer.getvalue()
