import re

import jinja2
import pytest
import sympy
from pylatex.utils import NoEscape

from derivbook import render
from derivbook.mathtex import approx, decimal, tex
from derivbook.model import Math, Tex


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"\input{/etc/passwd}", r"\textbackslash{}input\{/etc/passwd\}"),
        ("50% & #1 $x$ _a_", r"50\% \& \#1 \$x\$ \_a\_"),
        ("a~b^c", r"a\textasciitilde{}b\textasciicircum{}c"),
        ("tab\there\x00\x1b", "tab here"),
        ("Łukasz O'Brien", r"Łukasz O\textquotesingle{}Brien"),
        ("a--b <<c>> ,,d `e\"", r"a{-}{-}b \textless{}\textless{}c\textgreater{}\textgreater{} ,{},d \textasciigrave{}e\textquotedbl{}"),
    ],
)
def test_finalize_escapes_every_plain_string(text, expected):
    assert render.finalize(text) == expected


def test_trusted_latex_passes_and_other_types_are_refused():
    assert render.finalize(NoEscape(r"\frac{1}{2}")) == r"\frac{1}{2}"
    assert render.finalize(3) == "3"
    with pytest.raises(TypeError):
        render.finalize(1.5)


def test_templates_escape_user_strings_without_being_told():
    template = render.environment().from_string(r"\VAR{title}")
    assert template.render(title="A & B {x}") == r"A \& B \{x\}"


def test_strict_undefined():
    with pytest.raises(jinja2.UndefinedError):
        render.environment().from_string(r"\VAR{missing}").render()


def test_prose_keeps_math_and_escapes_the_rest():
    assert render.prose("cost 5% of $x^2$") == r"cost 5\% of $x^2$"
    with pytest.raises(ValueError):
        render.prose("unbalanced $x")


def test_paragraph_spacing_around_math():
    out = render.paragraph(("A query ", Math(Tex("q")), " and ", Math((Tex("d"), 64)), "."))
    assert out == r"A query \(q\) and \(d = 64\)."


def test_math_printing():
    assert tex(sympy.Rational(7, 32) * sympy.log(sympy.Rational(32, 7))) == r"\frac{7}{32} \ln\frac{32}{7}"
    assert tex([sympy.log(2), 0]) == r"\left(\ln 2,\ 0\right)"
    assert decimal(sympy.Rational(1, 3), 4) == "0.3333" and decimal(-1e-9, 3) == "0.000"
    assert approx(sympy.Matrix([[sympy.Rational(1, 4)]]), 2) == r"\begin{pmatrix}0.25\end{pmatrix}"


def test_a_short_numerator_stays_one_fraction_and_a_long_one_is_broken_off():
    x, y = sympy.symbols("x y")
    assert tex(2 * sympy.sqrt(5) / 5) == r"\frac{2 \sqrt{5}}{5}"  # not \frac{2}{5} \sqrt{5}
    assert tex(-3 * sympy.log(2) / 4) == r"- \frac{3 \ln 2}{4}"
    long = sympy.Mul(sympy.Rational(1, 5), x + y + 3 * x * y + 7, evaluate=False)
    assert tex(long) == r"\frac{1}{5} \left(3 x y + x + y + 7\right)"


def test_a_figure_draws_its_labels_outside_the_frame_and_inside_its_box():
    from derivbook.model import Figure
    from derivbook.plot import layout

    figure = Figure("bars", {"groups": ["$T = 1$", "$T = 2$"], "series": [[(1, 0.2), (2, 0.8)], [(1, 0.4), (2, 0.6)]],
                             "xlabel": "token $i$", "ylabel": "probability"})
    problem = type("P", (), {"figure": figure})()
    latex = render.environment().get_template("_figure.tex.j2").render(item={"problem": problem})
    plot = layout(figure.kind, figure.data)
    left, bottom, width, height = plot.box
    placed = [(float(x), float(y), anchor) for x, y, anchor in
              re.findall(r"\\put\((-?[\d.]+),(-?[\d.]+)\)\{\\makebox\(0,0\)\[(\w*)\]", latex)]
    below = [y for _, y, anchor in placed if anchor == "t"]  # x tick labels and the x-axis label
    beside = [x for x, _, anchor in placed if anchor == "r"]  # y tick labels
    assert below and all(bottom < y < 0 for y in below)
    assert beside and all(left < x < 0 for x in beside)
    assert f"\\begin{{picture}}({width:g},{height:g})({left:g},{bottom:g})" in latex
