"""Derive once, compile once: caches that change speed, never bytes."""

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from derivbook import cache
from derivbook.cli import main

ROOT = Path(__file__).parents[1]
SPEC = 'title = "Cache"\nseed = 4\n[[problem]]\nderivation = "softmax-jacobian"\n[[problem]]\nderivation = "temperature-sampling"\n'


def run_cli(args, env_cache):
    env = dict(os.environ, DERIVBOOK_CACHE=str(env_cache))
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "derivbook", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env)


def test_unchanged_rebuild_reuses_everything_without_importing_sympy(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    args = ["build", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"), "--variants", "2"]
    first = run_cli(args, tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    second = run_cli(args, tmp_path / "cache")
    assert second.returncode == 0 and "unchanged" in second.stdout
    assert "sympy" not in second.stderr  # -X importtime lists every import on stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_help_and_list_do_not_import_sympy(tmp_path):
    for args in (["--help"], ["list"]):
        result = run_cli(args, tmp_path / "cache")
        assert result.returncode == 0 and "sympy" not in result.stderr, args


def test_cached_parallel_output_equals_a_cold_serial_build(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    common = ["build", str(tmp_path / "s.toml"), "--variants", "6"]  # chunks of 2, 2, 1, 1
    cold = CliRunner().invoke(main, [*common, "--no-cache", "--jobs", "1", "--out", str(tmp_path / "cold")])
    warm1 = CliRunner().invoke(main, [*common, "--jobs", "2", "--out", str(tmp_path / "warm1")])
    warm2 = CliRunner().invoke(main, [*common, "--jobs", "2", "--out", str(tmp_path / "warm2")])
    assert cold.exit_code == warm1.exit_code == warm2.exit_code == 0, cold.output + warm1.output
    assert "unchanged" in warm2.output
    for name in os.listdir(tmp_path / "cold"):
        cold_bytes = (tmp_path / "cold" / name).read_bytes()
        assert (tmp_path / "warm1" / name).read_bytes() == cold_bytes == (tmp_path / "warm2" / name).read_bytes(), name


def test_editing_the_spec_misses_the_build_cache(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    args = ["build", str(tmp_path / "s.toml"), "--format", "json", "--out", str(tmp_path / "o")]
    assert "unchanged" not in CliRunner().invoke(main, args).output
    assert "unchanged" in CliRunner().invoke(main, args).output
    (tmp_path / "s.toml").write_text(SPEC.replace("seed = 4", "seed = 5"))
    result = CliRunner().invoke(main, args)
    assert "unchanged" not in result.output and '"seed": "5"' in (tmp_path / "o" / "answers.json").read_text()


def test_keys_change_with_any_input():
    base = cache.build_key(b"spec", None, {"seed": 1}, "pdfTeX 1")
    assert base == cache.build_key(b"spec", None, {"seed": 1}, "pdfTeX 1")
    assert len({base, cache.build_key(b"spec2", None, {"seed": 1}, "pdfTeX 1"),
                cache.build_key(b"spec", b"roster", {"seed": 1}, "pdfTeX 1"),
                cache.build_key(b"spec", None, {"seed": 2}, "pdfTeX 1"),
                cache.build_key(b"spec", None, {"seed": 1}, "pdfTeX 2")}) == 5


def test_derivation_cache_is_keyed_by_the_whole_package(monkeypatch):
    from derivbook.derivations import softmax_jacobian

    softmax_jacobian.derive.cache_clear()
    softmax_jacobian.derive()  # proven once and stored on disk under the current package version
    softmax_jacobian.derive.cache_clear()
    calls = []
    monkeypatch.setattr(softmax_jacobian, "prove_equal", lambda *args: calls.append(args))
    softmax_jacobian.derive()  # same package: read back from disk, not proven again
    assert calls == []
    softmax_jacobian.derive.cache_clear()
    monkeypatch.setattr(cache, "code_version", lambda: "a helper such as prove_equal was edited")
    softmax_jacobian.derive()  # any source change in the package: proven afresh
    softmax_jacobian.derive.cache_clear()
    assert calls


def test_remembered_declarations_are_the_parsed_ones_and_an_edit_is_read_afresh(tmp_path, monkeypatch):
    from derivbook import registry

    source = (registry._folder() / "vector_norms.py").read_text()
    monkeypatch.setattr(registry, "_folder", lambda: tmp_path)
    monkeypatch.setattr(cache, "directory", lambda: tmp_path / "cache")
    (tmp_path / "vector_norms.py").write_text(source)
    for _ in range(2):  # parsed, then from the cache
        registry._declared.cache_clear()
        assert registry.get("vector-norms") == registry.read_declarations(tmp_path / "vector_norms.py")
    assert len(list((tmp_path / "cache" / "declarations").iterdir())) == 1
    title = registry.get("vector-norms").title
    (tmp_path / "vector_norms.py").write_text(source.replace(f'TITLE = "{title}"', 'TITLE = "Edited"'))
    registry._declared.cache_clear()
    assert registry.get("vector-norms").title == "Edited"
    registry._declared.cache_clear()


def test_the_tex_version_and_printable_characters_are_remembered_as_read(tmp_path, monkeypatch):
    from derivbook import texbuild, typeset

    asked = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    declared = typeset._declared_codepoints()
    monkeypatch.setattr(cache, "directory", lambda: tmp_path)
    for _ in range(2):  # read, then from the cache
        texbuild.tex_version.cache_clear()
        typeset.printable_codepoints.cache_clear()
        assert texbuild.tex_version() == asked and typeset.printable_codepoints() == declared
        monkeypatch.setattr(subprocess, "run", None)  # the second time nothing is asked of TeX
    assert 0xE9 in declared and 0x1E9E not in declared  # é prints; ẞ is declared but misprinted
    texbuild.tex_version.cache_clear()
    typeset.printable_codepoints.cache_clear()
