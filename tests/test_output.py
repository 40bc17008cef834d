"""What a build may touch: never a file it did not write, never a class build by a regeneration; nothing
left behind by a killed build; a cache that stays within its bound and never stops a build."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from derivbook import cache
from derivbook.cli import main
from tests.helpers import descendants, typesetting

ONE = '[[problem]]\nderivation = "vector-norms"\n'


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture
def spec_file(tmp_path):
    (tmp_path / "week.toml").write_text(ONE)
    return tmp_path / "week.toml"


def test_a_teachers_file_survives_every_later_build(tmp_path, spec_file):
    out = tmp_path / "out"
    assert run("build", spec_file, "--variants", "3", "--format", "json,tex", "--out", out).exit_code == 0
    (out / "notes.txt").write_text("collect on Friday")
    (out / "marked").mkdir()
    (out / "marked" / "ada.pdf").write_bytes(b"scan")
    for extra in (["--variants", "3"], ["--variants", "3", "--format", "html"], ["--seed", "9", "--variants", "2"]):
        result = run("build", spec_file, *extra, "--out", out)
        assert result.exit_code == 0, result.output
        assert (out / "notes.txt").read_text() == "collect on Friday"
        assert (out / "marked" / "ada.pdf").read_bytes() == b"scan"
    assert len(list(out.glob("worksheet-*.pdf"))) == 2  # the last build's, none of the earlier plan's


def test_another_format_of_the_same_build_adds_to_it(tmp_path, spec_file):
    out = tmp_path / "out"
    assert run("build", spec_file, "--variants", "2", "--out", out).exit_code == 0
    pdfs = {p.name: p.read_bytes() for p in out.glob("*.pdf")}
    result = run("build", spec_file, "--variants", "2", "--format", "html,moodle,json", "--out", out)
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in out.glob("*.pdf")} == pdfs and len(pdfs) == 6
    assert (out / "index.html").exists() and (out / "week-moodle.xml").exists()
    again = run("build", spec_file, "--variants", "2", "--format", "pdf,html", "--out", out)
    assert "unchanged" in again.output


def test_a_regenerated_sheet_has_its_own_folder_and_never_replaces_the_class(tmp_path, spec_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("build", spec_file, "--variants", "4").exit_code == 0
    data = json.loads((tmp_path / "build" / "week" / "answers.json").read_text())
    one = data["variants"][2]["id"]
    result = run("build", spec_file, "--variants", "4", "--variant", one)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "build" / f"week-{one}" / "worksheet.pdf").exists()
    assert len(list((tmp_path / "build" / "week").glob("worksheet-*.pdf"))) == 4
    refused = run("build", spec_file, "--variants", "4", "--variant", one, "--out", tmp_path / "build" / "week")
    assert refused.exit_code == 2 and "holds the class build of 4 variants" in refused.output
    assert f"build/week-{one}" in refused.output


def test_a_killed_build_leaves_no_process_and_the_next_build_no_leftover(tmp_path):
    (tmp_path / "big.toml").write_text("variants = 60\n" + ONE + ONE.replace("vector-norms", "softmax-jacobian"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "derivbook", "build", str(tmp_path / "big.toml"), "--out", str(out),
                                "--jobs", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tex = typesetting(process)
    started = descendants(process.pid)  # the workers, and what pdflatex still runs
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # a worker that outlived it would hold its stderr open
    time.sleep(2)
    assert not [pid for pid in started + tex if Path(f"/proc/{pid}").exists()], "a process outlived the killed build"
    assert any(tmp_path.glob(".out.staging-*")) and any(scratch.glob("derivbook-build-*"))
    (tmp_path / "small.toml").write_text(ONE)
    assert subprocess.run([sys.executable, "-m", "derivbook", "build", str(tmp_path / "small.toml"), "--format", "json",
                           "--out", str(out)], env=env, capture_output=True).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.toml", "out", "small.toml", "tmp"]
    assert not list(scratch.iterdir()) and sorted(p.name for p in out.iterdir()) == [".derivbook-output", "answers.json"]


@pytest.mark.parametrize("setting", ["read-only folder", "a file"])
def test_an_unusable_cache_is_one_warning_and_the_build_goes_on(tmp_path, spec_file, setting):
    folder = tmp_path / "cache"
    if setting == "a file":
        folder.write_text("not a folder")
    else:
        folder.mkdir()
        folder.chmod(0o500)
    if setting != "a file" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    result = run("build", spec_file, "--format", "json", "--out", tmp_path / "out", env={"DERIVBOOK_CACHE": str(folder)})
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "going on without a cache" in warnings[0]


def test_a_read_only_home_builds_without_a_cache(tmp_path, spec_file):
    """HOME on a read-only file system (here: a path under a file, which no one can create)."""
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    result = run("build", spec_file, "--format", "json", "--out", tmp_path / "out",
                 env={"DERIVBOOK_CACHE": "", "XDG_CACHE_HOME": "", "HOME": str(home)})
    assert result.exit_code == 0 and "going on without a cache" in result.output


def test_the_cache_drops_its_least_recently_used_entries_beyond_its_bound(tmp_path):
    store = cache.Cache(tmp_path, limit=2500)
    for k in range(5):
        store.store("pdf", f"entry{k}", b"x" * 1000)
        os.utime(tmp_path / "pdf" / f"entry{k}", (1000 + k, 1000 + k))
    assert store.load("pdf", "entry0") is not None  # used just now: the newest
    store.prune()
    assert sorted(p.name for p in (tmp_path / "pdf").iterdir()) == ["entry0", "entry4"]
    (tmp_path / "mine.txt").write_text("not the cache's")
    store.clear()
    assert not list((tmp_path / "pdf").iterdir()) and (tmp_path / "mine.txt").exists()


def test_cache_info_and_clear(tmp_path, spec_file):
    env = {"DERIVBOOK_CACHE": str(tmp_path / "c"), "DERIVBOOK_CACHE_SIZE": "300M"}
    assert run("build", spec_file, "--out", tmp_path / "out", env=env).exit_code == 0
    info = run("cache", "info", env=env)
    assert info.exit_code == 0 and str(tmp_path / "c") in info.output and "of at most 300 MB" in info.output
    assert " 0 entries" not in info.output
    cleared = run("cache", "clear", env=env)
    assert cleared.exit_code == 0 and "removed" in cleared.output
    assert " 0 entries" in run("cache", "info", env=env).output
    assert run("cache", "info", env={"DERIVBOOK_CACHE_SIZE": "lots"}).exit_code == 2


def test_no_cache_builds_again_what_is_unchanged(tmp_path, spec_file):
    out = tmp_path / "out"
    assert run("build", spec_file, "--format", "json", "--out", out).exit_code == 0
    assert "unchanged" in run("build", spec_file, "--format", "json", "--out", out).output
    again = run("build", spec_file, "--format", "json", "--out", out, "--no-cache")
    assert again.exit_code == 0 and "unchanged" not in again.output and "wrote 1 files" in again.output


def test_an_older_versions_folder_keeps_the_teachers_files_and_is_not_replaced_by_one_sheet(tmp_path, spec_file):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".derivbook-output").write_bytes(b"written by derivbook; the next build replaces \xff this directory whole\n")
    for name in ("worksheet-A-AAAA.pdf", "answer-keys.pdf", "answers.json"):
        (out / name).write_bytes(b"old")
    (out / "marks.csv").write_text("Ada,9\n")
    refused = run("build", spec_file, "--variants", "3", "--variant", "X-XXXX", "--out", out)
    assert refused.exit_code == 2  # (no such variant, or an earlier build there: never one sheet over a class)
    result = run("build", spec_file, "--variants", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "marks.csv").read_text() == "Ada,9\n" and not (out / "worksheet-A-AAAA.pdf").exists()
    ids = [v["id"] for v in json.loads((out / "answers.json").read_text())["variants"]]
    assert run("build", spec_file, "--variants", "2", "--variant", ids[0], "--out", out).exit_code == 2


def test_an_output_folder_given_as_a_symlink_or_as_dot_is_built_where_it_really_is(tmp_path, spec_file, monkeypatch):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert run("build", spec_file, "--format", "json", "--out", tmp_path / "link").exit_code == 0
    assert (real / "answers.json").exists() and (tmp_path / "link").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real", "week.toml"]
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = run("build", spec_file, "--format", "json", "--out", ".")
    assert result.exit_code == 0, result.output
    assert (here / "answers.json").exists() and not [p for p in tmp_path.iterdir() if "staging" in p.name]


def test_a_mount_point_is_refused_with_where_to_build_instead(tmp_path, spec_file, monkeypatch):
    from derivbook import output

    (tmp_path / "mnt").mkdir()
    monkeypatch.setattr(output.os.path, "ismount", lambda path: str(path).endswith("mnt"))
    result = run("build", spec_file, "--format", "json", "--out", tmp_path / "mnt")
    assert result.exit_code == 2 and "is a mount point" in result.output and "mnt/build" in result.output


def test_a_file_written_during_the_swap_and_a_private_folder_survive_as_they_were(tmp_path, spec_file, monkeypatch):
    from derivbook import output

    out = tmp_path / "out"
    assert run("build", spec_file, "--format", "json", "--out", out).exit_code == 0
    out.chmod(0o700)
    (out / "grades").mkdir(mode=0o700)
    (out / "grades" / "marks.csv").write_text("first\n")
    real = output._exchange

    def late_writer(a, b):  # grading writes while the new build is being swapped in
        (out / "grades" / "marks.csv").unlink()
        (out / "grades" / "marks.csv").write_text("second\n")
        (out / "late.txt").write_text("late\n")
        return real(a, b)

    monkeypatch.setattr(output, "_exchange", late_writer)
    assert run("build", spec_file, "--format", "json", "--seed", "3", "--out", out).exit_code == 0
    assert (out / "grades" / "marks.csv").read_text() == "second\n" and (out / "late.txt").read_text() == "late\n"
    assert out.stat().st_mode & 0o777 == 0o700 and (out / "grades").stat().st_mode & 0o777 == 0o700


def test_a_file_derivbook_wrote_and_the_teacher_changed_is_kept_beside_the_new_one(tmp_path, spec_file):
    out = tmp_path / "out"
    assert run("build", spec_file, "--out", out).exit_code == 0
    with open(out / "answer-key.pdf", "ab") as key:
        key.write(b"% my annotations")
    result = run("build", spec_file, "--out", out)
    assert result.exit_code == 0 and "was changed since derivbook wrote it" in result.output
    assert (out / "answer-key (edited).pdf").read_bytes().endswith(b"% my annotations")
    assert not (out / "answer-key.pdf").read_bytes().endswith(b"% my annotations")



def test_a_changed_file_of_a_format_not_rebuilt_is_kept_too(tmp_path, spec_file):
    out = tmp_path / "out"
    assert run("build", spec_file, "--out", out).exit_code == 0
    with open(out / "answer-key.pdf", "ab") as key:
        key.write(b"% my annotations")
    result = run("build", spec_file, "--format", "html", "--out", out)  # the PDFs are not rebuilt
    assert result.exit_code == 0 and "was changed since derivbook wrote it" in result.output
    assert (out / "answer-key (edited).pdf").read_bytes().endswith(b"% my annotations")
    assert (out / "worksheet.pdf").exists() and (out / "index.html").exists()

def test_a_build_killed_between_the_fallback_renames_gets_its_output_back(tmp_path, spec_file):
    out = tmp_path / "out"
    assert run("build", spec_file, "--format", "json", "--out", out).exit_code == 0
    (out / "notes.txt").write_text("mine\n")
    old = tmp_path / ".out.old-abc123"
    old.mkdir()
    out.rename(old / "old")  # killed here: no output folder, the previous one set aside
    assert run("build", spec_file, "--format", "json", "--seed", "4", "--out", out).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine\n" and not old.exists()
