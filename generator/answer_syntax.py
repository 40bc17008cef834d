"""What a student may write as an answer, read into SymPy numbers by a grammar of our own.

Student text is never given to ``eval``, ``sympify`` or ``parse_expr`` (they run Python code). This module
tokenizes a cell, parses it by recursive descent, and builds each SymPy number directly (``Integer``,
``Float``, ``Rational`` by division, ``sqrt``, ``log``, ``exp`` …), checking every size first: a number
too long, an exponent too large, brackets too deep or a cell too long is :class:`Unreadable`, never slow.

The grammar (``GRAMMAR`` is the same in words, for help texts)::

    cell     := entries (',' entries)*            a bare list "1/2, 1/3" is a vector
              | NAME ('='|':') value ((';'|',') NAME ('='|':') value)*     named parts: "W = [[..]]; b = [..]"
    value    := '[' rows ']' | expr
    rows     := value (',' value)* (';' value (',' value)*)*    "[1, 2; 3, 4]" is a matrix by rows
    expr     := term (('+'|'-') term)*
    term     := unary (('*'|'/') unary | power)*   a power right after a factor multiplies: 2 ln 2, 2pi, 3(1/2)
    unary    := ('-'|'+') unary | power
    power    := primary (('^'|'**') unary | SUPERSCRIPT)?         right-associative: 2^3^2 = 2^9
    primary  := NUMBER | 'pi' | 'e' | FUNCTION '(' expr ')' | FUNCTION power | '(' expr ')' | '(' value, … ')'
              | '[' rows ']'
    FUNCTION := sqrt ln log exp sin cos tan sinh cosh tanh erf abs, log2(x), log10(x)    (any letter case)

Every number is real: a square root or logarithm of a negative number, or a negative number to a fractional
power, is unreadable. ``log`` is the natural logarithm, as everywhere in derivbook.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import mpmath
import sympy

MAX_LENGTH = 2000  # characters in one cell
MAX_TOKENS = 600
MAX_DEPTH = 24  # nested brackets, parentheses, signs and function calls
MAX_DIGITS = 40  # digits in one number as written
MAX_TEN_POWER = 100  # the exponent of a number written as 1e-3
MAX_LOG_MAGNITUDE = 230.0  # |ln| of any value met while reading: every value lies within about 1e±100
MAX_BITS = 333  # the same bound in binary digits (2^333 ≈ 1e100)
MAX_EXACT_DIGITS = 400  # digits of an exact power a^n (numerator or denominator), computed before it is made
MAX_INTEGER_EXPONENT = 1000
MAX_ROOT = 100  # the largest q in a^(p/q)
WORKING_DIGITS = 30  # precision of the magnitude checks

FUNCTIONS = ("sqrt", "ln", "log", "exp", "sin", "cos", "tan", "sinh", "cosh", "tanh", "erf", "abs")
CONSTANTS = ("pi", "e")

GRAMMAR = (
    "Numbers (3, -0.4286, 1e-3), fractions (3/7), + - * / and ^ or ** for powers, brackets; "
    "functions sqrt, ln (= log, natural), log2, log10, exp, sin, cos, tan, sinh, cosh, tanh, erf, abs; "
    "constants pi and e (e^2). A space or nothing between factors multiplies: 2 ln 2, 2ln(2), 2pi, "
    "and binds like *: 1/2 ln 2 is (1/2)·ln 2. A vector is [1/2, 1/3]; a matrix [[1, 2], [3, 4]] "
    "or [1, 2; 3, 4]; named parts W = [[1, 2], [3, 4]]; b = [5, 6]."
)


class Unreadable(ValueError):
    """A cell that is not an answer in the grammar, or too large to read: the message says why."""


# Characters a student may type or paste that mean an ASCII token.
_SAME = {
    "\u2212": "-", "\u2013": "-", "\u2010": "-", "\u2011": "-", "\ufe63": "-", "\uff0d": "-",
    "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u2219": "*", "\u2217": "*",
    "\u00f7": "/", "\u2215": "/", "\u2044": "/",
    "\uff0c": ",", "\uff1b": ";",
}
_SPACES = " \t\r\n\u00a0\u2002\u2003\u2009\u200a\u202f\u200b\u2060\ufeff"
_SUPERSCRIPTS = {"\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3", "\u2074": "4", "\u2075": "5",
                 "\u2076": "6", "\u2077": "7", "\u2078": "8", "\u2079": "9", "\u207b": "-"}
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_LETTERS = re.compile(r"[A-Za-z]+")
_LOG_BASE = re.compile(r"_?(10|2)(?=[" + re.escape(_SPACES) + r"]*\()")
_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", "[", "]", ",", ";", "=", ":", "{", "}")


class _Token:
    __slots__ = ("kind", "text", "at", "raw")

    def __init__(self, kind: str, text: str, at: int, raw: str = ""):
        self.kind, self.text, self.at = kind, text, at  # kind: number, name, op, sup, end
        self.raw = raw or text  # a name as typed (text is lower case)


def tokenize(text: str) -> list[_Token]:
    """The tokens of a cell, or Unreadable naming the first character that is not allowed."""
    if len(text) > MAX_LENGTH:
        raise Unreadable(f"the answer is {len(text)} characters long; at most {MAX_LENGTH} are read")
    tokens: list[_Token] = []
    at = 0
    while at < len(text):
        char = _SAME.get(text[at], text[at])
        if char in _SPACES:
            at += 1
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs"):
            raise Unreadable(f"character {at + 1} is a control character (U+{ord(char):04X})")
        if char in _SUPERSCRIPTS:
            end = at
            while end < len(text) and text[end] in _SUPERSCRIPTS:
                end += 1
            exponent = "".join(_SUPERSCRIPTS[c] for c in text[at:end])
            if not re.fullmatch(r"-?\d{1,4}", exponent):
                raise Unreadable(f"character {at + 1}: a superscript must be a whole number such as ² or ⁻¹")
            tokens.append(_Token("sup", exponent, at))
            at = end
            continue
        if char.isdigit() and not char.isascii():
            raise Unreadable(f"character {at + 1} ({char}) is not a digit 0-9")
        number = _NUMBER.match(text, at)
        if number:
            tokens.append(_Token("number", number.group(0), at))
            at = number.end()
        elif char == "√":
            tokens.append(_Token("name", "sqrt", at))
            at += 1
        elif char in ("π", "\u03c0"):
            tokens.append(_Token("name", "pi", at))
            at += 1
        elif _LETTERS.match(text, at):
            word = _LETTERS.match(text, at)
            name, at = word.group(0).lower(), word.end()
            base = _LOG_BASE.match(text, at) if name == "log" else None
            if base:
                name, at = f"log{base.group(1)}", base.end()
            tokens.append(_Token("name", name, word.start(), word.group(0)))
        else:
            for op in _OPERATORS:
                if text.startswith(op, at) or (len(op) == 1 and char == op):
                    tokens.append(_Token("op", op, at))
                    at += len(op)
                    break
            else:
                raise Unreadable(f"character {at + 1} ({char!r}) is not allowed in an answer")
        if len(tokens) > MAX_TOKENS:
            raise Unreadable(f"the answer has more than {MAX_TOKENS} numbers and signs")
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Value:
    """A real number being read: its SymPy form and a 30-digit approximation that guards every size."""

    __slots__ = ("expr", "approx", "literal")

    def __init__(self, expr: sympy.Expr, approx: mpmath.mpf, literal: bool = False):
        self.expr, self.approx, self.literal = expr, approx, literal


def _checked(expr_maker, approx: Any, what: str) -> _Value:
    """A value whose approximation is real and within range; ``expr_maker`` builds the SymPy form after."""
    if isinstance(approx, mpmath.mpc):
        if abs(approx.imag) > abs(approx.real) * mpmath.mpf(10) ** -20 and approx.imag != 0:
            raise Unreadable(f"{what} is not a real number")
        approx = approx.real
    if not mpmath.isfinite(approx):
        raise Unreadable(f"{what} is not a finite number")
    if approx != 0 and abs(mpmath.mag(approx)) > MAX_BITS:
        raise Unreadable(f"{what} is too large or too small to be an answer here")
    return _Value(expr_maker(), approx)


def _number(text: str) -> _Value:
    mantissa, _, power = text.lower().partition("e")
    digits = mantissa.replace(".", "").lstrip("0")
    if len(digits) > MAX_DIGITS:
        raise Unreadable(f"a number with {len(digits)} digits; at most {MAX_DIGITS} are read")
    if power and abs(int(power)) > MAX_TEN_POWER:
        raise Unreadable(f"{text}: powers of ten beyond 1e±{MAX_TEN_POWER} are not read")
    if "." in text or power:
        value = _Value(sympy.Float(text, max(15, len(digits) + 2)), mpmath.mpf(text), literal=True)
    else:
        value = _Value(sympy.Integer(int(text)), mpmath.mpf(int(text)), literal=True)
    return _checked(lambda: value.expr, value.approx, text) if value.approx != 0 else value


def _is_zero(value: _Value) -> bool:
    return value.approx == 0 or value.expr.is_zero is True


def _power(base: _Value, exponent: _Value) -> _Value:
    b, x = base.expr, exponent.expr
    if _is_zero(base):
        if exponent.approx <= 0:
            raise Unreadable("0 to a power that is not positive")
        return _Value(sympy.Integer(0), mpmath.mpf(0))
    if base.approx < 0 and x.is_integer is not True:
        raise Unreadable("a negative number to a power that is not a whole number")
    if abs(exponent.approx * mpmath.log(abs(base.approx))) > MAX_LOG_MAGNITUDE:
        raise Unreadable("a power too large or too small to be an answer here")
    if x.is_Rational:
        if abs(x.p) > MAX_INTEGER_EXPONENT or x.q > MAX_ROOT:
            raise Unreadable(f"the exponent {x} is larger than an answer here needs")
        if b.is_Rational and x.q == 1:
            digits = abs(x.p) * max(len(str(abs(b.p))), len(str(b.q)))
            if digits > MAX_EXACT_DIGITS:
                raise Unreadable("an exact power with too many digits")
    approx = mpmath.power(base.approx, exponent.approx) if base.approx > 0 else base.approx ** int(x)
    return _checked(lambda: sympy.Pow(b, x), approx, "the power")


_SMOOTH = {"sin": (sympy.sin, mpmath.sin), "cos": (sympy.cos, mpmath.cos), "tan": (sympy.tan, mpmath.tan),
           "sinh": (sympy.sinh, mpmath.sinh), "cosh": (sympy.cosh, mpmath.cosh), "tanh": (sympy.tanh, mpmath.tanh),
           "erf": (sympy.erf, mpmath.erf)}


def _apply(name: str, argument: _Value) -> _Value:
    x, a = argument.expr, argument.approx
    if name == "sqrt":
        if a < 0:
            raise Unreadable("the square root of a negative number")
        return _checked(lambda: sympy.sqrt(x), mpmath.sqrt(a), "sqrt")
    if name in ("ln", "log", "log2", "log10"):
        if a <= 0 or x.is_zero is True:
            raise Unreadable(f"{name} of a number that is not positive")
        if name in ("ln", "log"):
            return _checked(lambda: sympy.log(x), mpmath.log(a), name)
        base = 2 if name == "log2" else 10
        return _checked(lambda: sympy.log(x) / sympy.log(base), mpmath.log(a, base), name)
    if name == "exp":
        if abs(a) > MAX_LOG_MAGNITUDE:
            raise Unreadable("exp of a number too large for an answer here")
        return _checked(lambda: sympy.exp(x), mpmath.exp(a), name)
    if name in _SMOOTH:
        symbolic, numeric = _SMOOTH[name]
        if abs(a) > (MAX_LOG_MAGNITUDE if name in ("sinh", "cosh") else 1e6):
            raise Unreadable(f"{name} of a number too large for an answer here")
        if name == "tan" and abs(mpmath.cos(a)) < mpmath.mpf(10) ** -20:
            raise Unreadable("tan at a pole")
        return _checked(lambda: symbolic(x), numeric(a), name)
    if name == "abs":
        return _Value(sympy.Abs(x), abs(a))
    raise AssertionError(name)


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.at = 0
        self.depth = 0

    # -- tokens --------------------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.at + offset, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_op(self, *ops: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == "op" and token.text in ops

    def expect(self, op: str) -> None:
        if not self.is_op(op):
            raise Unreadable(f"{self.where()}: expected {op!r}")
        self.take()

    def where(self) -> str:
        token = self.peek()
        return "at the end" if token.kind == "end" else f"at character {token.at + 1} ({token.text!r})"

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unreadable(f"brackets, signs or functions nested more than {MAX_DEPTH} deep")

    # -- grammar -------------------------------------------------------------------------------------
    def cell(self) -> Any:
        if self.peek().kind == "end":
            raise Unreadable("the answer is empty")
        braced = self.is_op("{")
        if braced or (self.peek().kind == "name" and self.peek().text not in FUNCTIONS + CONSTANTS
                      and self.is_op("=", ":", offset=1)):
            return self.named(braced)
        items = [self.value()]
        while self.is_op(","):
            self.take()
            items.append(self.value())
        self.end()
        return items[0] if len(items) == 1 else items

    def named(self, braced: bool) -> dict:
        if braced:
            self.take()
        found: dict = {}
        while True:
            token = self.take()
            if token.kind != "name":
                raise Unreadable(f"at character {token.at + 1}: expected the name of a part, such as W = …")
            key = token.raw
            if not self.is_op("=", ":"):
                raise Unreadable(f"{self.where()}: expected = after {key}")
            self.take()
            if key in found:
                raise Unreadable(f"{key} is given twice")
            found[key] = self.value()
            if self.is_op(";", ","):
                self.take()
                if self.peek().kind == "end" or self.is_op("}"):
                    break
                continue
            break
        if braced:
            self.expect("}")
        self.end()
        return found

    def end(self) -> None:
        if self.peek().kind != "end":
            raise Unreadable(f"{self.where()}: unexpected after a complete answer")

    def value(self) -> Any:
        self.deeper()
        result = self.expr()
        self.depth -= 1
        return result

    def bracket(self) -> list:
        """'[' rows ']' with the '[' already taken."""
        self.deeper()
        if self.is_op("]"):
            raise Unreadable(f"{self.where()}: empty brackets")
        rows = [[self.value()]]
        while self.is_op(",", ";"):
            if self.take().text == ";":
                rows.append([])
            rows[-1].append(self.value())
        self.expect("]")
        self.depth -= 1
        if len(rows) == 1:
            return rows[0]
        if any(isinstance(entry, list) for row in rows for entry in row):
            raise Unreadable("rows separated by ; must hold numbers, not brackets")
        return rows

    def expr(self) -> Any:
        result = self.term()
        while self.is_op("+", "-"):
            op = self.take().text
            right = self.term()
            result = _combine(op, result, right)
        return result

    def term(self) -> Any:
        result = self.unary()
        while True:
            if self.is_op("*", "/"):
                op = self.take().text
                result = _combine(op, result, self.unary())
            elif self.peek().kind in ("number", "name") or self.is_op("(", "["):
                if self.peek().kind == "number" and _ends_in_number(self.tokens[self.at - 1]):
                    raise Unreadable(f"{self.where()}: two numbers in a row; write * between them, "
                                     "or a point for a decimal")
                result = _combine("*", result, self.power())
            else:
                return result

    def unary(self) -> Any:
        if self.is_op("-", "+"):
            sign = self.take().text
            self.deeper()
            operand = self.unary()
            self.depth -= 1
            return _negate(operand) if sign == "-" else operand
        return self.power()

    def power(self) -> Any:
        base = self.primary()
        if self.is_op("^", "**"):
            self.take()
            self.deeper()
            exponent = self.unary()
            self.depth -= 1
            return _combine("^", base, exponent)
        if self.peek().kind == "sup":
            exponent = self.take().text
            return _combine("^", base, _Value(sympy.Integer(int(exponent)), mpmath.mpf(int(exponent))))
        return base

    def primary(self) -> Any:
        token = self.peek()
        if token.kind == "number":
            self.take()
            return _number(token.text)
        if token.kind == "name":
            self.take()
            if token.text == "pi":
                return _Value(sympy.pi, +mpmath.pi)
            if token.text == "e":
                return _Value(sympy.E, mpmath.e())
            if token.text in FUNCTIONS or token.text in ("log2", "log10"):
                return self.call(token.text)
            allowed = ", ".join(FUNCTIONS + CONSTANTS)
            raise Unreadable(f"{token.text!r} (character {token.at + 1}) is not a number, function or "
                             f"constant that answers may use ({allowed})")
        if self.is_op("("):
            self.take()
            self.deeper()
            inner = self.value()
            if self.is_op(","):
                inner = [inner]
                while self.is_op(","):
                    self.take()
                    inner.append(self.value())
            self.expect(")")
            self.depth -= 1
            return inner
        if self.is_op("["):
            self.take()
            return self.bracket()
        raise Unreadable(f"{self.where()}: expected a number")

    def call(self, name: str) -> _Value:
        self.deeper()
        if self.is_op("("):
            self.take()
            argument = self.value()
            self.expect(")")
        elif self.peek().kind in ("number", "name"):
            argument = self.power()
        else:
            raise Unreadable(f"{self.where()}: {name} needs an argument, such as {name}(2)")
        self.depth -= 1
        if not isinstance(argument, _Value):
            raise Unreadable(f"{name} of a vector: write {name} of each entry")
        return _apply(name, argument)


def _ends_in_number(token: _Token) -> bool:
    return token.kind in ("number", "sup")


def _negate(value: Any) -> Any:
    if isinstance(value, list):
        return [_negate(item) for item in value]
    return _Value(-value.expr, -value.approx)


def _scaled(items: list, factor: _Value, op: str) -> list:
    return [_scaled(item, factor, op) if isinstance(item, list) else _combine(op, item, factor) for item in items]


def _combine(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, list) or isinstance(right, list):
        if op == "*" and isinstance(right, list) and isinstance(left, _Value):
            return _scaled(right, left, "*")
        if op in ("*", "/") and isinstance(left, list) and isinstance(right, _Value):
            return _scaled(left, right, op)
        raise Unreadable("only a number times a vector (or a vector divided by a number) is read; "
                         "write each entry")
    if op == "+":
        return _checked(lambda: left.expr + right.expr, left.approx + right.approx, "the sum")
    if op == "-":
        return _checked(lambda: left.expr - right.expr, left.approx - right.approx, "the difference")
    if op == "*":
        return _checked(lambda: left.expr * right.expr, left.approx * right.approx, "the product")
    if op == "/":
        if _is_zero(right):
            raise Unreadable("division by zero")
        return _checked(lambda: left.expr / right.expr, left.approx / right.approx, "the quotient")
    return _power(left, right)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.expr


def read(text: str) -> Any:
    """A cell as SymPy numbers: one number, or nested lists (vectors, matrices by rows), or a dict of them.

    Raises :class:`Unreadable` with a message for the student. Decimals are ``sympy.Float`` (so the answer
    contract treats the entry as a rounded decimal); everything else is exact.
    """
    try:
        with mpmath.workdps(WORKING_DIGITS):
            return _plain(_Parser(text).cell())
    except RecursionError:
        raise Unreadable("the answer is nested too deeply") from None
    except (ZeroDivisionError, OverflowError, ValueError) as error:
        if isinstance(error, Unreadable):
            raise
        raise Unreadable(f"the answer could not be read as numbers ({type(error).__name__})") from None


def answer_text(value: Any) -> str:
    """A value written in this grammar, as a student may type it: ``[[7/64, -1/16], …]``, ``2*log(2)``,
    ``W = [[1, 2], [3, 4]]; b = [5, 6]``. Leaves that are already strings are written as they are."""
    if isinstance(value, dict):
        return "; ".join(f"{name} = {answer_text(item)}" for name, item in value.items())
    if isinstance(value, sympy.MatrixBase):
        return "[" + ", ".join(answer_text(list(value.row(r))) for r in range(value.rows)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(answer_text(item) for item in value) + "]"
    if isinstance(value, str):
        return value
    return sympy.sstr(value)
