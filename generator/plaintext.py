"""Mathematics as readable plain text for the terminal (``derivbook show``, ``derivbook practice``).

SymPy values are drawn by SymPy's pretty printer in Unicode (fractions stacked, matrices in brackets,
indices as subscripts); the LaTeX that derivations write (``Tex`` snippets, ``$…$`` in prose) is turned
into one line of Unicode: ``\\frac{\\partial s_i}{\\partial z_j}`` becomes ``∂sᵢ/∂zⱼ``, ``QK^\\top``
becomes ``QKᵀ``. Never raw LaTeX, never SymPy's repr.
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from derivbook.model import Math, Problem, Step, Tex

WIDTH = 100  # columns a long expression is wrapped at

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
SYMBOLS = {
    "partial": "∂", "nabla": "∇", "infty": "∞", "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "equiv": "≡",
    "sim": "∼", "propto": "∝", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "implies": "⇒", "iff": "⇔",
    "Leftrightarrow": "⇔", "mapsto": "↦", "sum": "Σ", "prod": "Π", "int": "∫", "odot": "⊙", "otimes": "⊗",
    "oplus": "⊕", "circ": "∘", "top": "⊤", "intercal": "ᵀ", "perp": "⊥", "forall": "∀", "exists": "∃",
    "emptyset": "∅", "ell": "ℓ", "dots": "…", "ldots": "…", "cdots": "⋯", "vdots": "⋮", "mid": "|",
    "lvert": "|", "rvert": "|", "vert": "|", "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖",
    "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "{": "{", "}": "}",
    "%": "%", "&": "&", "_": "_", "#": "#", "$": "$", "quad": "  ", "qquad": "    ", ",": " ", ";": " ", ":": " ",
    " ": " ", "!": "", "colon": ":", "star": "⋆", "ast": "∗", "bullet": "•", "neg": "¬", "land": "∧", "lor": "∨",
    "setminus": "∖", "hbar": "ℏ", "Re": "ℜ", "Im": "ℑ", "angle": "∠", "triangleq": "≜", "coloneqq": "≔",
    "ll": "≪", "gg": "≫", "argmax": "argmax", "argmin": "argmin",
}
NAMED = ("ln", "log", "exp", "sin", "cos", "tan", "sinh", "cosh", "tanh", "max", "min", "arg", "det", "dim", "lim",
         "sup", "inf", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "deg", "gcd", "Pr", "ker", "tr", "sgn")
DROPPED = ("left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "bigg", "Bigg", "biggl", "biggr",
           "textstyle", "displaystyle", "scriptstyle", "limits", "nolimits", "allowbreak", "nonumber", "middle")
FONTS = ("mathrm", "mathbf", "mathit", "mathsf", "mathtt", "boldsymbol", "bm", "operatorname", "text", "textrm",
         "textbf", "textit", "mbox", "mathcal", "mathscr", "mathfrak", "emph")
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305", "tilde": "\u0303",
           "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308"}
BINARY = {"≤", "≥", "≠", "≈", "≡", "∼", "∝", "∈", "∉", "⊂", "⊆", "→", "←", "⇒", "⇔", "↦", "·", "×", "÷", "±",
          "∓", "⊙", "⊗", "⊕", "≪", "≫", "≜", "≔"}
CLOSING = ("rVert", "rvert", "rangle", "rfloor", "rceil", "right", "bigr", "Bigr", "biggr")
BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ"}
SUBSCRIPT = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ",
                     "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ"))
SUPERSCRIPT = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzT⊤",
                       "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀᵀ"))
SUPERSCRIPT["*"] = "*"
SUPERSCRIPT["′"] = "′"


class _Latex:
    """A small reader of the LaTeX math derivations write, printing it as one line of Unicode."""

    def __init__(self, source: str):
        self.source = source
        self.at = 0

    def command(self) -> str:
        match = re.compile(r"\\([A-Za-z]+|.)").match(self.source, self.at)
        if not match:
            self.at += 1
            return ""
        self.at = match.end()
        return match.group(1)

    def skip_spaces(self) -> None:
        while self.at < len(self.source) and self.source[self.at] == " ":
            self.at += 1

    def argument(self) -> str:
        """One argument: a {group}, a command, or one character."""
        self.skip_spaces()
        if self.at >= len(self.source):
            return ""
        char = self.source[self.at]
        if char == "{":
            return self.group()
        if char == "\\":
            return self.one_command(self.command())
        self.at += 1
        return char

    def group(self) -> str:
        self.at += 1  # {
        text = self.until("}")
        self.at += 1  # }
        return text

    def optional(self) -> str | None:
        self.skip_spaces()
        if self.source.startswith("[", self.at):
            end = self.source.find("]", self.at)
            if end > 0:
                inner = _Latex(self.source[self.at + 1:end]).until(None)
                self.at = end + 1
                return inner
        return None

    def until(self, stop: str | None) -> str:
        out = ""
        while self.at < len(self.source):
            char = self.source[self.at]
            if stop and char == stop:
                break
            if char == "{":
                out += self.group()
            elif char == "\\":
                word = self.command()
                start = self.at
                piece = self.one_command(word)
                if piece in BINARY:
                    out = out.rstrip(" ") + f" {piece} "
                    self.skip_spaces()
                    continue
                if word in CLOSING:
                    out = out.rstrip(" ")
                if piece and piece[0].isalnum() and out[-1:].isalnum() and word.isalpha():
                    out += " "
                out += piece
                if word.isalpha() and self.at == start:  # TeX swallows the spaces after a command word
                    self.skip_spaces()
                    if word in NAMED and self.at < len(self.source) and self.source[self.at].isalnum():
                        out += " "
            elif char in "^_":
                self.at += 1
                out += _script(self.argument(), SUPERSCRIPT if char == "^" else SUBSCRIPT, char)
            elif char == "&":
                out += ", "
                self.at += 1
            elif char == "~":
                out += " "
                self.at += 1
            elif char == " ":
                if out and not out.endswith(" "):
                    out += " "
                self.at += 1
            else:
                out += char
                self.at += 1
        return out

    def one_command(self, word: str) -> str:
        if word in GREEK:
            return GREEK[word]
        if word in SYMBOLS:
            return SYMBOLS[word]
        if word in NAMED:
            fraction = re.compile(r" *\\[dt]?frac\b").match(self.source, self.at)
            if fraction:  # cos of a fraction: cos(πt/T)
                self.skip_spaces()
                return f"{word}({self.one_command(self.command())})"
            return word
        if word in DROPPED:
            self.skip_spaces()
            if self.source.startswith(".", self.at):
                self.at += 1
            return ""
        if word in ("frac", "dfrac", "tfrac"):
            top, bottom = self.argument(), self.argument()
            return f"{_wrapped(top)}/{_wrapped(bottom)}"
        if word == "sqrt":
            index = self.optional()
            body = self.argument()
            root = "√" if not index else ("∛" if index == "3" else ("∜" if index == "4" else _script(index, SUPERSCRIPT, "^") + "√"))
            return root + _wrapped(body, compact=True)
        if word in FONTS:
            body = self.argument()
            return body
        if word == "mathbb":
            body = self.argument()
            return "".join(BLACKBOARD.get(c, c) for c in body)
        if word in ACCENTS:
            body = self.argument()
            return body + ACCENTS[word] if len(body) == 1 else f"{body}{ACCENTS[word]}"
        if word == "begin":
            environment = self.argument()
            end = self.source.find(r"\end{" + environment + "}", self.at)
            inner = self.source[self.at:end if end >= 0 else len(self.source)]
            self.at = end + len(r"\end{" + environment + "}") if end >= 0 else len(self.source)
            return _environment(environment, inner)
        if word == "end":
            self.argument()
            return ""
        if word == "\\":
            return "; "
        if word in ("not",):
            return "¬"
        if len(word) == 1 and not word.isalpha():
            return word
        return word  # an unknown command: its name, without the backslash


def _environment(name: str, inner: str) -> str:
    rows = [r for r in re.split(r"\\\\", inner) if r.strip()]
    cells = [[latex_text(c.strip()) for c in row.split("&")] for row in rows]
    if name.rstrip("*") in ("pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix", "smallmatrix"):
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in cells) + "]"
    if name == "cases":
        return "; ".join(row[0] + (f" (for {' '.join(row[1:]).removeprefix('if ').strip()})" if len(row) > 1 else "")
                         for row in cells)
    return "; ".join(" ".join(row) for row in cells)


def _wrapped(text: str, compact: bool = False) -> str:
    """A fraction's part or a root's argument, in parentheses when it is more than one term or factor."""
    text = text.strip()
    simple = re.fullmatch(r"[\w′·∂∇.ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹₀-₉ᵢⱼₖₗₘₙₚₛₜₓ\u0300-\u036f\u20d7]+", text) is not None
    if compact:
        simple = re.fullmatch(r"[\w.]+", text) is not None
    if simple or (text.startswith("(") and text.endswith(")") and text.count("(") == 1):
        return text
    return f"({text})"


def _script(text: str, table: dict, mark: str) -> str:
    text = text.strip()
    if text in ("⊤", "ᵀ") and mark == "^":
        return "ᵀ"
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    return mark + (text if len(text) == 1 else f"({text})" if mark == "^" else text if re.fullmatch(r"\w+", text) else f"({text})")


def latex_text(source: str) -> str:
    """LaTeX math (as derivations write it) as one line of readable Unicode."""
    text = _Latex(source).until(None)
    return re.sub(r" {2,}", "  ", text).strip()


def prose_text(text: str) -> str:
    """A derivation's prose: each ``$…$`` span as Unicode mathematics, the rest as it is."""
    parts = str(text).split("$")
    return "".join(latex_text(part) if odd else part for odd, part in zip([0, 1] * len(parts), parts))


class _Printer(PrettyPrinter):
    """SymPy's Unicode pretty printer with the workbook's conventions: ln, e, indices as subscripts."""

    def __init__(self):
        super().__init__({"use_unicode": True, "wrap_line": True, "num_columns": WIDTH})

    def _print_log(self, expr, exp=None):
        return self._print_Function(expr, func_name="ln")

    def _print_Exp1(self, expr):
        return prettyForm("e")

    def _print_Indexed(self, expr):
        indices = ",".join(sympy.sstr(i) for i in expr.indices)
        return prettyForm(sympy.sstr(expr.base.label) + _script(indices, SUBSCRIPT, "_"))

    def _print_KroneckerDelta(self, expr):
        return prettyForm("δ" + _script("".join(sympy.sstr(a) for a in expr.args), SUBSCRIPT, "_"))

    def _print_Float(self, expr):
        return prettyForm(f"{float(expr):.6g}")

    def _print_Symbol(self, expr, bold_name=False):
        if any(c in expr.name for c in "\\{}^"):  # a symbol named in LaTeX: k_{11}
            return prettyForm(latex_text(expr.name))
        return super()._print_Symbol(expr, bold_name)

    def _print_Rational(self, expr):
        return prettyForm(f"{expr.p}/{expr.q}") if expr.q != 1 else prettyForm(str(expr.p))


_PRINTER = _Printer()


def _form(value: Any) -> prettyForm:
    """A value as a 2-D block of text (for displays: steps, answers, matrices given as data)."""
    if isinstance(value, Math):
        return _form(value.body)
    if isinstance(value, Tex):
        return prettyForm(latex_text(value.source))
    if isinstance(value, tuple):
        return _joined([_form(item) for item in value], " = ")
    if isinstance(value, dict):
        return _joined([prettyForm(*stringPict.next(prettyForm(latex_text(str(k))), " = ", _form(v)))
                        for k, v in value.items()], ",   ")
    if isinstance(value, list):
        if value and isinstance(value[0], (list, sympy.MatrixBase)):
            return _joined([_form(item) for item in value], ",   ")
        inner = _joined([_form(item) for item in value], ", ") if value else prettyForm("")
        return prettyForm(*inner.parens("(", ")"))
    if isinstance(value, str):
        return prettyForm(value)
    return _PRINTER._print(sympy.sympify(value))


def _joined(forms: list[prettyForm], separator: str) -> prettyForm:
    if not forms:
        return prettyForm("")
    result = forms[0]
    for form in forms[1:]:
        result = prettyForm(*stringPict.next(result, separator, form))
    return result


def display(value: Any, indent: int = 0) -> str:
    """A value drawn on as many lines as it needs (fractions stacked, matrices in brackets)."""
    text = _form(value).render(wrap_line=False)
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(" " * indent + line for line in lines)


def inline(value: Any) -> str:
    """A value on one line: ``(1/8, 1/2, 3/8)``, ``2 ln 2``, ``[[1, 2], [3, 4]]``."""
    if isinstance(value, Math):
        return inline(value.body)
    if isinstance(value, Tex):
        return latex_text(value.source)
    if isinstance(value, tuple):
        return " = ".join(inline(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{latex_text(str(k))} = {inline(v)}" for k, v in value.items())
    if isinstance(value, sympy.MatrixBase):
        return "[" + ", ".join("[" + ", ".join(inline(value[r, c]) for c in range(value.cols)) + "]"
                               for r in range(value.rows)) + "]"
    if isinstance(value, list):
        if value and isinstance(value[0], (list, sympy.MatrixBase)):
            return ", ".join(inline(item) for item in value)
        return "(" + ", ".join(inline(item) for item in value) + ")"
    if isinstance(value, str):
        return value
    from derivbook import mathtex

    return latex_text(mathtex.tex(value))


def _separator(piece) -> bool:
    return isinstance(piece, str) and piece.strip(" ,.;:") in ("", "and")


def paragraph(pieces, indent: int = 0) -> str:
    """A statement paragraph: prose with inline mathematics on one line, displays on their own lines.

    A paragraph of nothing but mathematics (matrices given as data) is drawn as one display.
    """
    pieces = (pieces,) if isinstance(pieces, str) else pieces
    if pieces and all(isinstance(p, Math) or _separator(p) for p in pieces):
        forms = []
        for piece in pieces:
            word = piece.strip(" ") if isinstance(piece, str) else None
            if isinstance(piece, Math):
                forms.append(_form(piece))
            elif word == "and":
                forms.append(prettyForm("and"))
            elif word and forms:
                forms[-1] = prettyForm(*stringPict.next(forms[-1], word))
        text = _joined(forms, "   ").render(wrap_line=False)
        return "\n".join(" " * indent + line.rstrip() for line in text.splitlines())
    out, lines = "", []
    for piece in pieces:
        if isinstance(piece, Math) and (piece.display or _tall(piece)):
            if out.strip():
                lines.append(_wrap(out.strip(), indent))
            lines.append(display(piece, indent + 4))
            out = ""
        elif isinstance(piece, Math):
            out += inline(piece)
        else:
            out += prose_text(piece)
    if out.strip():
        lines.append(_wrap(out.strip(), indent))
    return "\n".join(lines)


def _wrap(text: str, indent: int) -> str:
    import textwrap

    return textwrap.fill(text, WIDTH, initial_indent=" " * indent, subsequent_indent=" " * indent,
                         break_on_hyphens=False, break_long_words=False)


def _tall(piece: Math) -> bool:
    """Mathematics that reads better drawn than on one line: a matrix."""
    body = piece.body
    items = body if isinstance(body, tuple) else (body,)
    return any(isinstance(item, sympy.MatrixBase) and item.rows > 1 for item in items)


def step_text(step: Step, indent: int = 4) -> str:
    """``lhs = rhs`` drawn, and the reason under it."""
    pieces = []
    if not (isinstance(step.lhs, Tex) and not step.lhs.source.strip()):
        pieces.append(_form(step.lhs))
    relation = latex_text(step.relation.source) if isinstance(step.relation, Tex) else inline(step.relation)
    pieces.append(prettyForm(relation))
    pieces.append(_form(step.rhs))
    drawn = _joined(pieces, " ").render(wrap_line=False)
    lines = [" " * indent + line.rstrip() for line in drawn.splitlines()]
    lines.append(" " * (indent + 4) + "(" + prose_text(step.reason) + ")")
    return "\n".join(lines)


def steps_text(steps: list, indent: int = 2) -> str:
    out = []
    for item in steps:
        if isinstance(item, Step):
            out.append(step_text(item, indent + 2))
        else:
            out.append(" " * indent + prose_text(item))
    return "\n".join(out)


def answer_text(problem: Problem, indent: int = 4) -> str:
    """The answer parts, each drawn as ``label = value`` (and its rounded decimals where asked)."""
    from derivbook import mathtex

    out = []
    for part in problem.answer.values():
        for label, value in part.lines():
            drawn = prettyForm(*stringPict.next(_form(label), " = ", _form(value)))
            if part.decimals:
                rounded = latex_text(mathtex.approx(value, part.decimals, part.significant))
                drawn = prettyForm(*stringPict.next(drawn, f"  ≈ {rounded}"))
            out.append("\n".join(" " * indent + line.rstrip() for line in drawn.render(wrap_line=False).splitlines()))
    return "\n".join(out)


def problem_text(problem: Problem) -> str:
    """The statement, the tasks, the worked steps and the answer, as readable plain text."""
    lines = [f"{prose_text(problem.title)}  [{problem.derivation}, seed {problem.seed}]", ""]
    lines += [paragraph(p) for p in problem.statement]
    lines += [paragraph(t, 0).replace("\n", "\n      ").join((f"  ({chr(97 + n)}) ", ""))
              for n, t in enumerate(problem.tasks)]
    lines += ["", "Solution", steps_text(problem.steps)]
    lines += ["", "Answer", answer_text(problem)]
    checks = ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in problem.verified.items())
    lines += ["", f"Verified: {checks}"]
    return "\n".join(lines)
