"""The ``derivbook`` command: parse, call the engine, print, and map errors to exit codes."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import click

from derivbook import cache
from derivbook.model import BuildError, UserError

DEFAULT_WORKBOOK = "llm-foundations"


def bundled_spec(name: str) -> Path | None:
    """The path of a ready-made workbook shipped with the package, by name."""
    from derivbook import workbooks  # its folder, as importlib.resources would find it, without that import's 8 ms

    candidate = Path(workbooks.__file__).parent / f"{name}.toml"
    return candidate if candidate.is_file() else None


def resolve_spec(spec: str | None) -> Path:
    """A spec argument as a file path: a path, or the name of a bundled workbook, or the default one."""
    if spec is None:
        return bundled_spec(DEFAULT_WORKBOOK)
    path = Path(spec)
    if not path.exists() and "/" not in spec and bundled_spec(spec.removesuffix(".toml")):
        return bundled_spec(spec.removesuffix(".toml"))
    return path


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Command(click.Command):
    """A command whose every failure prints one line and exits 2 (bad input) or 1, without a traceback."""

    def invoke(self, ctx):
        debug = ctx.find_root().params.get("debug")
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except UserError as error:
            if debug:
                raise
            click.echo(f"derivbook: error: {_one_line(error)}", err=True)
            ctx.exit(2)
        except BuildError as error:
            if debug:
                raise
            click.echo(f"derivbook: build failed: {_one_line(error)}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("derivbook: interrupted; earlier outputs are unchanged", err=True)
            ctx.exit(130)
        except Exception as error:  # a bug: still one line, the traceback with --debug
            if debug:
                raise
            click.echo(f"derivbook: internal error: {type(error).__name__}: {_one_line(error)} (run with --debug)", err=True)
            ctx.exit(1)
        finally:  # an interrupt can come between starting pdflatex and keeping hold of it: none outlives a command
            if "derivbook.texbuild" in sys.modules:
                sys.modules["derivbook.texbuild"].stop_typesetting()


class Group(click.Group):
    """The command group: usage errors are one line too, and SIGTERM stops a build like Ctrl-C."""

    def main(self, args=None, prog_name=None, **extra):
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.UsageError as error:
            click.echo(f"derivbook: error: {_one_line(error.format_message())} (see --help)", err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            click.echo("derivbook: interrupted; earlier outputs are unchanged", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Printable, verified workbooks for the mathematics behind machine learning."""


@main.command("list", cls=Command)
def list_command() -> None:
    """The catalog: id, topic, title, parameters and their defaults."""
    from derivbook.registry import catalog

    for derivation in catalog().values():
        click.echo(f"{derivation.id:<28} {derivation.topic:<15} {derivation.title.replace('$', '')}")
        for p in derivation.params:
            click.echo(f"{'':<30}{p.name} = {p.default!r}  ({p.allowed()}; {p.help})")


def _overrides(sets: tuple[str, ...], derivation_id: str) -> dict:
    from derivbook.spec import parse_set

    given = {}
    for text in sets:
        if "." not in text.split("=", 1)[0]:
            text = f"{derivation_id}.{text}"
        target, key, value = parse_set(text)
        if target != derivation_id:
            raise UserError(f"--set {text!r}: show takes only parameters of {derivation_id}")
        given[key] = value
    return given


@main.command(cls=Command)
@click.argument("derivation_id", metavar="ID")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=1, show_default=True, help="Problem seed.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A parameter, e.g. n=4.")
def show(derivation_id: str, seed: int, sets: tuple[str, ...]) -> None:
    """One problem and its worked solution, in the terminal."""
    from derivbook.engine import make_problem
    from derivbook.params import resolve
    from derivbook.plaintext import problem_text
    from derivbook.registry import get

    derivation = get(derivation_id, "show")
    declared = {p.name: p for p in derivation.params}
    given = {}
    for key, value in _overrides(sets, derivation_id).items():
        if key not in declared:
            raise UserError(f"--set {key}: unknown parameter for {derivation_id} (allowed: {', '.join(declared) or 'none'})")
        given[key] = declared[key].parse(value, f"--set {key}")
    params = resolve(derivation.params, given, derivation_id)
    click.echo(problem_text(make_problem(derivation, params, seed)))


@main.command(cls=Command)
@click.argument("spec", required=False)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Workbook seed (overrides the spec's).")
@click.option("--variants", type=click.IntRange(1, 5000), help="Number of variants.")
@click.option("--roster", type=click.Path(path_type=Path), help="CSV of student names (header: name).")
@click.option("--set", "sets", multiple=True, metavar="TARGET.KEY=VALUE", help="e.g. 2.n=4 or softmax-jacobian.n=4.")
@click.option("--out", type=click.Path(path_type=Path), help="Output directory [default: build/<workbook>].")
@click.option("--paper", type=click.Choice(["a4", "letter"]), help="Paper size (overrides the spec's).")
@click.option("--format", "formats", default="pdf,tex,json", show_default=True, help="Comma-separated: pdf, tex, json, html, moodle.")
@click.option("--jobs", type=click.IntRange(1, 256),
              help="Cores to use: processes splitting the problems (this one and helpers, one per two problems "
                   "at most), with TeX beside them [default: the number of cores].")
@click.option("--variant", "only", metavar="ID", help="Rebuild only the variant with this id (same spec, seed and count).")
@click.option("--no-cache", is_flag=True, help="Derive, render and compile everything afresh.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where variants are derived and documents compiled.")
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask).")
def build(spec, seed, variants, roster, sets, out, paper, formats, jobs, only, no_cache, executor, scheduler) -> None:
    """Build a workbook's worksheets, answer keys and answers.json (default: the LLM Foundations workbook)."""
    from derivbook.build_options import FORMATS

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise UserError(f"--format: {bad[0] if bad else formats!r} is not a format (allowed: {', '.join(FORMATS)})")
    if variants is not None and roster is not None:
        raise UserError("--variants and --roster exclude each other: a roster gives one variant per name")
    started = time.perf_counter()
    spec_path = resolve_spec(spec)
    options = dict(seed=seed, variants=variants, sets=tuple(sets), paper=paper, formats=chosen, only=only)
    cache.set_enabled(not no_cache)
    key = _unchanged_build(spec_path, roster, options, out, started)
    if key is True:
        return
    from derivbook import parallel
    from derivbook import spec as specs

    workbook = specs.load(spec_path, seed=seed, variants=variants, roster=roster, paper=paper, sets=sets)
    out_dir = out or Path("build") / workbook.name
    jobs = jobs or os.cpu_count() or 1
    wanted = parallel.helpers_wanted(len(workbook.students), jobs, only, len(workbook.requests)) if executor == "local" else 0
    # the helpers are forked and set to work before SymPy is imported here, and import it side by side with
    # this process
    with _executor(executor, scheduler) as pool, parallel.deriving(workbook, wanted) as helpers:
        from derivbook.build import build as run_build

        _run_build(run_build, workbook, out_dir, chosen, jobs, only, key, started, executor=pool, helpers=helpers)


def _run_build(run_build, workbook, out_dir, chosen, jobs, only, key, started, **where) -> None:
    count = 1 if only else len(workbook.students)
    if "pdf" in chosen and count > 1 and sys.stdout.isatty():
        with click.progressbar(length=count, label="Variants", show_pos=True) as bar:
            written = run_build(workbook, out_dir, chosen, jobs, only, progress=bar.update, notice=_notice, remember=key,
                                **where)
    else:
        written = run_build(workbook, out_dir, chosen, jobs, only, notice=_notice, remember=key, **where)
    seconds = time.perf_counter() - started
    pdfs = sum(1 for path in written if path.suffix == ".pdf")
    click.echo(
        f"{workbook.title}: {count} variant(s), seed {workbook.seed}: wrote {len(written)} files "
        f"({pdfs} PDFs) to {out_dir} in {seconds:.1f} s"
    )


@contextlib.contextmanager
def _executor(kind: str, scheduler: str | None):
    """None for local processes and threads, or a Dask cluster's concurrent.futures executor."""
    if kind == "local":
        if scheduler:
            raise UserError("--scheduler needs --executor dask")
        yield None
        return
    if not scheduler:
        raise UserError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        from distributed import Client
    except ImportError:
        raise UserError("--executor dask needs Dask: pip install 'derivbook[distributed]'") from None
    try:
        client = Client(scheduler, timeout=15)
    except (OSError, TimeoutError, ValueError) as error:
        raise BuildError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error})") from None
    try:
        yield client.get_executor()
    finally:
        client.close()


def _unchanged_build(spec_path: Path, roster: Path | None, options: dict, out: Path | None, started: float):
    """Publish a cached build made from exactly these inputs (True), else return the key to store it under.

    Runs before SymPy or the derivations are imported: an unchanged rebuild costs reading the inputs.
    """
    import tomllib

    from derivbook.output import publish
    from derivbook.texbuild import tex_version

    if cache.directory() is None:
        return None
    try:
        spec_bytes = spec_path.read_bytes()
        data = tomllib.loads(spec_bytes.decode("utf-8"))
        named = roster or (spec_path.parent / data["roster"] if isinstance(data.get("roster"), str) and not options["variants"] else None)
        roster_bytes = named.read_bytes() if named else None
    except (OSError, ValueError, UnicodeDecodeError, TypeError):
        return None  # the full build reports the problem
    if "pdf" in options["formats"] and shutil.which("pdflatex") is None:
        return None
    key = cache.build_key(spec_bytes, roster_bytes, options, tex_version() if shutil.which("pdflatex") else "")
    hit = cache.load_build(key)
    if hit is None:
        return key
    summary, files = hit
    out_dir = out or Path("build") / spec_path.stem
    written = publish(files, out_dir, _notice)
    pdfs = sum(1 for path in written if path.suffix == ".pdf")
    click.echo(
        f"{summary['title']}: {summary['variants']} variant(s), seed {summary['seed']}: unchanged, wrote "
        f"{len(written)} files ({pdfs} PDFs) to {out_dir} in {time.perf_counter() - started:.1f} s"
    )
    return True


def _notice(text: str) -> None:
    click.echo(f"derivbook: {text}", err=True)


@main.command(cls=Command)
@click.option("--seeds", type=click.IntRange(1, 100000), default=20, show_default=True, help="Seeds per parameter set.")
@click.option("--only", multiple=True, metavar="ID", help="Check only these derivations.")
def check(seeds: int, only: tuple[str, ...]) -> None:
    """Every derivation over many seeds and the edges of its parameter ranges, both verifications."""
    from derivbook.checking import check_derivation
    from derivbook.registry import catalog, get

    chosen = [get(i, "--only") for i in only] if only else list(catalog().values())
    failed = 0
    click.echo(f"{'derivation':<28} {'instances':>9} {'failures':>8} {'seconds':>8}")
    for derivation in chosen:
        report = check_derivation(derivation, seeds)
        failed += len(report.failures)
        click.echo(f"{derivation.id:<28} {report.instances:>9} {len(report.failures):>8} {report.seconds:>8.2f}")
        for failure in report.failures[:5]:
            click.echo(f"    {failure}")
    if failed:
        raise BuildError(f"{failed} instance(s) failed verification")


def run() -> None:
    """The ``derivbook`` program: ``main``, then an exit that skips collecting what SymPy left in memory.

    Python's last garbage collection walks every object SymPy made (about 0.2 s after a build); frozen,
    they are left to the end of the process. Tests call ``main`` and keep collecting.
    """
    try:
        main()
    finally:
        gc.freeze()


# -- grading and practice (issue 21): thin commands over derivbook.grading and derivbook.practice ----------

GRADE_HELP = """Grade students' answers against a build's answers.json.

\b
derivbook grade BUILD_DIR --template FILE   writes the empty responses sheet (CSV): variant, student, id,
                                            then one column per answer part, such as 5.jacobian
derivbook grade BUILD_DIR RESPONSES.csv     writes grades.csv, a feedback page per student and report.html
                                            (in BUILD_DIR/grades unless --out says where)

A cell holds what the student wrote: 3/7, -0.4286, sqrt(2)/2, 2 ln 2, e^2, 1e-3, [1/2, 1/3],
[[1, 2], [3, 4]]; ^ and ** are powers; an empty cell is blank. A part is right when it equals the key
exactly, or as a decimal rounded as the sheet asks (--exact-only: decimals earn nothing where an exact
value is asked for); a declared mistake is named. Points: a problem's points (the spec's) are split
equally among its parts; a part with a unique answer earns its share in proportion to its right entries,
one that may be written several ways (up to sign, scale or order) all or nothing. See docs/grading.md.
"""


@main.command(cls=Command, help=GRADE_HELP)
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.argument("responses", type=click.Path(path_type=Path), required=False)
@click.option("--template", type=click.Path(path_type=Path), help="Write the empty responses sheet to this file.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the grades [default: BUILD_DIR/grades].")
@click.option("--exact-only", is_flag=True, help="Decimals earn nothing where an exact answer is asked for.")
@click.option("--no-key", is_flag=True, help="Feedback pages without the key's answers and worked solutions.")
def grade(build_dir: Path, responses: Path | None, template: Path | None, out: Path | None, exact_only: bool,
          no_key: bool) -> None:
    from derivbook import grading

    if template is not None:
        if responses is not None:
            raise UserError("give RESPONSES.csv to grade, or --template FILE to write the empty sheet, not both")
        written = grading.write_template(build_dir, template)
        click.echo(f"wrote the responses sheet {written} ({written.read_text(encoding='utf-8').count(chr(10)) - 1} rows)")
        return
    if responses is None:
        raise UserError("grade needs RESPONSES.csv, or --template FILE to write the empty responses sheet")
    outcome = grading.grade_build(build_dir, responses, out, exact_only=exact_only, with_key=not no_key, notice=_notice)
    click.echo(grading.summary(outcome))


def _ask(prompt: str) -> str | None:
    try:
        return click.prompt(prompt, default="", show_default=False, prompt_suffix=" ")
    except click.exceptions.Abort:  # end of input or Ctrl-C: the session ends with its score
        click.echo("")
        return None


@main.command(cls=Command)
@click.argument("what", required=False, metavar="[ID | SPEC]")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Seed of the problems [default: a fresh one].")
def practice(what: str | None, seed: int | None) -> None:
    """Practise in the terminal: a fresh problem of a derivation ID, or a fresh variant of a SPEC (default:
    the LLM Foundations workbook). Each answer is graded as it is typed, mistakes are explained, and the
    worked solution follows each problem."""
    from derivbook.practice import run as run_practice

    run_practice(what, seed, resolve_spec, ask=_ask, say=click.echo)


if __name__ == "__main__":  # pragma: no cover
    run()
