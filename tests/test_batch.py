"""Many documents in one pdflatex run: the same pages as compiled alone, errors traced to their source."""

import subprocess

import pytest
from click.testing import CliRunner

from generator import spec
from generator.build import MOST_PER_CHUNK, build_chunks, chunks, documents, variants_of
from generator.cli import main
from generator.model import BuildError
from generator.texbuild import compile_batch, tex_environment

SPEC = """title = "Batch"
seed = 3
[[problem]]
derivation = "temperature-sampling"
[[problem]]
derivation = "softmax-jacobian"
"""


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 9, 30, 200, 201])
def test_chunks_cover_every_variant_in_order_and_depend_on_the_count_only(count):
    plan = chunks(count)
    assert [i for r in plan for i in r] == list(range(count))
    assert all(0 < len(r) <= MOST_PER_CHUNK for r in plan)
    assert max(len(r) for r in plan) - min(len(r) for r in plan) <= 1  # balanced
    assert len(plan) >= min(count, 4)  # a small class still spreads over cores
    assert chunks(count) == plan


def rasters(pdf: bytes, folder, name) -> list[bytes]:
    (folder / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", f"{name}.pdf", name], cwd=folder, check=True)
    return [p.read_bytes() for p in sorted(folder.glob(f"{name}-*.png"))]


def latexmk(source: str, folder) -> bytes:
    folder.mkdir()
    (folder / "doc.tex").write_text(source, encoding="utf-8")
    subprocess.run(["latexmk", "-pdf", "-quiet", "doc.tex"], cwd=folder, env=tex_environment(folder), check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    return (folder / "doc.pdf").read_bytes()


def test_batched_pages_are_pixel_identical_to_each_document_compiled_alone(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=3)
    docs = documents(workbook, variants_of(workbook), single=False)
    for kind in ("worksheet", "answer-key"):
        group = [d for d in docs if d.kind == kind]
        batch = compile_batch([d.source for d in group], [d.stem for d in group])
        assert len(batch.counts) == 3
        for doc, pdf in zip(group, batch.documents()):
            alone = latexmk(doc.source, tmp_path / doc.stem)  # what a teacher gets from the .tex alone
            assert rasters(pdf, tmp_path, f"b-{doc.stem}") == rasters(alone, tmp_path, f"a-{doc.stem}"), doc.stem


def test_a_latex_error_in_a_batch_names_the_document_problem_and_line(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=2)
    group = [d for d in documents(workbook, variants_of(workbook), single=False) if d.kind == "worksheet"]
    lines = group[1].source.splitlines()
    line = next(k for k, text in enumerate(lines) if text.startswith("\\problemheading{2}")) + 2
    broken = "\n".join([*lines[: line - 1], "\\undefinedmacro", *lines[line - 1 :]]) + "\n"
    with pytest.raises(BuildError) as caught:
        compile_batch([group[0].source, broken], [group[0].stem, group[1].stem])
    message = str(caught.value)
    assert message.startswith(f"{group[1].stem}: problem 2, line {line}: Undefined control sequence"), message
    assert "\n" not in message


def test_one_variant_rebuilt_by_id_is_byte_identical_to_its_place_in_the_class(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    common = ["build", str(tmp_path / "s.toml"), "--variants", "6"]  # chunks of 2, 2, 1, 1
    assert CliRunner().invoke(main, [*common, "--out", str(tmp_path / "class")]).exit_code == 0
    workbook = spec.load(tmp_path / "s.toml", variants=6)
    second = [v.id for v in variants_of(workbook)][1]  # shares its chunk (and its fonts) with the first
    result = CliRunner().invoke(main, [*common, "--variant", second, "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    for kind in ("worksheet", "answer-key"):
        assert (tmp_path / "one" / f"{kind}.pdf").read_bytes() == (tmp_path / "class" / f"{kind}-{second}.pdf").read_bytes()
    assert [len(c.variants) for c in build_chunks(workbook, pdf=False)] == [2, 2, 1, 1]


def test_an_error_outside_every_document_names_the_batch_it_stopped():
    source = "\\documentclass{article}\n\\usepackage{nosuchpackage}\n\\begin{document}\nHello\n\\end{document}\n"
    with pytest.raises(BuildError) as caught:
        compile_batch([source, source], ["week: worksheet-A", "week: worksheet-B"])
    assert str(caught.value) == ("week: worksheet-A (and 1 more in its batch): LaTeX package nosuchpackage is missing "
                                 "(Debian: apt-get install the TeX Live package that provides it)")


def test_progress_counts_every_variant_once(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=5)
    steps = []
    build_chunks(workbook, jobs=2, pdf=False, progress=steps.append)
    assert sum(steps) == 5 and len(steps) == len(chunks(5))
