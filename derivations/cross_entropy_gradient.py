"""Cross-entropy of softmax with label smoothing, and its gradient ``∂L/∂z = s − y``, derived for general n.

The logits are logarithms of small integers, so ``s`` and the gradient are fractions; the loss is a sum of
logarithms, printed exactly and rounded.
"""


import mpmath
import sympy
from sympy import IndexedBase, Q, Rational, Sum, exp, factor_terms, log, refine, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
    Param,
    Problem,
    Step,
    Tex,
    at,
    derive_once,
    mp_gradient,
    mp_softmax,
    mp_vector,
    prove_equal,
)

ID = "cross-entropy-gradient"
TITLE = "Cross-entropy with label smoothing and its gradient"
TOPIC = "calculus"
PARAMS = (
    Param("n", int, 4, "number of classes", low=2, high=6),
    Param("epsilon", float, 0.1, "label-smoothing strength ε", low=0.0, high=0.5),
)

z, y = IndexedBase("z"), IndexedBase("y")
i, j, k, n = symbols("i j k n", integer=True, positive=True)
eps, target = symbols("varepsilon t", nonnegative=True)


@derive_once
def derive() -> dict:
    """Loss and gradient for symbolic n; the gradient proven equal to ``s_j − y_j`` when ``Σ y_i = 1``."""
    total = Sum(exp(z[k]), (k, 1, n))
    loss = -Sum(y[i] * (z[i] - log(total)), (i, 1, n))
    gradient = factor_terms(sympy.expand(refine(sympy.diff(loss, z[j]).doit(), Q.le(j, n) & Q.ge(j, 1))))
    labels_sum = Sum(y[i], (i, 1, n))
    normalised = gradient.xreplace({labels_sum: sympy.Integer(1)})
    prove_equal(normalised, exp(z[j]) / total - y[j], "cross-entropy gradient")
    smoothed_sum = Sum((1 - eps) * sympy.KroneckerDelta(i, target) + eps / n, (i, 1, n))
    prove_equal(refine(smoothed_sum.doit(), Q.le(target, n) & Q.ge(target, 1)), 1, "smoothed labels sum to one")
    return {"loss": loss, "gradient": gradient, "normalised": normalised}


def _labels(size: int, hot: int, smoothing) -> list:
    return [(1 - smoothing) * (1 if a == hot else 0) + smoothing / size for a in range(size)]


def generate(params: dict, dice) -> Problem:
    """Logits ``z_i = ln w_i``, a target class and label smoothing ε."""
    size, smoothing = params["n"], Rational(str(params["epsilon"]))
    weights = [dice.integer(1, 6) for _ in range(size)]
    hot = dice.integer(0, size - 1)
    if len(set(weights)) == 1:
        weights[(hot + 1) % size] += 1
    logits = [log(w) for w in weights]
    labels = _labels(size, hot, smoothing)
    general = derive()
    values = {n: size}
    arrays = {z: logits, y: labels}
    loss = at(general["loss"], values, arrays)
    loss_shown = sympy.Add(*[c * log(Rational(sum(weights), w)) for c, w in zip(labels, weights) if c != 0])
    prove_equal(loss_shown, loss, "loss as a sum of y_i ln(1/s_i)")
    probs = [at(exp(z[j]) / Sum(exp(z[k]), (k, 1, n)), {n: size, j: a + 1}, arrays) for a in range(size)]
    gradient = [at(general["normalised"], {n: size, j: a + 1}, arrays) for a in range(size)]
    smoothing_text = "no label smoothing" if smoothing == 0 else "label smoothing"
    steps = [
        "The general result",
        Step(Tex("L"), general["loss"], r"$\ln s_i = z_i - \ln \sum_k e^{z_k}$"),
        Step(Tex(r"\frac{\partial L}{\partial z_j}"), general["gradient"], "differentiate (SymPy)"),
        Step(Tex(""), Tex("s_j - y_j"), r"$\sum_i y_i = 1$, also after smoothing"),
        "Your numbers",
        Step(Tex("y"), labels, rf"$(1-\varepsilon)\,\mathbf{{e}}_t + \varepsilon/n$, $t = {hot + 1}$"),
        Step(Tex("s"), probs, rf"$e^{{z_i}}$ over their sum {sum(weights)}"),
        Step(Tex("L"), loss_shown, r"$\sum_i y_i \ln(1/s_i)$"),
        Step(Tex(r"\nabla_z L"), gradient, "$s - y$"),
    ]
    return Problem(
        inputs={"z": logits, "target": hot, "epsilon": smoothing},
        statement=[
            ("A classifier over ", str(size), " classes produces the logits ", Math((Tex("z"), logits)), ". "),
            (
                f"The correct class is {hot + 1}, trained with {smoothing_text} ",
                Math((Tex(r"\varepsilon"), smoothing)),
                ": ",
                Math(Tex(r"y = (1-\varepsilon)\,\mathbf{e}_t + \varepsilon/n")),
                ".",
            ),
        ],
        tasks=[
            ("Compute the loss ", Math(Tex(r"L = -\sum_i y_i \ln s_i")), " where ", Math(Tex(r"s = \operatorname{softmax}(z)")), "."),
            ("Compute the gradient ", Math(Tex(r"\partial L / \partial z")), "."),
        ],
        steps=steps,
        answer={
            "loss": AnswerPart("loss", Tex("L"), loss_shown, decimals=4),
            "grad": AnswerPart("grad", Tex(r"\nabla_z L"), gradient),
        },
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Differentiate the instantiated loss with explicit symbols, then substitute the logits."""
    size = len(inputs["z"])
    variables = symbols(f"x1:{size + 1}")
    labels = _labels(size, inputs["target"], sympy.sympify(inputs["epsilon"]))
    total = sum(exp(x) for x in variables)
    loss = -sum(c * log(exp(x) / total) for c, x in zip(labels, variables))
    point = dict(zip(variables, inputs["z"]))
    gradient = [sympy.diff(loss, x).xreplace(point) for x in variables]
    return {"loss": sympy.expand_log(loss.xreplace(point), force=True), "grad": gradient}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The loss summed in mpmath, its gradient by numerical differentiation."""
    size = len(inputs["z"])
    labels = mp_vector(_labels(size, inputs["target"], sympy.sympify(inputs["epsilon"])))

    def loss(v):
        return -mpmath.fsum(c * mpmath.log(p) for c, p in zip(labels, mp_softmax(v)))

    point = mp_vector(inputs["z"])
    return {"loss": loss(point), "grad": mp_gradient(loss, point)}
