"""Many documents in one pdflatex run: the same pages as compiled alone, errors traced to their source."""

import gzip
import os
import random
import subprocess

import pytest
from click.testing import CliRunner

from derivbook import build as build_module
from derivbook import cache, engine, spec, texbuild
from derivbook.build import MOST_PER_CHUNK, build_chunks, chunks, documents, variants_of
from derivbook.cli import main
from derivbook.model import BuildError
from derivbook.texbuild import Combiner, Stream, combine, compile_batch, tex_environment

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


def test_the_preamble_format_is_kept_uncompressed_and_typesets_the_same_bytes(tmp_path, monkeypatch):
    """pdflatex dumps its formats gzipped; the cache keeps them plain (faster to load) and TeX makes the same PDF."""
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=2)
    group = [d for d in documents(workbook, variants_of(workbook), single=False) if d.kind == "answer-key"]
    sources, names = [d.source for d in group], [d.stem for d in group]
    fmt = texbuild.preamble_format(sources[0])
    assert fmt is not None and fmt.read_bytes()[:2] != b"\x1f\x8b"
    monkeypatch.setattr(texbuild.cache, "load", lambda kind, key: None)  # both typeset: none from the PDF cache
    plain = compile_batch(sources, names)
    zipped = tmp_path / "zipped.fmt"
    zipped.write_bytes(gzip.compress(fmt.read_bytes()))
    monkeypatch.setattr(texbuild, "preamble_format", lambda source: zipped)
    assert compile_batch(sources, names).pdf == plain.pdf


def broken_batch(tmp_path) -> tuple[list[str], list[str], int]:
    """Two worksheets, the second with an undefined macro in its problem 2: sources, names, that line."""
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=2)
    group = [d for d in documents(workbook, variants_of(workbook), single=False) if d.kind == "worksheet"]
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


# --- typesetting while deriving (a lone sheet with a core to spare) ---------------------------------------


def test_the_combined_document_is_the_same_whole_or_piece_by_piece(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=3)
    sources = [d.source for d in documents(workbook, variants_of(workbook), single=False) if d.kind == "answer-key"]
    dice = random.Random(5)
    combiner, text = Combiner(), []
    for source in sources:
        start = 0
        while start < len(source):
            size = dice.choice([1, 7, 300, 2000])
            text.append(combiner.feed(source[start : start + size]))
            start += size
        text.append(combiner.end())
    text.append(combiner.close())
    assert ("".join(text), combiner.starts) == combine(sources)
    assert combiner.sources == sources


def test_a_sheet_typeset_while_derived_is_byte_identical_to_one_compiled_after(tmp_path, monkeypatch):
    (tmp_path / "s.toml").write_text(SPEC)
    streamed = []
    monkeypatch.setattr(build_module.Stream, "finish", spy(build_module.Stream.finish, streamed))
    common = ["build", str(tmp_path / "s.toml"), "--no-cache", "--format", "pdf,tex,json"]
    after = CliRunner().invoke(main, [*common, "--jobs", "1", "--out", str(tmp_path / "after")])
    assert after.exit_code == 0 and not streamed, after.output
    during = CliRunner().invoke(main, [*common, "--jobs", "2", "--out", str(tmp_path / "during")])
    assert during.exit_code == 0 and len(streamed) == 2, during.output  # worksheet and key, each one pipe
    names = sorted(os.listdir(tmp_path / "after"))
    assert names == sorted(os.listdir(tmp_path / "during")) and "answer-key.pdf" in names
    for name in names:
        assert (tmp_path / "during" / name).read_bytes() == (tmp_path / "after" / name).read_bytes(), name


def spy(method, calls):
    def wrapper(self, *args):
        calls.append(self)
        return method(self, *args)

    return wrapper


def test_a_latex_error_while_streaming_is_traced_as_in_a_batch(tmp_path):
    sources, names, line = broken_batch(tmp_path)
    with pytest.raises(BuildError) as batched:
        compile_batch(sources, names)
    with Stream(names) as stream, pytest.raises(BuildError) as streamed:
        for source in sources:
            for start in range(0, len(source), 500):
                stream.feed(source[start : start + 500])
                stream.flush()
            stream.end()
        stream.finish()
    assert str(streamed.value) == str(batched.value)
    assert str(streamed.value).startswith(f"{names[1]}: problem 2, line {line}: Undefined control sequence")


def test_documents_streamed_again_are_taken_from_the_cache_and_pdflatex_is_stopped(tmp_path, monkeypatch):
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml", variants=2)
    sources = [d.source for d in documents(workbook, variants_of(workbook), single=False) if d.kind == "worksheet"]
    monkeypatch.setattr(cache, "_enabled", True)  # a --no-cache build earlier in this process turned it off
    batch = compile_batch(sources, ["a", "b"])
    monkeypatch.setattr(texbuild, "_result", None)  # what pdflatex made is not read this time
    with Stream(["a", "b"]) as stream:
        for source in sources:
            stream.feed(source)
            stream.end()
        assert stream.finish() == batch
        assert stream._process.returncode != 0  # stopped, not waited for


def test_a_tex_loop_while_streaming_is_stopped_by_the_time_limit():
    with Stream(["loop"], time_limit=2) as stream, pytest.raises(BuildError, match="ran longer than 2 s and was stopped"):
        stream.feed("\\documentclass{article}\n\\begin{document}\n\\def\\x{\\x}\\x\n" + "filler\n" * 100000 + "\\end{document}\n")
        stream.end()
        stream.finish()


def test_a_failed_derivation_while_streaming_stops_pdflatex_and_leaves_nothing(tmp_path, monkeypatch):
    (tmp_path / "s.toml").write_text(SPEC)
    workbook = spec.load(tmp_path / "s.toml")
    started = []
    monkeypatch.setattr(build_module.Stream, "flush", spy(build_module.Stream.flush, started))
    real = engine.make_problem

    def second_fails(derivation, *args):
        if derivation.id == "softmax-jacobian":
            raise BuildError("softmax-jacobian: a failure in the middle of a sheet")
        return real(derivation, *args)

    monkeypatch.setattr(engine, "make_problem", second_fails)
    with pytest.raises(BuildError, match="in the middle of a sheet"):
        build_chunks(workbook, jobs=2)
    streams = {id(s): s for s in started}.values()
    assert len(streams) == 2 and all(s._process is not None for s in streams)  # TeX had started
    assert all(s._process.poll() is not None for s in streams)  # and was stopped
    assert not any(s._workdir.exists() for s in streams)
