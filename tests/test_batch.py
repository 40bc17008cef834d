"""Many documents in one pdflatex run: the same pages as compiled alone, errors traced to their source."""

import gzip
import subprocess

import pytest
from click.testing import CliRunner

from derivbook import spec, texbuild
from derivbook.build import MOST_PER_CHUNK, build, chunk_indices
from derivbook.cli import main
from derivbook.model import BuildError
from derivbook.render import documents
from derivbook.texbuild import compile_batch, tex_environment
from tests.helpers import derived

SPEC = """title = "Batch"
seed = 3
[[problem]]
derivation = "temperature-sampling"
[[problem]]
derivation = "softmax-jacobian"
"""


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 9, 30, 200, 201])
def test_chunks_cover_every_variant_in_order_and_depend_on_the_count_only(count):
    plan = chunk_indices(count)
    assert [i for r in plan for i in r] == list(range(count))
    assert all(0 < len(r) <= MOST_PER_CHUNK for r in plan)
    assert max(len(r) for r in plan) - min(len(r) for r in plan) <= 1  # balanced
    assert len(plan) >= min(count, 4)  # a small class still spreads over cores
    assert chunk_indices(count) == plan


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
    docs = documents(workbook, derived(workbook), single=False)
    for kind in ("worksheet", "answer-key"):
        group = [d for d in docs if d.kind == kind]
        batch = compile_batch([d.source for d in group], [d.stem for d in group])
        assert len(batch.counts) == 3
        for doc, pdf in zip(group, batch.documents()):
            alone = latexmk(doc.source, tmp_path / doc.stem)  # what a teacher gets from the .tex alone
            assert rasters(pdf, tmp_path, f"b-{doc.stem}") == rasters(alone, tmp_path, f"a-{doc.stem}"), doc.stem


def test_the_preamble_format_is_kept_uncompressed_and_typesets_the_same_bytes(tmp_path, monkeypatch):
    """pdflatex dumps its formats gzipped; the cache keeps them plain (faster to load) and TeX makes the same PDF."""
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=2)
    group = [d for d in documents(workbook, derived(workbook), single=False) if d.kind == "answer-key"]
    sources, names = [d.source for d in group], [d.stem for d in group]
    fmt = texbuild.preamble_format(sources[0], tmp_path)
    assert fmt is not None and fmt.read_bytes()[:2] != b"\x1f\x8b"
    plain = compile_batch(sources, names)  # no cache here: each is typeset
    zipped = tmp_path / "zipped.fmt"
    zipped.write_bytes(gzip.compress(fmt.read_bytes()))
    monkeypatch.setattr(texbuild, "preamble_format", lambda source, temp: zipped)
    assert compile_batch(sources, names).pdf == plain.pdf


def broken_batch(tmp_path) -> tuple[list[str], list[str], int]:
    """Two worksheets, the second with an undefined macro in its problem 2: sources, names, that line."""
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=2)
    group = [d for d in documents(workbook, derived(workbook), single=False) if d.kind == "worksheet"]
    lines = group[1].source.splitlines()
    line = next(k for k, text in enumerate(lines) if text.startswith("\\problemheading{2}")) + 2
    broken = "\n".join([*lines[: line - 1], "\\undefinedmacro", *lines[line - 1 :]]) + "\n"
    return [group[0].source, broken], [group[0].stem, group[1].stem], line


def test_a_latex_error_in_a_batch_names_the_document_problem_and_line(tmp_path):
    sources, names, line = broken_batch(tmp_path)
    with pytest.raises(BuildError) as caught:
        compile_batch(sources, names)
    message = str(caught.value)
    assert message.startswith(f"{names[1]}: problem 2, line {line}: Undefined control sequence"), message
    assert "\n" not in message


def test_one_variant_rebuilt_by_id_is_byte_identical_to_its_place_in_the_class(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    common = ["build", str(tmp_path / "s.toml"), "--variants", "6"]  # chunks of 2, 2, 1, 1
    assert CliRunner().invoke(main, [*common, "--out", str(tmp_path / "class")]).exit_code == 0
    workbook = spec.load(tmp_path / "s.toml", variants=6)
    second = [v.id for v in derived(workbook)][1]  # shares its chunk (and its fonts) with the first
    assert chunk_indices(6) == [[0, 1], [2, 3], [4], [5]]
    result = CliRunner().invoke(main, [*common, "--variant", second, "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    for kind in ("worksheet", "answer-key"):
        assert (tmp_path / "one" / f"{kind}.pdf").read_bytes() == (tmp_path / "class" / f"{kind}-{second}.pdf").read_bytes()


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
    build(workbook, tmp_path / "out", ("json",), jobs=2, progress=steps.append)
    assert sum(steps) == 5 and len(steps) == len(chunk_indices(5))


def test_a_tex_loop_is_stopped_by_the_time_limit(monkeypatch):
    monkeypatch.setattr(texbuild, "TIME_LIMIT", 2)
    source = "\\documentclass{article}\n\\begin{document}\n\\def\\x{\\x}\\x\n\\end{document}\n"
    with pytest.raises(BuildError, match="ran longer than 2 s and was stopped"):
        compile_batch([source], ["loop"])
