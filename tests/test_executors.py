"""Every executor runs the same function on the same chunks: the same bytes, the same first error."""

import os

import pytest
from click.testing import CliRunner

from derivbook import build as build_module
from derivbook import engine, spec
from derivbook.cli import main
from derivbook.model import BuildError
from derivbook.seeding import problem_seed

FOUR = """variants = 8
[[problem]]
derivation = "vector-norms"
[[problem]]
derivation = "softmax-jacobian"
[[problem]]
derivation = "attention-scaling"
[[problem]]
derivation = "logsumexp"
"""


def outputs(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_every_executor_and_the_cache_give_the_bytes_of_the_serial_path(tmp_path):
    (tmp_path / "s.toml").write_text('title = "Shared"\n' + FOUR.replace("variants = 8", "variants = 5"))
    common = ["build", str(tmp_path / "s.toml"), "--format", "pdf,tex,json,html,moodle"]
    runs = {"serial": ["--jobs", "1", "--no-cache"], "two": ["--jobs", "2", "--no-cache"],
            "three": ["--jobs", "3"], "cached": ["--jobs", "3"]}
    for name, extra in runs.items():
        result = CliRunner().invoke(main, [*common, *extra, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    serial = outputs(tmp_path / "serial")
    assert "print-worksheets.pdf" in serial and "answers.json" in serial and len(serial) > 20
    for name in ("two", "three", "cached"):
        assert outputs(tmp_path / name).keys() == serial.keys()
        for file, data in outputs(tmp_path / name).items():
            if file != ".derivbook-output":
                assert data == serial[file], (name, file)


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_the_error_reported_is_the_first_in_the_order_of_the_variants(tmp_path, monkeypatch, jobs):
    """Variant 2's second problem (second chunk) and variant 7's first (last chunk) fail; on a pool the last
    chunk can fail first in time, but the build stops at the error --jobs 1 meets first."""
    (tmp_path / "s.toml").write_text(FOUR)
    workbook = spec.load(tmp_path / "s.toml")
    assert build_module.chunk_indices(8)[1] == [2, 3]
    keys = [request.key for request in workbook.requests]
    failing = {problem_seed(workbook.seed, 2, keys[1]): "first", problem_seed(workbook.seed, 7, keys[0]): "second"}
    real = engine.make_problem

    def make_problem(derivation, params, seed, *args, **kwargs):
        if seed in failing:
            raise BuildError(failing[seed])
        return real(derivation, params, seed, *args, **kwargs)

    monkeypatch.setattr(engine, "make_problem", make_problem)
    with pytest.raises(BuildError, match="^first$"):
        build_module.build(workbook, tmp_path / "out", ("json",), jobs=jobs)
    assert not (tmp_path / "out").exists()


def test_a_worker_that_dies_fails_the_build_with_one_line(tmp_path, monkeypatch):
    (tmp_path / "s.toml").write_text(FOUR)
    workbook = spec.load(tmp_path / "s.toml")
    real = engine.derive_variant

    def dies(requests, seed, variant):
        if variant.index == 5:
            os._exit(9)  # killed, out of memory: no exception, no result
        return real(requests, seed, variant)

    monkeypatch.setattr(build_module, "derive_variant", dies)
    with pytest.raises(BuildError, match="a worker process stopped"):
        build_module.build(workbook, tmp_path / "out", ("json",), jobs=2)
