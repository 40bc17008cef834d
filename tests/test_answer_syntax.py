"""The answer grammar: what students may write is read exactly, and nothing else is read or run."""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

import pytest
import sympy
from sympy import E, Float, Integer, Matrix, Rational, exp, log, pi, sqrt

from derivbook import answer_syntax
from derivbook.answer_syntax import Unreadable, answer_text, read

READINGS = [
    ("3/7", Rational(3, 7)),
    ("-3/7", Rational(-3, 7)),
    ("\u22123/7", Rational(-3, 7)),
    ("sqrt(2)/2", sqrt(2) / 2),
    ("√2/2", sqrt(2) / 2),
    ("2*ln(2)", 2 * log(2)),
    ("2 ln 2", 2 * log(2)),
    ("2ln(2)", 2 * log(2)),
    ("2ln2", 2 * log(2)),
    ("2·log(2)", 2 * log(2)),
    ("Ln(2)", log(2)),
    ("e^2", exp(2)),
    ("e**2", exp(2)),
    ("exp(1)", E),
    ("2^3^2", Integer(512)),
    ("-2^2", Integer(-4)),
    ("10^-4", Rational(1, 10000)),
    ("2⁻¹", Rational(1, 2)),
    ("3²", Integer(9)),
    ("1/2 ln 2", log(2) / 2),
    ("π/4", pi / 4),
    ("2pi", 2 * pi),
    ("(1 + sqrt(5))/2", (1 + sqrt(5)) / 2),
    ("log2(8)", log(8) / log(2)),
    ("log10(1000)", log(1000) / log(10)),
    ("sin(pi/6)", Rational(1, 2)),
    ("[1/2, 1/3]", [Rational(1, 2), Rational(1, 3)]),
    ("1/2, 1/3", [Rational(1, 2), Rational(1, 3)]),
    ("(1/2, 1/3)", [Rational(1, 2), Rational(1, 3)]),
    ("1/7*[1, 2, 4]", [Rational(1, 7), Rational(2, 7), Rational(4, 7)]),
    ("-[1, 2]", [Integer(-1), Integer(-2)]),
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ("[1, 2; 3, 4]", [[1, 2], [3, 4]]),
    ("[[1,\n 2],\n [3, 4]]", [[1, 2], [3, 4]]),
    ("W = [[1, 2], [3, 4]]; b = [5, 6]", {"W": [[1, 2], [3, 4]], "b": [5, 6]}),
    ("{W: [[1]], b: [2]}", {"W": [[1]], "b": [2]}),
]


@pytest.mark.parametrize(("text", "expected"), READINGS)
def test_what_students_write_is_read_exactly(text, expected):
    assert read(text) == expected


@pytest.mark.parametrize(("text", "value"), [("-0.4286", -0.4286), ("1e-3", 0.001), ("1.5*10^-4", 1.5e-4),
                                             (".5", 0.5), ("2.", 2.0), ("3.450e-04", 3.45e-4)])
def test_decimals_are_floats_so_the_contract_rounds_them(text, value):
    number = read(text)
    assert number.has(Float)
    assert float(number) == pytest.approx(value, rel=1e-12)


def test_fractions_and_roots_stay_exact():
    assert read("3/7").is_Rational and not read("3/7").has(Float)
    assert not read("sqrt(10)/10 + 2 ln 2").has(Float)


HOSTILE = [
    "__import__('os').system('touch /tmp/derivbook-pwned')",
    "exec('import os')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda x: x",
    "'1'",
    "os.system",
    "9^9^9^9",
    "9**9**9**9",
    "e^e^e^e^e",
    "exp(exp(exp(9)))",
    "10^99*10^99",
    "(1+10^-30)^(10^30)",
    "2^(1/10^30)",
    "1e999",
    "1" * 100_000,
    "1" * 45,
    "1\x00",
    "\x1b[31m1",
    "1\u202e2",
    "[" * 60 + "1" + "]" * 60,
    "(" * 60 + "1" + ")" * 60,
    "-" * 200 + "1",
    "sqrt(" * 40 + "2" + ")" * 40,
    "x + 1",
    "2 3",
    "sqrt(-1)",
    "ln(0)",
    "1/0",
    "(-8)^(1/3)",
    "tan(pi/2)",
    "[]",
    "",
    "2^",
    "[1, 2] + [3, 4]",
    "ln([1, 2])",
]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t[:30]) for t in HOSTILE])
def test_hostile_or_unreadable_cells_are_refused_quickly(text):
    started = time.perf_counter()
    with pytest.raises(Unreadable) as error:
        read(text)
    assert time.perf_counter() - started < 0.5
    assert str(error.value)
    assert not Path("/tmp/derivbook-pwned").exists()


def test_student_text_never_reaches_eval_or_sympify(monkeypatch):
    original = sympy.sympify

    def refuse(value, *args, **kwargs):  # SymPy sympifies numbers internally; a string would be parsed
        if isinstance(value, str):
            raise AssertionError("student text reached sympify")
        return original(value, *args, **kwargs)

    def never(*args, **kwargs):
        raise AssertionError("student text reached parse_expr")

    monkeypatch.setattr(sympy, "sympify", refuse)
    monkeypatch.setattr(sys.modules["sympy.core.sympify"], "sympify", refuse)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", never)
    assert read("[[7/64, -1/16], [2 ln 2, sqrt(3)/2]]") == [[Rational(7, 64), Rational(-1, 16)], [2 * log(2), sqrt(3) / 2]]
    with pytest.raises(Unreadable):
        read("__import__('os')")


def test_the_grammar_module_names_no_evaluator():
    tree = ast.parse(Path(answer_syntax.__file__).read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not names & {"eval", "exec", "compile", "__import__", "sympify", "parse_expr", "getattr"}
    assert not attributes & {"sympify", "parse_expr", "literal_eval", "S"}


def test_limits_are_what_the_module_says():
    assert len("1" * answer_syntax.MAX_LENGTH) == answer_syntax.MAX_LENGTH
    read("1" * answer_syntax.MAX_DIGITS)  # at the limit: read
    with pytest.raises(Unreadable, match="digits"):
        read("1" * (answer_syntax.MAX_DIGITS + 1))
    read("[" * 10 + "1" + "]" * 10)
    with pytest.raises(Unreadable, match="nested"):
        read("[" * (answer_syntax.MAX_DEPTH + 1) + "1" + "]" * (answer_syntax.MAX_DEPTH + 1))


def test_messages_name_what_is_wrong():
    with pytest.raises(Unreadable, match="'x'"):
        read("2x")
    with pytest.raises(Unreadable, match="two numbers in a row"):
        read("1 000")
    with pytest.raises(Unreadable, match="control character"):
        read("1\x07")


def test_answer_text_is_read_back_to_the_same_value():
    values = [Rational(3, 7), 2 * log(2) + sqrt(3) / 5, exp(Rational(1, 2)), -pi / 4,
              [Rational(1, 8), Rational(1, 2)], Matrix([[Rational(7, 64), -1], [0, sqrt(2)]]),
              {"W": Matrix([[1, 2]]), "b": [Rational(-1, 3)]}, [[1, 2], [3, 4]]]
    for value in values:
        back = read(answer_text(value))
        if isinstance(value, Matrix):
            back = Matrix(back)
        if isinstance(value, dict):
            back = {k: Matrix(v) if isinstance(value[k], Matrix) else v for k, v in back.items()}
        assert back == value, (value, answer_text(value))
