"""Hostile strings, bad input and faults: nothing leaks, nothing is lost, every failure is one line."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivbook import spec, texbuild
from derivbook.batch import Batch
from derivbook.build import build
from derivbook.cli import main
from derivbook.engine import BudgetExceeded, make_problem
from derivbook.model import BuildError, UserError
from derivbook.registry import get
from derivbook.render import documents
from derivbook.texbuild import compile_batch, first_error
from tests.helpers import derived, descendants, typesetting

TINY = '[[problem]]\nderivation = "vector-norms"\n'

# (string, refused): each hostile string either prints literally or is refused with a one-line error.
ATTACKS = [
    (r"\input{/etc/passwd}", False),
    (r"\include{/etc/hostname}", False),
    (r"\openin5=/etc/hostname \read5 to\x \x", False),
    (r"\immediate\write18{touch /tmp/pwned}", False),
    (r"\write18{id}", False),
    (r"\csname input\endcsname{/etc/passwd}", False),
    (r"\catcode`\@=0 @input{/etc/passwd}", False),
    (r"\catcode92=12", False),
    ("^^5cinput^^7b/etc/passwd^^7d", False),
    ("^^M^^J^^@", False),
    (r"\def\x{\x}\x", False),
    (r"\loop\iftrue\repeat", False),
    (r"\end{document}", False),
    (r"\documentclass{article}\begin{document}", False),
    ("}}}}{{{{", False),
    ("{unbalanced", False),
    ("100% of $x^2_i$ & #1 ~ | < > \\", False),
    ("% comment $ math $ # _ ^ &", False),
    ("a--b---c << >> ,, `` '' !` ?`", False),
    ('"quoted" and \'single\'', False),
    (r"\usepackage{shellesc}\ShellEscape{ls}", False),
    (r"\pdfobj{stream file {/etc/passwd}}", False),
    (r"\special{pdf: }", False),
    (r"$\mathbb{R}$ \[ x \] \( y \)", False),
    (r"\\\\ \par \newpage \clearpage", False),
    ("Łukasz Żółć, Dvořák, Ørsted, Seán O'Brien & Søn", False),
    ("Ștefan Ţiriac, Ķēniņš, Ąžuolas", False),
    ("tab\there  and\nnewline", False),
    ("x" * 120, False),
    ("x" * 121, True),
    ("NUL\x00byte", True),
    ("escape\x1b[31mred", True),
    ("bell\x07", True),
    ("delete\x7f", True),
    ("Ελληνικά", True),
    ("Русский", True),
    ("中文名字", True),
    ("日本語", True),
    ("עברית", True),
    ("العربية", True),
    ("हिन्दी", True),
    ("emoji 😀", True),
    ("right-to-left \u202e override", True),
    ("zero\u200bwidth", True),
    ("Nguyễn", True),
]


def fold(text: str) -> str:
    """What pdftotext can give back: accents built by TeX drop out of the text layer; spaces differ."""
    # TeX sets comma-below and (Latvian) cedilla accents as a separate comma glyph in the text layer
    text = unicodedata.normalize("NFKD", text).replace("\u0326", ",").replace("\u0327", ",")
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = text.translate(str.maketrans({"ı": "i", "ȷ": "j", "Đ": "Ð", "‐": "-", "‑": "-", "‒": "–", "―": "—", "⁎": "∗"}))
    return "".join(unicodedata.normalize("NFKC", text).split())


def spec_with_title(tmp_path: Path, title: str) -> Path:
    path = tmp_path / "hostile.toml"
    path.write_text(f"title = {json.dumps(title, ensure_ascii=False)}\n" + TINY, encoding="utf-8")
    return path


def worksheet_text(workbook) -> str:
    """Compile the first variant's worksheet (one pass) and read it back."""
    doc = documents(workbook, derived(workbook), single=True)[0]
    (pdf,) = compile_batch([doc.source], ["hostile"]).documents()
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()


@pytest.mark.parametrize("attack, refused", ATTACKS)
def test_each_attack_string_is_refused_in_one_line_or_accepted(tmp_path, attack, refused):
    path = spec_with_title(tmp_path, attack)
    if refused:
        with pytest.raises(UserError) as caught:
            spec.load(path)
        assert "\n" not in str(caught.value) and str(caught.value).startswith(str(path))
    else:
        assert spec.load(path).title == " ".join(attack.split())


def test_accepted_attack_strings_print_literally(tmp_path):
    printed = [a for a, refused in ATTACKS if not refused]
    chunks, current = [], []
    for attack in printed:  # instructions hold up to 600 characters: a few compiles for all of them
        if sum(len(a) + 3 for a in current) + len(attack) > 590:
            chunks.append(current)
            current = []
        current.append(attack)
    chunks.append(current)
    for chunk in chunks:
        path = tmp_path / "many.toml"
        path.write_text(f"title = {json.dumps(chunk[0], ensure_ascii=False)}\ninstructions = {json.dumps(' ¶ '.join(chunk), ensure_ascii=False)}\n" + TINY)
        text = fold(worksheet_text(spec.load(path)))
        for attack in chunk:
            assert fold(attack) in text, attack
    assert not Path("/tmp/pwned").exists()


ALPHABET = st.sampled_from(
    list("abcXYZ019 \\{}$&#^_~%[]<>|'\"`-,.!?@=*/:;()") + list("éüßøÅçñŁżŠțĞ¶§©«»–—") + ["\t", "\n", "\x00", "\x1b", "Ω", "ж", "中", "😀", "\u202e"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.text(ALPHABET, min_size=1, max_size=40))
def test_fuzz_any_title_prints_back_or_is_refused(tmp_path, title):
    path = spec_with_title(tmp_path, title)
    try:
        workbook = spec.load(path)
    except UserError as error:
        assert "\n" not in str(error)
        return
    if not title.strip():
        return  # a blank title falls back to the file name
    assert fold(title) in fold(worksheet_text(workbook))


# --- bad input: exit 2, one line, nothing written -------------------------------------------------


@pytest.mark.parametrize(
    "files, args, message",
    [
        ({"s.toml": "title = 'x'\n[[problem]]\nderivation = 'softmax-jacobian'\nn = 'three'\n"}, ["s.toml"], "n must be an integer from 2 to 6, got 'three'"),
        ({"s.toml": "[[problem]]\nderivation = 'softmax-jacobian'\nn = 3.5\n"}, ["s.toml"], "n must be an integer"),
        ({"s.toml": "[[problem]]\nderivation = 'softmax-jacobian'\nn = [1, 2]\n"}, ["s.toml"], "n must be an integer"),
        ({"s.toml": "[[problem]]\nderivation = 'softmax-jacobian'\nn = 1000000\n"}, ["s.toml"], "n must be an integer from 2 to 6"),
        ({"s.toml": "[problem]\nderivation = 'x'\n"}, ["s.toml"], "at least one [[problem]]"),
        ({"s.toml": "problem = 3\n"}, ["s.toml"], "at least one [[problem]]"),
        ({"s.toml": "variants = 0\n" + TINY}, ["s.toml"], "variants must be an integer from 1 to 5000"),
        ({"s.toml": "variants = 'many'\n" + TINY}, ["s.toml"], "variants must be an integer"),
        ({"s.toml": "seed = -1\n" + TINY}, ["s.toml"], "seed must be an integer from 0"),
        ({"s.toml": "seed = 1.5\n" + TINY}, ["s.toml"], "seed must be an integer"),
        ({"s.toml": "title = 'x'\ntitle = 'y'\n"}, ["s.toml"], "not valid TOML"),
        ({"s.toml": b"\xff\xfe not utf-8"}, ["s.toml"], "not UTF-8 text"),
        ({"s.toml": TINY + "space = 99\n"}, ["s.toml"], "space must be a number of centimetres from 0 to 16"),
        ({"s.toml": TINY + "points = -5\n"}, ["s.toml"], "points must be an integer from 0 to 1000"),
        ({"s.toml": TINY}, ["s.toml", "--set", "vector-norms.n=5"], "n must be one of 2, 3, 4, got 5"),
        ({"s.toml": TINY}, ["s.toml", "--set", "vector-norms.m=5"], "unknown parameter for vector-norms"),
        ({"s.toml": TINY}, ["s.toml", "--set", "pca.m=5"], "the spec has no problem 'pca'"),
        ({"s.toml": TINY}, ["s.toml", "--set", "nope.m=5"], "unknown derivation 'nope'"),
        ({"s.toml": TINY}, ["s.toml", "--set", "1.n"], "expected TARGET.KEY=VALUE"),
        ({"s.toml": TINY}, ["s.toml", "--roster", "missing.csv"], "missing.csv: roster file not found"),
        ({"s.toml": TINY, "r.csv": "name\n"}, ["s.toml", "--roster", "r.csv"], "the roster has no names"),
        ({"s.toml": TINY, "r.csv": b"name\n\xff\xfe\n"}, ["s.toml", "--roster", "r.csv"], "not UTF-8 text"),
        ({"s.toml": TINY, "r.csv": "name\nAda\n\"unclosed\n"}, ["s.toml", "--roster", "r.csv"], "row"),
        ({}, ["nothing-here.toml"], "nothing-here.toml: spec file not found"),
        ({"d/x": ""}, ["d"], "d: is a directory, not a spec file"),
        ({"s.toml": TINY}, ["s.toml", "--seed", "-1"], "Invalid value for '--seed'"),
        ({"s.toml": TINY}, ["s.toml", "--jobs", "0"], "Invalid value for '--jobs'"),
        ({"s.toml": TINY}, ["s.toml", "--frobnicate"], "No such option"),
        ({"s.toml": TINY, "out/notes.txt": "mine"}, ["s.toml", "--out", "out"], "was not written by derivbook"),
        ({"s.toml": TINY, "blocker": "a file"}, ["s.toml", "--out", "blocker/sub"], "blocker: is a file"),
    ],
)
def test_bad_input_is_exit_2_one_line_and_writes_nothing(tmp_path, monkeypatch, files, args, message):
    for name, content in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    out = [] if "--out" in args else ["--out", "built"]
    result = CliRunner().invoke(main, ["build", *args, *out, "--format", "json"])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_debug_shows_the_traceback(tmp_path):
    result = CliRunner().invoke(main, ["--debug", "build", str(tmp_path / "none.toml")])
    assert isinstance(result.exception, UserError)


# --- nothing lost: failures, interrupts, concurrent builds -------------------------------------------


@pytest.fixture
def good_output(tmp_path):
    (tmp_path / "s.toml").write_text(TINY)
    out = tmp_path / "out"
    build(spec.load(tmp_path / "s.toml"), out)
    return tmp_path, out, {p.name: p.read_bytes() for p in out.iterdir()}


def snapshot(out: Path) -> dict:
    return {p.name: p.read_bytes() for p in out.iterdir()}


def leftovers(root: Path) -> list:
    return [p.name for p in root.iterdir() if ".staging-" in p.name or ".old-" in p.name]


@pytest.mark.parametrize("fault", [BuildError("boom"), KeyboardInterrupt(), RuntimeError("bug")])
def test_a_failed_or_interrupted_build_leaves_earlier_outputs_as_they_were(good_output, monkeypatch, fault):
    root, out, before = good_output
    calls = []

    def failing(batches, scratch, side_by_side):
        calls.append(1)
        if len(calls) == 2:
            raise fault
        return {kind: Batch(b"%PDF-1.5 fake", (1,) * len(sources)) for kind, (sources, _) in batches.items()}

    monkeypatch.setattr("derivbook.texbuild.typeset", failing)
    with pytest.raises(type(fault)):
        build(spec.load(root / "s.toml", seed=99, variants=2), out, ("pdf",), jobs=1)
    assert snapshot(out) == before and not leftovers(root)


def test_a_failure_while_publishing_leaves_earlier_outputs(good_output, monkeypatch):
    root, out, before = good_output
    real_write = Path.write_bytes

    def flaky(self, data):
        if self.name == "answer-key.pdf":
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    with pytest.raises(BuildError, match="could not write the output"):
        build(spec.load(root / "s.toml", seed=99), out)
    monkeypatch.undo()
    assert snapshot(out) == before and not leftovers(root)


@pytest.mark.parametrize("big, jobs", [("variants = 40\n" + TINY, "1"), (TINY * 30, "2"),
                                       ("variants = 40\n" + TINY + TINY.replace("vector-norms", "gradient-clipping"), "2")],
                         ids=["in this process", "a lone sheet", "in worker processes"])
def test_sigterm_stops_a_real_build_and_keeps_earlier_outputs(good_output, big, jobs):
    root, out, before = good_output
    (root / "big.toml").write_text(big)
    process = subprocess.Popen(
        [sys.executable, "-m", "derivbook", "build", str(root / "big.toml"), "--out", str(out), "--jobs", jobs],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1],
    )
    tex = typesetting(process)
    started = descendants(process.pid)  # pdflatex, and any worker processes
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted; earlier outputs are unchanged" in err
    assert "Traceback" not in err  # nor a helper's, as it is ended
    assert snapshot(out) == before and not leftovers(root)
    gone = time.monotonic() + 2  # a worker's pdflatex is killed by the kernel as the worker ends: let it be reaped
    while time.monotonic() < gone and [pid for pid in tex + started if Path(f"/proc/{pid}").exists()]:
        time.sleep(0.05)
    assert not [pid for pid in tex if Path(f"/proc/{pid}").exists()], "pdflatex outlived the build"
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists()], "a worker outlived the build"


def test_an_interrupted_tex_run_is_stopped_and_waited_for(tmp_path):
    """Ctrl-C in the middle of a run leaves no pdflatex, not even a zombie."""
    (tmp_path / "doc.tex").write_text("\\def\\x{\\x}\\x\n")  # a TeX loop: only the interrupt ends it
    process = texbuild._start(["pdflatex", "-interaction=nonstopmode", "doc.tex"], tmp_path)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            texbuild._finish(process, 60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert process.returncode is not None and not Path(f"/proc/{process.pid}").exists()  # stopped and waited for


def test_concurrent_builds_into_one_directory_take_turns(tmp_path):
    (tmp_path / "s.toml").write_text(TINY)
    out = tmp_path / "out"
    errors = []

    def run(seed):
        try:
            build(spec.load(tmp_path / "s.toml", seed=seed), out, ("json", "tex"))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    data = json.loads((out / "answers.json").read_text())
    reference = tmp_path / "ref"
    build(spec.load(tmp_path / "s.toml", seed=int(data["seed"])), reference, ("json", "tex"))
    assert snapshot(out) == snapshot(reference)  # one whole build, never a mix
    assert not leftovers(tmp_path)


# --- missing pieces named -------------------------------------------------------------------------


def test_missing_tex_names_tex_live_and_the_install_command(tmp_path, monkeypatch):
    (tmp_path / "s.toml").write_text(TINY)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pdflatex here
    result = CliRunner().invoke(main, ["build", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "pdflatex not found: install TeX Live" in result.output and "apt-get install" in result.output
    assert not (tmp_path / "o").exists()


def test_missing_latex_package_is_named_with_its_debian_package():
    source = "\\documentclass{article}\\usepackage{derivbook-no-such-package}\n\\begin{document}\nx\n\\end{document}\n"
    with pytest.raises(BuildError, match="^sheet: LaTeX package derivbook-no-such-package is missing"):
        compile_batch([source], ["sheet"])
    assert "texlive-pictures" in first_error("! LaTeX Error: File `pgfplots.sty' not found.")
    assert "texlive-latex-extra" in first_error("! LaTeX Error: File `lastpage.sty' not found.")


# --- TeX cannot escape its directory or start programs --------------------------------------------


def test_tex_refuses_shell_escape_and_writes_outside_its_directory(tmp_path):
    target = tmp_path / "pwned"
    source = (
        "\\documentclass{article}\n\\begin{document}\n"
        f"\\immediate\\write18{{touch {target}}}"
        f"\\newwrite\\w\\immediate\\openout\\w={tmp_path}/written.tex\\immediate\\write\\w{{x}}\\immediate\\closeout\\w"
        "ok\n\\end{document}\n"
    )
    try:
        compile_batch([source], ["escape"])
    except BuildError:
        pass  # refusing to open the file is an error too; either way nothing is written
    assert not target.exists() and not (tmp_path / "written.tex").exists()


# --- bounded work --------------------------------------------------------------------------------


def test_a_runaway_derivation_is_stopped_naming_it_and_its_seed(monkeypatch):
    derivation = get("vector-norms")

    def runaway(params, dice):
        while True:
            pass

    monkeypatch.setattr(derivation.module, "generate", runaway)
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match=r"^vector-norms \(seed 5\): stopped after 0.5 s"):
        make_problem(derivation, {"n": 3}, 5, budget=0.5)
    assert time.monotonic() - started < 5


def test_huge_sizes_are_refused_before_any_work(tmp_path):
    (tmp_path / "s.toml").write_text("variants = 100000\n" + TINY)
    with pytest.raises(UserError, match="variants must be an integer from 1 to 5000"):
        spec.load(tmp_path / "s.toml")
    for derivation in __import__("derivbook.registry", fromlist=["catalog"]).catalog().values():
        for param in derivation.params:
            assert param.choices or (param.low is not None and param.high is not None), (derivation.id, param.name)


def test_output_environment_has_no_writable_home_or_font_generation(tmp_path):
    from derivbook.texbuild import tex_environment

    env = tex_environment(tmp_path)
    assert env["openin_any"] == env["openout_any"] == "p" and env["shell_escape"] == "f"
    assert env["HOME"] == str(tmp_path) and env["MKTEXPK"] == env["MKTEXTFM"] == "0"
    assert not os.environ.get("TEXMFOUTPUT") or "TEXMFOUTPUT" not in env
