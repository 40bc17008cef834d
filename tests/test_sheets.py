"""The sheets' own lines: a long roster name, the answer key's note on rounding."""

import re
import subprocess

from derivbook import contract, render, spec
from derivbook.render import documents
from derivbook.texbuild import compile_batch
from tests.helpers import derived

LONG_NAMES = [
    "Maximiliana Alexandrina Konstantinopoulou-Vasquez de la Fuente y Montenegro Ruiz",
    "Wolfeschlegelsteinhausenbergerdorff-Pyeongchangssonnenschein Aleksandrovna Ørste",
]
SPEC = """title = "Roster"
[[problem]]
derivation = "softmax-jacobian"
n = 2
"""


def words(pdf: bytes, tmp_path, name: str) -> list[tuple[str, float, float, float]]:
    """(text, xMin, xMax, yMin) of each word on the first page, and the page's width as ("", 0, width, 0)."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    found = [(text, float(x0), float(x1), float(y0)) for x0, y0, x1, text in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)]
    return [("", 0.0, width, 0.0), *found]


def test_an_80_character_name_wraps_and_leaves_the_date_line_whole(tmp_path):
    assert all(len(name) == 80 for name in LONG_NAMES)
    (tmp_path / "s.toml").write_text(SPEC)
    roster = tmp_path / "roster.csv"
    roster.write_text("name,id\n" + f"{LONG_NAMES[0]},\n{LONG_NAMES[1]},S-2026-0001\nAda Lovelace,\n", encoding="utf-8")
    workbook = spec.load(tmp_path / "s.toml", roster=roster)
    docs = documents(workbook, derived(workbook), single=False)
    batch = compile_batch([d.source for d in docs], [d.stem for d in docs])
    assert batch.overfull == ()  # nothing runs into the margin
    for doc, pdf in zip(docs, batch.documents()):
        if doc.kind != "worksheet":
            continue
        (_, _, width, _), *found = words(pdf, tmp_path, doc.stem)
        margin = 2.2 / 2.54 * 72  # geometry: margin=2.2cm
        (date,) = [w for w in found if w[0] == "Date:"]
        # the date and its rule (0.28 of the text width) end at the right margin, on one line
        rule = 0.28 * (width - 2 * margin)
        assert date[1] > width / 2 and abs(date[2] + rule - (width - margin)) < 6, date
        # nothing of the name sits on the date's line to the right of where the date begins
        assert not [w for w in found if abs(w[3] - date[3]) < 3 and w[0] != "Date:" and w[2] > date[1] - 3]
        name_words = [w for w in found if w[3] < date[3] + 3 and w[0] not in ("Name:", "Date:")]
        assert all(w[2] <= width - margin + 1 for w in name_words)  # and the name keeps to the text width


def test_the_answer_key_states_the_rounding_the_contract_grades_by():
    key = render.environment().get_template("answer-key.tex.j2")
    variant = type("V", (), {"id": "A-AAAA", "student": None})()
    text = key.render(title="T", course=None, instructions=None, paper="a4", variant=variant, items=[])
    assert contract.DECIMAL_PLACES == 4 and render.in_words(contract.DECIMAL_PLACES) == "four"
    assert "rounded to four places unless its part asks for another rounding" in text
    assert "to the places shown" not in text
