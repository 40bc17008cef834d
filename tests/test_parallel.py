"""Problems split between this process and forked helpers: each helper's units in order, sent back as
they are made; failures in the order --jobs 1 meets them; the same bytes as --jobs 1."""

import os
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from click.testing import CliRunner

from derivbook import build as build_module
from derivbook import engine, parallel, spec
from derivbook.cli import main
from derivbook.model import BuildError, Math, Tex
from derivbook.seeding import problem_seed

ROOT = Path(__file__).parents[1]
# four cheap problems: --jobs 2 deals them [0, 3] here and [1, 2] to one helper, --jobs 3 [0], [1, 2], [3]
FOUR = 'variants = 8\n' + ''.join(f'[[problem]]\nderivation = "{d}"\n'
                                  for d in ("vector-norms", "gradient-clipping", "top-k-top-p", "attention-scores"))


def unit_and_pid(unit):
    return unit, os.getpid()


def touch_and_maybe_fail(unit):
    k, folder, failing = unit
    (Path(folder) / str(k)).touch()
    if k in failing:
        raise ValueError(k)
    return k


def slow_touch(unit):
    k, folder = unit
    (Path(folder) / str(k)).touch()
    time.sleep(0.2)
    return k


def die(unit):
    os._exit(3)


def serve(helpers, run, units):
    helpers.start(run, [units])
    return parallel.Arrivals(helpers)


def test_a_helper_sends_each_result_as_it_is_made_and_they_can_be_taken_in_any_order():
    with parallel.helpers(1) as helpers:
        arrivals = serve(helpers, unit_and_pid, list(range(4)))
        taken = [arrivals.take(1, k) for k in (2, 0, 3, 1)]
    assert [unit for unit, _ in taken] == [2, 0, 3, 1]
    assert {pid for _, pid in taken} != {os.getpid()} and len({pid for _, pid in taken}) == 1


def test_a_helper_stops_at_its_first_failure_and_sends_it_in_place_of_the_result(tmp_path):
    with parallel.helpers(1) as helpers:
        arrivals = serve(helpers, touch_and_maybe_fail, [(k, str(tmp_path), {1}) for k in range(4)])
        assert arrivals.take(1, 0) == 0
        with pytest.raises(ValueError) as caught:
            arrivals.take(1, 1)
    assert caught.value.args == (1,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1"]  # nothing started after it


def test_leaving_early_stops_the_helpers_after_the_unit_they_are_on(tmp_path):
    started = time.monotonic()
    with parallel.helpers(1) as helpers:
        arrivals = serve(helpers, slow_touch, [(k, str(tmp_path)) for k in range(50)])
        arrivals.take(1, 0)
    assert time.monotonic() - started < 5 and len(list(tmp_path.iterdir())) < 5


def test_leaving_after_a_failure_ends_the_helpers_at_once():
    """A bad --out or a failed problem here must not wait for the unit each helper is on."""
    started = time.monotonic()
    with pytest.raises(KeyError), parallel.helpers(1) as helpers:
        serve(helpers, time.sleep, [30])
        time.sleep(1)  # the helper is in its unit (or still importing SymPy)
        raise KeyError
    assert time.monotonic() - started < 20


def test_helpers_whose_last_results_are_never_read_still_exit():
    """After a failure here nobody reads the helpers' last results; 2 MB each fill the pipe, and a helper
    waiting for them to be read would keep the build from ever ending."""
    code = ("import time\nfrom derivbook import parallel\n"
            "def big(unit):\n    return b'x' * 2_000_000\n"
            "with parallel.helpers(1) as helpers:\n"
            "    helpers.start(big, [list(range(10))])\n"
            "    parallel.Arrivals(helpers).take(1, 0)\n"
            "    time.sleep(0.5)\n"
            "print('left')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == "left", result.stderr


def test_a_helper_that_dies_is_reported_not_waited_for():
    with parallel.helpers(1) as helpers, pytest.raises(BrokenProcessPool):
        serve(helpers, die, [1]).take(1, 0)


def test_helpers_are_wanted_for_several_variants_and_problems_only():
    assert parallel.helpers_wanted(1, 8, None, 14) == 0  # one sheet: TeX beside SymPy instead
    assert parallel.helpers_wanted(8, 2, None, 14) == 1
    assert parallel.helpers_wanted(8, 16, None, 3) == 1  # each helper has a problem of its own
    assert parallel.helpers_wanted(8, 16, None, 14) == 7
    assert parallel.helpers_wanted(8, 2, None, 2) == 1
    assert parallel.helpers_wanted(8, 1, None, 14) == 0
    assert parallel.helpers_wanted(8, 2, "K-7QX4", 14) == 0


def test_problems_are_dealt_out_in_turn():
    assert parallel.groups(7, 2) == [[0, 3, 6], [1, 2, 4, 5]]  # this process renders too: it takes fewer
    assert parallel.groups(5, 3) == [[0], [1, 2], [3, 4]]
    assert parallel.groups(2, 2) == [[0], [1]]
    for problems in range(1, 30):
        for jobs in range(2, 20):
            dealt = parallel.groups(problems, parallel.helpers_wanted(8, jobs, None, problems) + 1)
            assert all(dealt) and sorted(q for share in dealt for q in share) == list(range(problems))


def test_reading_a_spec_does_not_import_sympy():
    """The helpers are forked after the spec is read: they import SymPy beside this process, not after it."""
    code = ("import sys\nfrom derivbook import cli, parallel, spec\n"
            "spec.load(cli.resolve_spec(None), variants=8)\nprint('sympy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr


def test_helpers_are_set_to_work_on_their_share_of_every_chunk_as_they_are_forked(tmp_path):
    (tmp_path / "s.toml").write_text(FOUR)
    workbook = spec.load(tmp_path / "s.toml")
    with parallel.deriving(workbook, 1) as helpers:
        arrivals = parallel.Arrivals(helpers)
        parts = [arrivals.take(1, k) for k in (3, 0)]
    assert parts == [engine.derive_part((workbook, [6, 7], [1, 2])), engine.derive_part((workbook, [0, 1], [1, 2]))]
    assert parts[0][1] is None and len(parts[0][0]) == 2 and len(parts[0][0][0]) == 2


def test_a_class_shared_with_helpers_is_byte_identical_to_one_built_alone(tmp_path):
    (tmp_path / "s.toml").write_text('title = "Shared"\n' + FOUR.replace("variants = 8", "variants = 5"))
    common = ["build", str(tmp_path / "s.toml"), "--no-cache", "--format", "pdf,tex,json"]
    alone = CliRunner().invoke(main, [*common, "--jobs", "1", "--out", str(tmp_path / "alone")])
    shared = CliRunner().invoke(main, [*common, "--jobs", "3", "--out", str(tmp_path / "shared")])
    assert alone.exit_code == 0 and shared.exit_code == 0, alone.output + shared.output
    names = sorted(os.listdir(tmp_path / "alone"))
    assert names == sorted(os.listdir(tmp_path / "shared")) and "print-worksheets.pdf" in names
    for name in names:
        assert (tmp_path / "shared" / name).read_bytes() == (tmp_path / "alone" / name).read_bytes(), name


def test_a_divided_build_typesets_its_last_chunk_while_deriving_it(tmp_path, monkeypatch):
    (tmp_path / "s.toml").write_text(FOUR)
    workbook = spec.load(tmp_path / "s.toml")
    alone = build_module.build_chunks(workbook, jobs=1)
    batched = []
    real = build_module._typeset
    monkeypatch.setattr(build_module, "_typeset", lambda sources, names: batched.append(names) or real(sources, names))
    shared = build_module.build_chunks(workbook, jobs=2)
    assert len(batched) == 6 and not any(build_module.variant_id(workbook.seed, 7) in n for names in batched for n in names)
    assert [chunk.pdfs for chunk in shared] == [chunk.pdfs for chunk in alone]
    assert [[doc.source for doc in chunk.docs] for chunk in shared] == [[doc.source for doc in chunk.docs] for chunk in alone]


def test_typesetting_errors_come_in_the_order_jobs_1_meets_them(tmp_path, monkeypatch):
    (tmp_path / "s.toml").write_text('variants = 4\n[[problem]]\nderivation = "vector-norms"\n')
    workbook = spec.load(tmp_path / "s.toml")

    def failing(sources, names):
        raise BuildError(f"{names[0]}: broken")

    monkeypatch.setattr(build_module, "_typeset", failing)
    messages = []
    for jobs in (1, 2):
        with pytest.raises(BuildError) as caught:
            build_module.build_chunks(workbook, jobs=jobs)
        messages.append(str(caught.value))
    first = build_module.variant_id(workbook.seed, 0)
    assert messages == [f"s: worksheet-{first}: broken"] * 2


@pytest.mark.parametrize("tex_fails", [False, True], ids=["problems fail", "TeX fails on an earlier chunk"])
def test_the_error_reported_is_the_first_that_jobs_1_meets(tmp_path, monkeypatch, tex_fails):
    """In the second chunk (variants 2 and 3), variant 2's problem 2 fails first in --jobs 1's order, then its
    problem 4 and variant 3's problem 1: each on another process, this one last in order but first to
    report. A TeX error in the first chunk comes before all of them."""
    (tmp_path / "s.toml").write_text(FOUR)
    workbook = spec.load(tmp_path / "s.toml")
    assert [list(r) for r in parallel.chunks(8)][1] == [2, 3]
    keys = [request.key for request in workbook.requests]
    failing = {problem_seed(workbook.seed, 2, keys[1]): "first", problem_seed(workbook.seed, 2, keys[3]): "second",
               problem_seed(workbook.seed, 3, keys[0]): "third"}
    real = engine.make_problem

    def make_problem(derivation, params, seed, *args, **kwargs):
        if seed in failing:
            raise BuildError(failing[seed])
        return real(derivation, params, seed, *args, **kwargs)

    real_typeset = build_module._typeset

    def typeset(sources, names):
        if tex_fails and build_module.variant_id(workbook.seed, 0) in names[0]:
            raise BuildError(f"{names[0]}: broken")
        return real_typeset(sources, names)

    monkeypatch.setattr(engine, "make_problem", make_problem)
    monkeypatch.setattr(build_module, "_typeset", typeset)
    messages = first_errors(workbook)
    expected = f"s: worksheet-{build_module.variant_id(workbook.seed, 0)}: broken" if tex_fails else "first"
    assert messages == [expected] * 3


def first_errors(workbook) -> list[str]:
    """The error each of --jobs 1, 2 and 3 stops at."""
    messages = []
    for jobs in (1, 2, 3):
        with pytest.raises(BuildError) as caught:
            build_module.build_chunks(workbook, jobs=jobs)
        messages.append(str(caught.value))
    return messages


@pytest.mark.parametrize("failing, broken, first", [
    ({(6, 3): "first", (7, 0): "second"}, (), "first"),  # only this process's (typeset while it derives them)
    ({(6, 3): "first", (6, 1): "before it", (7, 0): "second"}, (), "before it"),  # a helper's comes earlier
    ({}, (7,), "worksheet"),  # TeX fails in the last chunk (worksheet first, as --jobs 1 typesets it)
    ({(7, 0): "second"}, (0,), "worksheet"),  # a TeX error of the first chunk comes before all of them
], ids=["this process's problem", "a helper's problem first", "TeX", "an earlier chunk's TeX first"])
def test_the_last_chunk_typeset_while_derived_fails_as_jobs_1_does(tmp_path, monkeypatch, failing, broken, first):
    """A divided build's last chunk (variants 6 and 7) is typeset while this process derives its problems
    (positions 0 and 3 with --jobs 2; with --jobs 3 position 3 is a helper's). Its errors, and TeX's, are
    the first that --jobs 1 meets."""
    (tmp_path / "s.toml").write_text(FOUR)
    workbook = spec.load(tmp_path / "s.toml")
    assert [list(r) for r in parallel.chunks(8)][-1] == [6, 7] and parallel.groups(4, 2)[0] == [0, 3]
    keys = [request.key for request in workbook.requests]
    seeds = {problem_seed(workbook.seed, index, keys[position]): text for (index, position), text in failing.items()}
    breaking = {problem_seed(workbook.seed, index, keys[0]) for index in broken}
    real = engine.make_problem

    def make_problem(derivation, params, seed, *args, **kwargs):
        if seed in seeds:
            raise BuildError(seeds[seed])
        problem = real(derivation, params, seed, *args, **kwargs)
        if seed in breaking:  # trusted LaTeX that TeX does not know, on the worksheet and in the key
            problem.statement = [*problem.statement, (Math(Tex(r"\nosuchmacro")),)]
        return problem

    monkeypatch.setattr(engine, "make_problem", make_problem)
    messages = first_errors(workbook)
    assert messages[1:] == messages[:1] * 2
    variant = build_module.variant_id(workbook.seed, broken[0]) if broken else None
    assert messages[0].startswith(f"s: {first}-{variant}:" if broken else first), messages[0]
