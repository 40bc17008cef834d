"""End to end: the default workbook compiled to PDFs whose text is checked with pdftotext."""

import json
import subprocess
from pathlib import Path

import pytest
import sympy

from derivbook import spec
from derivbook.build import build
from derivbook.model import BuildError
from derivbook.spec import bundled_spec
from derivbook.texbuild import compile_batch
from tests.test_catalog import CATALOG, flatten


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.fixture(scope="module")
def default_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    workbook = spec.load(bundled_spec("llm-foundations"), seed=7)
    build(workbook, out)
    return workbook, out


def test_default_build_writes_both_pdfs_and_answers(default_build):
    _, out = default_build
    assert sorted(p.name for p in out.iterdir()) == [
        ".derivbook-output", "answer-key.pdf", "answer-key.tex", "answers.json", "worksheet.pdf", "worksheet.tex",
    ]


def test_pdf_text_shows_title_variant_and_problems(default_build):
    workbook, out = default_build
    data = json.loads((out / "answers.json").read_text())
    variant = data["variants"][0]["id"]
    sheet, key = pdf_text(out / "worksheet.pdf"), pdf_text(out / "answer-key.pdf")
    for text in (sheet, key):
        assert workbook.title in text and variant in text
        assert f"Page 1 of {text.count(chr(12))}" in text  # "page x of y" with the real total
        for n in range(1, len(workbook.requests) + 1):
            assert f"Problem {n}" in text
    assert "Name:" in sheet and "Solution" not in sheet and "Answer" not in sheet
    assert key.count("Solution.") == len(workbook.requests)
    assert key.count("The general result") == len(workbook.requests)
    assert pages(out / "answer-key.pdf") >= pages(out / "worksheet.pdf")
    assert len(key) > 1.5 * len(sheet)


def test_answers_json_matches_the_design(default_build):
    workbook, out = default_build
    data = json.loads((out / "answers.json").read_text())
    assert (data["schema"], data["title"], data["seed"]) == (2, workbook.title, "7")
    (variant,) = data["variants"]
    assert variant["student"] is None
    for number, problem in enumerate(variant["problems"], start=1):
        inputs, parts = CATALOG[problem["derivation"]]
        assert problem["number"] == number
        assert set(problem["inputs"]) == inputs and set(problem["answer"]) == parts
        assert problem["verified"] == {"exact": True, "numeric": True}
        for part in problem["answer"].values():
            exact = flatten(sympy.sympify(part["exact"]))
            assert [float(v) for v in exact] == pytest.approx(flatten(part["value"]), rel=1e-12)


def test_numbers_printed_in_key_match_the_worksheet(default_build):
    _, out = default_build
    data = json.loads((out / "answers.json").read_text())
    softmax = next(p for p in data["variants"][0]["problems"] if p["derivation"] == "attention-scaling")
    d = str(softmax["inputs"]["d"])
    assert f"d = {d}" in pdf_text(out / "worksheet.pdf") and f"d = {d}" in pdf_text(out / "answer-key.pdf")


def test_same_seed_same_bytes(default_build, tmp_path):
    _, first = default_build
    build(spec.load(bundled_spec("llm-foundations"), seed=7), tmp_path)
    for name in ("answers.json", "worksheet.tex", "answer-key.tex", "worksheet.pdf", "answer-key.pdf"):
        assert (tmp_path / name).read_bytes() == (first / name).read_bytes(), name


def test_other_seed_other_numbers(default_build, tmp_path):
    _, first = default_build
    build(spec.load(bundled_spec("llm-foundations"), seed=8), tmp_path, ("json",))
    assert (tmp_path / "answers.json").read_text() != (first / "answers.json").read_text()


def test_no_overfull_lines_in_the_default_documents(default_build):
    _, out = default_build
    for name in ("worksheet.tex", "answer-key.tex"):
        source = (out / name).read_text()
        log = compile_log(source)
        assert "Overfull \\hbox" not in log, name


def compile_log(source: str) -> str:
    import tempfile

    from derivbook.texbuild import tex_environment

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "doc.tex").write_text(source)
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-draftmode", "doc.tex"], cwd=tmp,
                       env=tex_environment(Path(tmp)), capture_output=True, check=True, stdin=subprocess.DEVNULL)
        return Path(tmp, "doc.log").read_text(errors="replace")


def test_tex_cannot_read_files_outside_its_directory():
    source = "\\documentclass{article}\n\\begin{document}\n\\input{/etc/hostname}\n\\end{document}\n"
    with pytest.raises(BuildError, match=r"^leak: line 3: LaTeX Error: File `/etc/hostname\.tex' not found"):
        compile_batch([source], ["leak"])
    reading = "\\documentclass{article}\n\\begin{document}\n\\newread\\r\\openin\\r=/etc/hostname \\read\\r to\\x[\\x]\n\\end{document}\n"
    with pytest.raises(BuildError, match="Emergency stop"):  # \openin refused; \read then finds stdin closed
        compile_batch([reading], ["read"])


def test_latex_failure_names_the_document_and_the_error_line():
    source = "\\documentclass{article}\n\\begin{document}\n\\undefinedmacro\n\\end{document}\n"
    with pytest.raises(BuildError, match=r"^week-3: worksheet: line 3: Undefined control sequence\. l\.3 \\undefinedmacro$"):
        compile_batch([source], ["week-3: worksheet"])
