"""Printing for a class: variants, rosters, duplex-safe print files, reproducible bytes, one-variant rebuilds."""

import json
import subprocess

import pikepdf
import pytest
from click.testing import CliRunner

from derivbook import spec
from derivbook.build import build
from derivbook.cli import main
from derivbook.model import UserError

SPEC = """\
title = "Week 3 & 4: Attention"
course = "CS 4xx"
seed = 11

[[problem]]
derivation = "softmax-jacobian"

[[problem]]
derivation = "vector-norms"
"""
NAMES = ["Łukasz Żółć", "Seán O'Brien", "Anne-Marie Dvořák & Søn", "Jürgen Groß"]


@pytest.fixture(scope="module")
def class_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    (root / "week.toml").write_text(SPEC, encoding="utf-8")
    roster = root / "students.csv"
    roster.write_bytes(("\ufeffname,id\r\n" + "".join(f"{n},s{i}\r\n" for i, n in enumerate(NAMES))).encode())
    workbook = spec.load(root / "week.toml", roster=roster)
    build(workbook, root / "out")
    return root, workbook


def text(path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_one_named_sheet_and_key_per_student(class_build):
    root, _ = class_build
    data = json.loads((root / "out" / "answers.json").read_text())
    assert [v["student"] for v in data["variants"]] == NAMES
    for v in data["variants"]:
        sheet = text(root / "out" / f"worksheet-{v['id']}.pdf").replace("’", "'")
        assert v["student"] in sheet and f"({v['student_id']})" in sheet
        assert sheet.count(f"Variant {v['id']}") == sheet.count("\f")  # the id on every page
        for name in (f"worksheet-{v['id']}.pdf", f"answer-key-{v['id']}.pdf"):  # typeset in one batch, yet
            pages = text(root / "out" / name).split("\f")[:-1]  # each counts its own pages
            assert [f"Page {k} of {len(pages)}" in page for k, page in enumerate(pages, start=1)] == [True] * len(pages)
        assert v["student"] in text(root / "out" / f"answer-key-{v['id']}.pdf").replace("’", "'")


def test_print_file_starts_every_student_on_an_odd_page(class_build):
    root, _ = class_build
    data = json.loads((root / "out" / "answers.json").read_text())
    combined = root / "out" / "print-worksheets.pdf"
    page = 0
    for v in data["variants"]:
        assert page % 2 == 0  # 0-based even = printed odd
        first = text(combined, page + 1).replace("’", "'")
        assert v["student"] in first and v["id"] in first and "Page 1 of" in first
        count = len(pikepdf.open(root / "out" / f"worksheet-{v['id']}.pdf").pages)
        page += count + count % 2
        if count % 2:
            assert text(combined, page).strip() == ""  # the inserted blank page
    assert page == len(pikepdf.open(combined).pages)
    assert len(pikepdf.open(root / "out" / "answer-keys.pdf").pages) % 2 == 0


def rasters(pdf, folder, name, first=None, last=None) -> list[bytes]:
    pages = ["-f", str(first), "-l", str(last)] if first else []
    subprocess.run(["pdftoppm", "-r", "40", "-png", *pages, str(pdf), str(folder / name)], check=True)
    return [p.read_bytes() for p in sorted(folder.glob(f"{name}-*.png"))]


def test_the_print_files_pages_are_the_sheets_pages(class_build, tmp_path):
    """The print file is written batch by batch by derivbook's own PDF writer: it must show exactly the
    pages of each student's PDF (and be a PDF every reader takes: poppler renders it without complaint)."""
    root, _ = class_build
    data = json.loads((root / "out" / "answers.json").read_text())
    for kind, combined in (("worksheet", "print-worksheets.pdf"), ("answer-key", "answer-keys.pdf")):
        page = 1
        for v in data["variants"]:
            sheet = root / "out" / f"{kind}-{v['id']}.pdf"
            count = len(pikepdf.open(sheet).pages)
            assert rasters(root / "out" / combined, tmp_path, f"c-{kind}-{v['id']}", page, page + count - 1) == \
                rasters(sheet, tmp_path, f"s-{kind}-{v['id']}"), (kind, v["id"])
            page += count + count % 2
        check = subprocess.run(["pdfinfo", str(root / "out" / combined)], capture_output=True, text=True)
        assert check.returncode == 0 and not check.stderr, check.stderr


def test_variant_ids_differ_and_numbers_differ(class_build):
    root, _ = class_build
    data = json.loads((root / "out" / "answers.json").read_text())
    assert len({v["id"] for v in data["variants"]}) == len(NAMES)
    assert len({json.dumps(v["problems"][0]["inputs"]) for v in data["variants"]}) > 1


def test_same_spec_and_seed_give_identical_bytes(class_build, tmp_path):
    root, workbook = class_build
    build(workbook, tmp_path)
    for path in sorted((root / "out").iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_rebuilding_one_variant_by_id_gives_the_same_sheet(class_build, tmp_path):
    root, _ = class_build
    data = json.loads((root / "out" / "answers.json").read_text())
    wanted = data["variants"][2]["id"]
    args = ["build", str(root / "week.toml"), "--roster", str(root / "students.csv"), "--variant", wanted, "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "worksheet.pdf").read_bytes() == (root / "out" / f"worksheet-{wanted}.pdf").read_bytes()
    assert json.loads((tmp_path / "answers.json").read_text())["variants"] == [data["variants"][2]]


def test_unknown_variant_id_is_a_one_line_error(class_build, tmp_path):
    root, _ = class_build
    result = CliRunner().invoke(main, ["build", str(root / "week.toml"), "--variant", "Z-ZZZZ", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--variant Z-ZZZZ: no such variant for seed 11" in result.output


def test_inserting_a_problem_leaves_the_others_numbers(tmp_path):
    first = tmp_path / "a.toml"
    first.write_text(SPEC)
    second = tmp_path / "b.toml"
    second.write_text(SPEC.replace('[[problem]]\nderivation = "vector-norms"', '[[problem]]\nderivation = "pca"\n\n[[problem]]\nderivation = "vector-norms"'))
    a = json.loads(build_json(first, tmp_path / "a"))["variants"][0]["problems"]
    b = json.loads(build_json(second, tmp_path / "b"))["variants"][0]["problems"]
    assert [p["derivation"] for p in b] == ["softmax-jacobian", "pca", "vector-norms"]
    assert a[0]["inputs"] == b[0]["inputs"] and a[1]["inputs"] == b[2]["inputs"]


def build_json(path, out) -> str:
    build(spec.load(path, variants=2), out, ("json",))
    return (out / "answers.json").read_text()


@pytest.mark.parametrize(
    "row, message",
    [
        ("Ελένη Παπαδοπούλου", "row 3: the sheet's fonts cannot print 'Ε' (U+0395 GREEK CAPITAL LETTER EPSILON)"),
        ("Иван Петров", "row 3: the sheet's fonts cannot print 'И' (U+0418 CYRILLIC CAPITAL LETTER I)"),
        ("李华", "row 3: the sheet's fonts cannot print '李'"),
    ],
)
def test_unprintable_roster_names_name_the_row(tmp_path, row, message):
    (tmp_path / "week.toml").write_text(SPEC)
    roster = tmp_path / "r.csv"
    roster.write_text(f"name\nAda Lovelace\n{row}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(tmp_path / "week.toml"), "--roster", str(roster), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o").exists()


def test_roster_without_name_column(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("email\nada@example.org\n")
    with pytest.raises(UserError, match="no name column in the header 'email'; allowed: a header row with a column name"):
        spec.read_roster(roster)


def test_the_print_files_bytes_do_not_depend_on_the_process(class_build, tmp_path):
    """Two processes with different hash seeds merge the same batches into the same bytes."""
    import os
    import sys

    root, _ = class_build
    pages = [str(root / "out" / name) for name in sorted(os.listdir(root / "out")) if name.startswith("worksheet-") and name.endswith(".pdf")]
    code = ("import sys, pikepdf\nfrom pathlib import Path\nfrom derivbook.printfiles import duplex_merge\n"
            "paths = [Path(p) for p in sys.argv[2:]]\n"
            "duplex_merge([(p, [len(pikepdf.open(p).pages)]) for p in paths], Path(sys.argv[1]))\n")
    made = []
    for seed in ("1", "2"):
        target = tmp_path / f"merged-{seed}.pdf"
        subprocess.run([sys.executable, "-c", code, str(target), *pages], check=True,
                       env=dict(os.environ, PYTHONHASHSEED=seed))
        made.append(target.read_bytes())
    assert made[0] == made[1]
