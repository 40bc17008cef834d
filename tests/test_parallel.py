"""Chunks shared between this process and forked helpers: every task once, results in order, failures."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import build as build_module
from generator import parallel, spec
from generator.cli import main
from generator.model import BuildError

ROOT = Path(__file__).parents[1]


def slow_pid(k):
    time.sleep(0.1)
    return k, os.getpid()


def touch_and_maybe_fail(task):
    k, folder, failing, seconds = task
    (Path(folder) / str(k)).touch()
    if k in failing:
        raise ValueError(k)
    time.sleep(seconds)
    return k


def test_every_task_runs_once_here_or_on_a_helper_and_results_keep_their_order():
    arrived = {}
    with parallel.helpers(1) as helpers:
        results = parallel.share(slow_pid, list(range(6)), helpers, lambda k, result: arrived.setdefault(k, result))
    assert [k for k, _ in results] == list(range(6))
    assert arrived == dict(enumerate(results))
    assert len({pid for _, pid in results}) == 2 and os.getpid() in {pid for _, pid in results}


def test_a_failure_here_stops_new_tasks_and_is_raised(tmp_path):
    tasks = [(k, str(tmp_path), {1}, 0.3) for k in range(6)]
    with parallel.helpers(1) as helpers, pytest.raises(ValueError) as caught:
        parallel.share(touch_and_maybe_fail, tasks, helpers, lambda k, result: None)
    assert caught.value.args == (1,)  # task 0 went to the helper, task 1 failed here at once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1"]  # nothing started after it


def test_a_failure_on_a_helper_is_raised_and_the_first_in_order_wins(tmp_path):
    tasks = [(k, str(tmp_path), {0, 1}, 0.3) for k in range(6)]
    with parallel.helpers(1) as helpers, pytest.raises(ValueError) as caught:
        parallel.share(touch_and_maybe_fail, tasks, helpers, lambda k, result: None)
    assert caught.value.args == (0,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1"]


def test_helpers_are_wanted_for_several_chunks_only():
    assert parallel.helpers_wanted(1, 8, None) == 0  # one sheet: TeX beside SymPy instead
    assert parallel.helpers_wanted(8, 2, None) == 1
    assert parallel.helpers_wanted(8, 16, None) == len(parallel.chunks(8)) - 1
    assert parallel.helpers_wanted(8, 1, None) == 0
    assert parallel.helpers_wanted(8, 2, "K-7QX4") == 0


def test_reading_a_spec_does_not_import_sympy():
    """The helpers are forked after the spec is read: they import SymPy beside this process, not after it."""
    code = ("import sys\nfrom generator import cli, parallel, spec\n"
            "spec.load(cli.resolve_spec(None), variants=8)\nprint('sympy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr


def test_a_class_shared_with_helpers_is_byte_identical_to_one_built_alone(tmp_path):
    (tmp_path / "s.toml").write_text('title = "Shared"\nvariants = 5\n[[problem]]\nderivation = "vector-norms"\n')
    common = ["build", str(tmp_path / "s.toml"), "--no-cache", "--format", "pdf,tex,json"]
    alone = CliRunner().invoke(main, [*common, "--jobs", "1", "--out", str(tmp_path / "alone")])
    shared = CliRunner().invoke(main, [*common, "--jobs", "3", "--out", str(tmp_path / "shared")])
    assert alone.exit_code == 0 and shared.exit_code == 0, alone.output + shared.output
    names = sorted(os.listdir(tmp_path / "alone"))
    assert names == sorted(os.listdir(tmp_path / "shared")) and "print-worksheets.pdf" in names
    for name in names:
        assert (tmp_path / "shared" / name).read_bytes() == (tmp_path / "alone" / name).read_bytes(), name


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
