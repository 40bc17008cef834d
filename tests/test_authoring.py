"""Derivations written outside the package: ``derivbook new``, a spec's folders, ``--derivations``,
DERIVBOOK_PATH and installed packs, treated like the built-in ones; and every author error one line, exit 2."""

import importlib.metadata
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from derivbook import cache, registry
from derivbook.authoring import load
from derivbook.cli import main
from derivbook.engine import make_problem
from tests.test_conformance import refuses_tampering, verifies_everywhere

ROOT = Path(__file__).parents[1]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


@pytest.fixture(scope="module")
def plug(tmp_path_factory) -> Path:
    """A folder with the starter ``derivbook new my-step`` wrote (and its test)."""
    folder = tmp_path_factory.mktemp("authoring") / "plug"
    result = invoke("new", "my-step", "--dir", folder)
    assert result.exit_code == 0, result.output
    return folder


def variant(plug: Path, folder: Path, derivation_id: str = "my-step", **edits) -> Path:
    """A copy of the starter in ``folder`` under ``derivation_id``, each ``old=new`` edit made exactly once."""
    text = (plug / "my_step.py").read_text().replace('ID = "my-step"', f'ID = "{derivation_id}"')
    for old, new in edits.values():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{derivation_id.replace('-', '_')}.py"
    path.write_text(text)
    return path


def spec(tmp_path: Path, folders: list[str], *problems: str, extra: str = "") -> Path:
    path = tmp_path / "course.toml"
    path.write_text(f'title = "Own derivations"\nderivations = {json.dumps(folders)}\n{extra}'
                    + "".join(f'[[problem]]\nderivation = "{p}"\n' for p in problems))
    return path


def one_error(result, code: int = 2) -> str:
    """The single line a refused command printed (asserting the exit code and that it is no internal error)."""
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], result.output
    return lines[0]


# --- the route the issue asks for -------------------------------------------------------------------


def test_new_then_a_spec_with_its_folder_builds_a_worksheet_and_key_with_its_title(plug, tmp_path):
    assert sorted(p.name for p in plug.iterdir()) == ["my_step.py", "test_my_step.py"]
    title = load(plug / "my_step.py").title
    (tmp_path / "plug").symlink_to(plug)  # the spec names its folder relative to itself
    result = invoke("build", spec(tmp_path, ["plug"], "my-step"), "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for name in ("worksheet.pdf", "answer-key.pdf"):
        assert title in " ".join(pdf_text(tmp_path / "out" / name).split())
    problem = json.loads((tmp_path / "out" / "answers.json").read_text())["variants"][0]["problems"][0]
    assert problem["derivation"] == "my-step" and problem["verified"] == {"exact": True, "numeric": True}
    assert {m["name"] for part in problem["answer"].values() for m in part["mistakes"]} <= {
        "dropped-factor-two", "ratio-of-sums"}


def test_the_starter_checks_and_passes_its_own_test(plug):
    result = invoke("check", "--derivations", plug, "--only", "my-step", "--seeds", "5")
    assert result.exit_code == 0 and "my-step" in result.output, result.output
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(plug / "test_my_step.py")],
                           capture_output=True, text=True, cwd=plug.parent)
    assert tests.returncode == 0 and "5 passed" in tests.stdout, tests.stdout + tests.stderr


def test_the_starter_meets_the_contract_every_derivation_is_held_to(plug, monkeypatch):
    derivation = registry.get("my-step", folders=[plug])
    assert verifies_everywhere(derivation, monkeypatch)[1] == {"dropped-factor-two", "ratio-of-sums"}
    assert refuses_tampering(derivation, monkeypatch) == ["loss", "slope", "w_star"]


def test_new_refuses_an_existing_file_an_invalid_id_and_a_taken_one(plug, tmp_path):
    before = (plug / "my_step.py").read_bytes()
    assert "already exists" in one_error(invoke("new", "my-step", "--dir", plug))
    assert (plug / "my_step.py").read_bytes() == before
    for bad in ("My-Step", "my_step", "test-it", "x-", "x" * 61):
        assert "an id is lowercase" in one_error(invoke("new", bad, "--dir", tmp_path / "a"))
    assert "softmax_jacobian.py" in one_error(invoke("new", "softmax-jacobian", "--dir", tmp_path / "b"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_wrong_exact_answer_fails_the_build_naming_the_derivation_and_part(plug, tmp_path):
    variant(plug, tmp_path / "wrong", edit=('"w_star": best[0]}', '"w_star": best[0] + 1}'))
    result = invoke("build", spec(tmp_path, ["wrong"], "my-step"), "--format", "json", "--out", tmp_path / "out")
    line = one_error(result, 1)
    assert "my-step (seed" in line and "answer w_star failed the exact check" in line
    assert not (tmp_path / "out").exists()


def test_an_id_defined_twice_is_refused_naming_both_files(plug, tmp_path):
    clash = variant(plug, tmp_path / "mine", "softmax-jacobian")
    line = one_error(invoke("build", spec(tmp_path, ["mine"], "softmax-jacobian"), "--format", "json"))
    builtin = registry.builtin_source().folder / "softmax_jacobian.py"
    assert str(clash) in line and str(builtin) in line and "defined twice" in line
    other = variant(plug, tmp_path / "other")
    line = one_error(invoke("list", "--derivations", plug, "--derivations", other.parent))
    assert str(plug / "my_step.py") in line and str(other) in line


# --- where derivations come from --------------------------------------------------------------------


def test_list_show_and_check_take_derivations_and_so_does_derivbook_path(plug, monkeypatch):
    listed = invoke("list", "--derivations", plug)
    assert listed.exit_code == 0 and "my-step" in listed.output and f"from {plug / 'my_step.py'}" in listed.output
    assert "optimisation" in listed.output  # topics are open
    assert "Verified: exact ok, numeric ok" in invoke("show", "my-step", "--derivations", plug, "--set", "n=2").output
    assert "unknown derivation 'my-step'" in one_error(invoke("show", "my-step"))
    monkeypatch.setenv("DERIVBOOK_PATH", os.pathsep.join(["", str(plug)]))
    assert "my-step" in invoke("list").output
    assert invoke("check", "--only", "my-step", "--seeds", "1").exit_code == 0
    monkeypatch.setenv("DERIVBOOK_PATH", str(plug / "missing"))
    assert one_error(invoke("list")).startswith("derivbook: error: DERIVBOOK_PATH: no folder")
    monkeypatch.delenv("DERIVBOOK_PATH")
    assert "does not exist" in one_error(invoke("list", "--derivations", plug / "missing"))


def test_a_spec_names_its_folders_relative_to_itself_and_refuses_bad_ones(plug, tmp_path):
    assert "no folder 'nowhere'" in one_error(invoke("build", spec(tmp_path, ["nowhere"], "my-step")))
    (tmp_path / "bad.toml").write_text('derivations = "plug"\n[[problem]]\nderivation = "my-step"\n')
    assert "derivations: must be a list of folder names" in one_error(invoke("build", tmp_path / "bad.toml"))


def test_an_installed_pack_is_found_by_its_entry_point(plug, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "coursepack" / "derivations").mkdir(parents=True)
    (site / "coursepack" / "__init__.py").write_text("")
    (site / "coursepack" / "derivations" / "__init__.py").write_text("")
    variant(plug, site / "coursepack" / "derivations", "pack-step")
    dist = site / "coursepack-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: coursepack\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[console_scripts]\nx = y:z\n\n[derivbook.derivations]\ncourse = coursepack.derivations\n")
    monkeypatch.syspath_prepend(str(site))
    registry.installed_packs.cache_clear()
    try:
        ours = [(name, value) for _, name, value in registry.installed_packs()]
        theirs = [(e.name, e.value) for e in importlib.metadata.entry_points(group=registry.ENTRY_POINTS)]
        assert ours == theirs == [("course", "coursepack.derivations")]
        derivation = registry.get("pack-step")
        assert derivation.module_name == "coursepack.derivations.pack_step" and not derivation.builtin
        assert make_problem(derivation, {"n": 2}, 3).derivation == "pack-step"  # found, imported, and verified (or it raises)
        assert "pack-step" in invoke("list").output
    finally:
        registry.installed_packs.cache_clear()
        for name in [n for n in sys.modules if n.startswith("coursepack")]:
            del sys.modules[name]


def test_outside_derivations_work_in_helper_processes_and_pickle(plug, tmp_path):
    (tmp_path / "plug").symlink_to(plug)
    course = spec(tmp_path, ["plug"], "my-step", "my-step", extra="variants = 4\n")
    result = invoke("build", course, "--format", "json", "--jobs", "2", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert len(json.loads((tmp_path / "out" / "answers.json").read_text())["variants"]) == 4
    derivation = registry.get("my-step", folders=[plug])
    assert pickle.loads(pickle.dumps(derivation)) == derivation
    # an object of a class the file defines unpickles in a process that never imported the file
    (tmp_path / "marked").mkdir()
    (tmp_path / "marked" / "marker.py").write_text("class Marker:\n    colour = 'red'\n")
    module = __import__(registry.by_path_name(tmp_path / "marked" / "marker.py"))
    data = pickle.dumps(module.Marker())
    code = "import pickle, sys, derivbook.registry; print(pickle.loads(sys.stdin.buffer.read()).colour)"
    fresh = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True)
    assert fresh.stdout.strip() == b"red", fresh.stderr


# --- caches keyed by the outside derivation's own source ---------------------------------------------


def test_a_derive_once_result_is_keyed_by_its_own_files_source(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "_current", cache.Cache(tmp_path / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # Python's own cache would hide the edit
    path = tmp_path / "memo.py"
    name = registry.by_path_name(path)
    results = []
    for value in (1, 22):
        path.write_text(f"from derivbook.authoring import derive_once\n\n@derive_once\ndef derive():\n    return {value}\n")
        sys.modules.pop(name, None)
        results.append(__import__(name).derive())  # a new process would do the same: memory empty, disk kept
    sys.modules.pop(name, None)
    assert results == [1, 22]


def test_editing_an_outside_derivation_misses_the_build_cache(plug, tmp_path):
    variant(plug, tmp_path / "mine")
    args = ["build", spec(tmp_path, ["mine"], "my-step"), "--format", "json", "--out", tmp_path / "out"]
    assert "unchanged" not in invoke(*args).output
    assert "unchanged" in invoke(*args).output
    variant(plug, tmp_path / "mine", edit=("dice.integer(-2, 9)", "dice.integer(-2, 8)"))
    result = invoke(*args)
    assert result.exit_code == 0 and "unchanged" not in result.output


def test_listing_a_folder_reads_declarations_without_importing_sympy(plug, tmp_path):
    env = dict(os.environ, DERIVBOOK_CACHE=str(tmp_path / "cache"))
    for _ in range(2):  # parsed, then remembered
        listed = subprocess.run([sys.executable, "-X", "importtime", "-m", "derivbook", "list", "--derivations", str(plug)],
                                capture_output=True, text=True, cwd=ROOT, env=env)
        assert listed.returncode == 0 and "my-step" in listed.stdout and "sympy" not in listed.stderr


# --- author errors ----------------------------------------------------------------------------------

AUTHOR_ERRORS = {  # an edit of the starter -> what the one line says (after "FILE:")
    "syntax": (("size = params[\"n\"]", "size = params[\"n\""), r"\d+: syntax error"),
    "no numeric_answer": (("def numeric_answer(", "def numeric_answr("), r" no def numeric_answer\(inputs, params\)"),
    "documented old signature": (("def exact_answer(inputs: dict, params: dict)", "def exact_answer(inputs: dict)"),
                                 r"\d+: exact_answer must be a function of \(inputs, params\)"),
    "bad id": (('ID = "my-step"', 'ID = "My step"'), r"\d+: ID: an id is lowercase"),
    "unbounded parameter": (("low=2, high=6", "low=2"), r"\d+: PARAMS 'n': an int or float parameter needs low= and high="),
    "default out of range": (('Param("n", int, 3,', 'Param("n", int, 9,'), r"\d+: PARAMS 'n': the default"),
    "failing import": (("import mpmath\n", "import mpmath\nimport no_such_module\n"),
                       r"\d+: importing it failed: ModuleNotFoundError"),
    "unbalanced $ in the title": (('TITLE = "Least', 'TITLE = "$Least'), r"\d+: TITLE has an unbalanced \$"),
    "no TOPIC": (('TOPIC = "optimisation"\n', ""), r" no TOPIC"),
    "TOPIC only annotated": (('TOPIC = "optimisation"\n', "TOPIC: str\n"), r" no TOPIC"),
}


@pytest.mark.parametrize("cached", [True, False], ids=["cache on", "cache off"])
@pytest.mark.parametrize("case", AUTHOR_ERRORS)
def test_an_author_error_is_one_line_naming_file_and_line(plug, tmp_path, monkeypatch, case, cached):
    edit, message = AUTHOR_ERRORS[case]
    if case == "failing import":  # only a non-literal declaration makes listing import the file
        path = variant(plug, tmp_path / "mine", edit=edit, params=("high=6)", "high=LARGEST)"))
    else:
        path = variant(plug, tmp_path / "mine", edit=edit)
    if not cached:
        monkeypatch.setenv("DERIVBOOK_CACHE", "off")
    for _ in range(2):  # the second time, a remembered reading must not hide the error
        line = one_error(invoke("list", "--derivations", path.parent))
        assert line.startswith(f"derivbook: error: {path}:"), line
        assert re.match(message, line[len(f"derivbook: error: {path}:"):]), line


@pytest.mark.parametrize("cached", [True, False], ids=["cache on", "cache off"])
def test_a_file_renamed_away_from_its_id_is_refused(plug, tmp_path, monkeypatch, cached):
    if not cached:
        monkeypatch.setenv("DERIVBOOK_CACHE", "off")
    path = variant(plug, tmp_path / "mine")
    assert invoke("list", "--derivations", path.parent).exit_code == 0  # read (and remembered) under its name
    path.rename(path.with_name("renamed.py"))
    line = one_error(invoke("list", "--derivations", path.parent))
    assert "renamed.py:" in line and "declares ID 'my-step', so the file must be named my_step.py" in line
    assert "renamed.py" in one_error(invoke("show", "my-step", "--derivations", path.parent))


def test_topics_are_open_and_parameters_may_be_named_constants(plug, tmp_path):
    path = variant(plug, tmp_path / "mine", topic=('TOPIC = "optimisation"', 'TOPIC = "fitting a model"'),
                   params=("high=6)", "high=LARGEST)"), constant=("\nID = ", "\nLARGEST = 5\nID = "))
    derivation = registry.get("my-step", folders=[path.parent])
    assert derivation.topic == "fitting a model" and derivation.params[0].high == 5
    listed = invoke("list", "--derivations", path.parent)
    assert "fitting a model" in listed.output and "an integer from 2 to 5" in listed.output
    assert "must be an integer from 2 to 5, got 6" in one_error(
        invoke("show", "my-step", "--derivations", path.parent, "--set", "n=6"))


def test_a_runtime_error_in_a_derivation_names_its_line(plug, tmp_path):
    path = variant(plug, tmp_path / "mine", edit=("    general = derive()\n", "    general = derive()\n    1 / 0\n"))
    line = one_error(invoke("show", "my-step", "--derivations", path.parent), 1)
    assert "my-step (seed 1): ZeroDivisionError" in line and f"(at {path}:" in line


def test_an_unclosed_dollar_in_a_reason_fails_the_derivation_not_the_printer(plug, tmp_path):
    path = variant(plug, tmp_path / "mine", edit=('"square each $x_k$ and add"', '"square each $x_k and add"'))
    line = one_error(invoke("show", "my-step", "--derivations", path.parent), 1)
    assert "my-step (seed 1): unbalanced $ in 'square each $x_k and add'" in line


def test_the_example_in_docs_authoring_is_real(tmp_path, monkeypatch):
    """docs/authoring.md's listings, written out as an author would: checked, tested, built."""
    text = (ROOT / "docs" / "authoring.md").read_text()
    listings = re.findall(r"<!-- file: (\S+)[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert [name for name, _ in listings] == ["course/rmsnorm_gradient.py", "course/test_rmsnorm_gradient.py"]
    for name, code in listings:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(code)
    course = tmp_path / "course"
    derivation = registry.get("rmsnorm-gradient", folders=[course])
    assert verifies_everywhere(derivation, monkeypatch)[1] == {"norm-not-rms", "r-held-constant"}
    assert refuses_tampering(derivation, monkeypatch) == ["r", "y", "dx"]
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(course)],
                           capture_output=True, text=True, cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    result = invoke("build", spec(tmp_path, ["course"], "rmsnorm-gradient", "layernorm-gradient"), "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "RMSNorm and its gradient" in pdf_text(tmp_path / "out" / "answer-key.pdf")


def test_version():
    from derivbook import __version__

    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"derivbook {__version__}"
