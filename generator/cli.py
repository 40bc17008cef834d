"""The ``derivbook`` command: each command parses, calls one library function, prints, and maps errors to
exit codes (0 done, 1 a build failed, 2 bad input, 130 interrupted)."""

from __future__ import annotations

import gc
import signal
import sys
import time
from pathlib import Path

import click

from derivbook import __version__
from derivbook.model import BuildError, UserError

BUILD_FORMATS = "pdf,tex,json"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _say(text: str) -> None:
    """A notice or warning, on standard error."""
    click.echo(f"derivbook: {text}", err=True)


def _debug(ctx: click.Context, param, value: bool) -> None:
    if value:
        ctx.find_root().meta["debug"] = True


class Command(click.Command):
    """A command whose every failure prints one line and exits 2 (bad input) or 1, without a traceback;
    ``--debug`` (anywhere on the line) shows the traceback instead."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(click.Option(["--debug"], is_flag=True, expose_value=False, is_eager=True,
                                        callback=_debug, help="Show tracebacks instead of one-line errors."))

    def invoke(self, ctx):
        debug = ctx.find_root().meta.get("debug")
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.exceptions.ClickException):
            raise
        except BrokenPipeError:  # `derivbook list | head`: the reader has gone, nothing to say
            sys.stdout = None
            ctx.exit(0)
        except UserError as error:
            if debug:
                raise
            _say(f"error: {_one_line(error)}")
            ctx.exit(2)
        except BuildError as error:
            if debug:
                raise
            _say(f"build failed: {_one_line(error)}")
            ctx.exit(1)
        except KeyboardInterrupt:
            _say("interrupted; earlier outputs are unchanged")
            ctx.exit(130)
        except Exception as error:  # a bug: still one line, the traceback with --debug
            if debug:
                raise
            _say(f"internal error: {type(error).__name__}: {_one_line(error)} (run with --debug)")
            ctx.exit(1)


class Commands(click.Group):
    """A group whose commands are ``Command``s."""

    command_class = Command


class Group(Commands):
    """The program's group: usage errors are one line too, and SIGTERM stops a build like Ctrl-C."""

    def main(self, args=None, prog_name=None, **extra):
        signal.signal(signal.SIGTERM, _interrupt)
        args = list(sys.argv[1:] if args is None else args)
        if "--debug" in args:  # before the command's name, too
            args.remove("--debug")
            args.append("--debug") if args and not args[0].startswith("-") else None
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.UsageError as error:
            _say(f"error: {_one_line(error.format_message())} (see --help)")
            sys.exit(2)
        except click.exceptions.Abort:
            _say("interrupted; earlier outputs are unchanged")
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def derivations_option(command):
    """``--derivations DIR`` (repeatable), passed to the command as ``folders``: derivations of one's own,
    searched beside the package's, installed packs' and DERIVBOOK_PATH's (``registry.Catalog``)."""
    return click.option(
        "--derivations", "folders", multiple=True, metavar="DIR",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="A folder of your own derivations (repeatable; DERIVBOOK_PATH lists more).",
    )(command)


@click.group(cls=Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="derivbook", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Printable, verified workbooks for the mathematics behind machine learning."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@main.command("list")
@derivations_option
def list_command(folders: tuple[Path, ...]) -> None:
    """The catalog: id, topic, title, parameters and their defaults (and where your own are)."""
    from derivbook.cache import open_cache, using
    from derivbook.registry import Catalog

    with using(open_cache(warn=_say)):
        found = list(Catalog(folders).values())
    width = max([28, *(len(d.id) for d in found)]), max([15, *(len(d.topic) for d in found)])
    for derivation in found:
        click.echo(f"{derivation.id:<{width[0]}} {derivation.topic:<{width[1]}} {derivation.title.replace('$', '')}")
        if not derivation.builtin:
            click.echo(f"{'':<30}from {derivation.path}")
        for p in derivation.params:
            click.echo(f"{'':<30}{p.name} = {p.default!r}  ({p.allowed()}; {p.help})")


@main.command()
@click.argument("derivation_id", metavar="ID")
@click.option("--seed", default="1", show_default=True, help="Problem seed (answers.json's per-problem seed).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A parameter, e.g. n=4.")
@derivations_option
def show(derivation_id: str, seed: str, sets: tuple[str, ...], folders: tuple[Path, ...]) -> None:
    """One problem and its worked solution, in the terminal."""
    from derivbook.cache import open_cache, using
    from derivbook.engine import show_problem
    from derivbook.plaintext import problem_text

    with using(open_cache(warn=_say)):
        click.echo(problem_text(show_problem(derivation_id, seed, sets, folders)))


@main.command()
@click.argument("spec", required=False)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Workbook seed (overrides the spec's).")
@click.option("--variants", type=click.IntRange(1, 5000), help="Number of variants.")
@click.option("--roster", type=click.Path(path_type=Path), help="CSV of students: a name column (or first and last name), optionally an id; , ; or tab.")
@click.option("--set", "sets", multiple=True, metavar="TARGET.KEY=VALUE", help="e.g. 2.n=4 or softmax-jacobian.n=4.")
@click.option("--out", type=click.Path(path_type=Path), help="Output directory [default: build/<workbook>].")
@click.option("--paper", type=click.Choice(["a4", "letter"]), help="Paper size (overrides the spec's).")
@click.option("--format", "formats", default=BUILD_FORMATS, show_default=True,
              help="Comma-separated: pdf, tex, json, html, moodle, qti.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Worker processes [default: the number of cores].")
@click.option("--variant", "only", metavar="ID", help="Rebuild only the variant with this id (same spec, seed and count).")
@click.option("--no-cache", is_flag=True, help="Derive, render and compile everything afresh.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where chunks of variants are derived and typeset.")
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask).")
@derivations_option
def build(spec, seed, variants, roster, sets, out, paper, formats, jobs, only, no_cache, executor, scheduler, folders) -> None:
    """Build a workbook's worksheets, answer keys and answers.json (default: the LLM Foundations workbook)."""
    from derivbook import spec as specs
    from derivbook.build import build as run_build

    started = time.perf_counter()
    if variants is not None and roster is not None:
        raise UserError("--variants and --roster exclude each other: a roster gives one variant per name")
    workbook = specs.load(specs.resolve_spec(spec), seed=seed, variants=variants, roster=roster, paper=paper, sets=sets,
                          derivations=folders)
    for warning in workbook.warnings:
        _say(f"warning: {warning}")
    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    count = 1 if only else len(workbook.students)
    options = dict(jobs=jobs, only=only, notice=_say, use_cache=not no_cache, executor=executor, scheduler=scheduler)
    if "pdf" in chosen and count > 1 and sys.stdout.isatty():
        with click.progressbar(length=count, label="Variants", show_pos=True) as bar:
            result = run_build(workbook, out, chosen, progress=bar.update, **options)
    else:
        result = run_build(workbook, out, chosen, **options)
    pdfs = sum(1 for path in result.written if path.suffix == ".pdf")
    what = "unchanged, nothing written" if result.unchanged else f"wrote {len(result.written)} files ({pdfs} PDFs)"
    click.echo(f"{workbook.title}: {count} variant(s), seed {workbook.seed}: {what} to {result.plan.out_dir} "
               f"in {time.perf_counter() - started:.1f} s")


@main.command()
@click.option("--seeds", type=click.IntRange(1, 100000), default=20, show_default=True, help="Seeds per parameter set.")
@click.option("--typeset-seeds", type=click.IntRange(0, 100000), default=3, show_default=True,
              help="Of those, how many are typeset (worksheet and answer key) and checked for lines running into the "
                   "margin; 0: no TeX.")
@click.option("--only", multiple=True, metavar="ID", help="Check only these derivations.")
@derivations_option
def check(seeds: int, typeset_seeds: int, only: tuple[str, ...], folders: tuple[Path, ...]) -> None:
    """Every derivation over many seeds and the edges of its parameter ranges: both verifications, answers
    that never vary, and overfull lines in the typeset worksheet and answer key."""
    from derivbook.cache import open_cache, using
    from derivbook.checking import check as run_check

    with using(open_cache(warn=_say)):
        run_check(only, seeds, typeset_seeds, click.echo, _say, folders)


@main.command()
@click.argument("derivation_id", metavar="ID")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=Path("derivations"), show_default=True,
              help="The folder to write into (made if missing).")
def new(derivation_id: str, folder: Path) -> None:
    """Write a starter derivation ID, verified and ready to build, and its test: then make it yours."""
    from derivbook.starter import write

    derivation, test = write(derivation_id, folder)
    click.echo(f"wrote {derivation} and {test}")
    click.echo(f"check it:  derivbook check --derivations {folder} --only {derivation_id}")
    click.echo(f"test it:   python -m pytest {test}")
    click.echo(f'build it:  a spec with  derivations = ["{folder}"]  and  [[problem]] derivation = "{derivation_id}"')


@main.group(cls=Commands)
def cache() -> None:
    """The cache of derivations, formats and compiled PDFs (DERIVBOOK_CACHE, DERIVBOOK_CACHE_SIZE)."""


@cache.command("info")
def cache_info() -> None:
    """Where the cache is, how big, and its bound."""
    from derivbook.cache import open_cache

    store = open_cache(warn=_say)
    if store.folder is None:
        click.echo("caching is off (DERIVBOOK_CACHE=off, or the folder cannot be used)")
        return
    entries = store.entries()
    size = sum(entry.stat().st_size for entry in entries)
    click.echo(f"{store.folder}: {len(entries)} entries, {size / 1024**2:.1f} MB of at most {store.limit / 1024**2:.0f} MB")


@cache.command("clear")
def cache_clear() -> None:
    """Remove every cached entry (only the files derivbook wrote there)."""
    from derivbook.cache import open_cache

    store = open_cache(warn=_say)
    removed = store.clear()
    click.echo(f"{store.folder or 'no cache'}: removed {removed / 1024**2:.1f} MB")


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


@main.command(help=GRADE_HELP)
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
    from derivbook.cache import open_cache, using

    with using(open_cache(warn=_say)):
        outcome = grading.grade_build(build_dir, responses, out, exact_only=exact_only, with_key=not no_key, notice=_say)
    click.echo(grading.summary(outcome))


def _ask(prompt: str) -> str | None:
    try:
        return click.prompt(prompt, default="", show_default=False, prompt_suffix=" ")
    except click.exceptions.Abort:  # end of input or Ctrl-C: the session ends with its score
        click.echo("")
        return None


@main.command()
@click.argument("what", required=False, metavar="[ID | SPEC]")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Seed of the problems [default: a fresh one].")
def practice(what: str | None, seed: int | None) -> None:
    """Practise in the terminal: a fresh problem of a derivation ID, or a fresh variant of a SPEC (default:
    the LLM Foundations workbook). Each answer is graded as it is typed, mistakes are explained, and the
    worked solution follows each problem."""
    from derivbook.cache import open_cache, using
    from derivbook.practice import run as run_practice
    from derivbook.spec import resolve_spec

    with using(open_cache(warn=_say)):
        run_practice(what, seed, resolve_spec, ask=_ask, say=click.echo)


def run() -> None:
    """The ``derivbook`` program: ``main``, then an exit that skips collecting what SymPy left in memory.

    Python's last garbage collection would walk every object SymPy made; frozen, they are left to the end of
    the process (docs/performance.md). Tests call ``main`` and keep collecting.
    """
    try:
        main()
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    run()
