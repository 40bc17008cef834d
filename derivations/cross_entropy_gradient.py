"""Cross-entropy of softmax with label smoothing, and its gradient ``∂L/∂z = s − y``, derived for general n.

The logits are logarithms of small integers, so ``s`` and the gradient are fractions; the loss is a sum of
logarithms of primes, printed exactly and rounded.
"""


import mpmath
import sympy
from sympy import IndexedBase, Q, Rational, Sum, exp, factor_terms, log, refine, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
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

# The loss with ln s_i written out, as printed; derive() proves the expression behind it.
EXPANDED_TEX = Tex(r"\ln\Bigl(\sum_{k=1}^{n} e^{z_k}\Bigr) \sum_{i=1}^{n} y_i - \sum_{i=1}^{n} y_i z_i")


@derive_once
def derive() -> dict:
    """Loss and gradient for symbolic n; the gradient proven equal to ``s_j − y_j`` when ``Σ y_i = 1``."""
    total = Sum(exp(z[k]), (k, 1, n))
    loss = -Sum(y[i] * (z[i] - log(total)), (i, 1, n))
    prove_equal(loss, log(total) * Sum(y[i], (i, 1, n)) - Sum(y[i] * z[i], (i, 1, n)), "loss with ln s_i written out")
    gradient = factor_terms(sympy.expand(refine(sympy.diff(loss, z[j]).doit(), Q.le(j, n) & Q.ge(j, 1))))
    labels_sum = Sum(y[i], (i, 1, n))
    normalised = gradient.xreplace({labels_sum: sympy.Integer(1)})
    prove_equal(normalised, exp(z[j]) / total - y[j], "cross-entropy gradient")
    smoothed_sum = Sum((1 - eps) * sympy.KroneckerDelta(i, target) + eps / n, (i, 1, n))
    prove_equal(refine(smoothed_sum.doit(), Q.le(target, n) & Q.ge(target, 1)), 1, "smoothed labels sum to one")
    return {"loss": loss, "gradient": gradient, "normalised": normalised}


def _labels(size: int, hot: int, smoothing) -> list:
    return [(1 - smoothing) * (1 if a == hot else 0) + smoothing / size for a in range(size)]


def in_primes(expr: sympy.Expr) -> sympy.Expr:
    """A sum of logarithms of positive rationals as ``Σ c_p ln p`` over primes (exact): one term per prime."""
    terms = {}
    for term in sympy.Add.make_args(sympy.expand(expr)):
        coefficient, rest = term.as_coeff_Mul()
        for prime, power in sympy.factorrat(rest.args[0]).items():
            terms[prime] = terms.get(prime, 0) + coefficient * power
    return sympy.Add(*[c * log(p) for p, c in terms.items()])


def _mistakes(size: int, hot: int, probs: list, labels: list, loss_terms: list) -> list:
    one_hot = [1 if a == hot else 0 for a in range(size)]
    return [
        Mistake("grad", "sign-flipped", [c - p for p, c in zip(probs, labels)],
                r"This is $y - s$: the gradient of $L = -\sum_i y_i \ln s_i$ is $s - y$, which is positive for the "
                r"classes the model over-predicts."),
        Mistake("grad", "no-label-smoothing", [p - c for p, c in zip(probs, one_hot)],
                r"The smoothing was dropped: the target is $y = (1-\varepsilon)\,\mathbf{e}_t + \varepsilon/n$, "
                r"not the one-hot $\mathbf{e}_t$, so the gradient is $s - y$ with the smoothed $y$."),
        Mistake("loss", "no-label-smoothing", loss_terms[hot],
                r"This is $-\ln s_t$, the loss of the one-hot target. With label smoothing every class has weight "
                r"$y_i \ge \varepsilon/n$: $L = -\sum_i y_i \ln s_i$."),
    ]


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
    arrays = {z: logits, y: labels}
    surprisals = [log(Rational(sum(weights), w)) for w in weights]  # −ln s_i = ln(Σ_k e^{z_k} / e^{z_i})
    # one hot label: the loss is a single logarithm; smoothed labels: collected over primes (the exact check
    # proves this printed form equal to the loss evaluated afresh)
    loss_shown = surprisals[hot] if smoothing == 0 else in_primes(sum(c * v for c, v in zip(labels, surprisals)))
    probs = [at(exp(z[j]) / Sum(exp(z[k]), (k, 1, n)), {n: size, j: a + 1}, arrays) for a in range(size)]
    gradient = [at(general["normalised"], {n: size, j: a + 1}, arrays) for a in range(size)]
    steps = [
        "The general result",
        Step(Tex("L"), Tex(r"-\sum_{i=1}^{n} y_i \ln s_i"), r"definition, with $s = \operatorname{softmax}(z)$"),
        Step(Tex(""), EXPANDED_TEX, r"$\ln s_i = z_i - \ln \sum_k e^{z_k}$"),
        Step(Tex(r"\frac{\partial L}{\partial z_j}"), general["gradient"],
             r"chain rule: $\frac{\partial}{\partial z_j} \ln \sum_k e^{z_k} = \frac{e^{z_j}}{\sum_k e^{z_k}}$"),
        Step(Tex(""), Tex("s_j - y_j"), r"$\sum_i y_i = 1$ for the one-hot $y$" if smoothing == 0 else
             r"$\sum_i y_i = (1-\varepsilon) + n \cdot \varepsilon/n = 1$"),
        "Your numbers",
        Step(Tex("y"), labels, rf"$\mathbf{{e}}_t$ with $t = {hot + 1}$" if smoothing == 0 else
             rf"$(1-\varepsilon)\,\mathbf{{e}}_t + \varepsilon/n$ with $t = {hot + 1}$"),
        Step(Tex("s"), probs, rf"$e^{{z_i}}$ over $\sum_k e^{{z_k}} = {sum(weights)}$"),
        Step(Tex(r"-\ln s"), surprisals, r"$-\ln s_i = \ln\bigl(\sum_k e^{z_k} / e^{z_i}\bigr)$"),
        Step(Tex("L"), loss_shown, r"$-\ln s_t$, the only term with $y_i \ne 0$" if smoothing == 0 else
             r"$\sum_i y_i(-\ln s_i)$, with $\ln(ab) = \ln a + \ln b$ collected"),
        Step(Tex(r"\nabla_z L"), gradient, "$s - y$"),
    ]
    return Problem(
        inputs={"z": logits, "target": hot, "epsilon": smoothing},
        statement=[
            ("A classifier over ", Math((Tex("n"), size)), " classes produces the logits ", Math((Tex("z"), logits)), ". "),
            ("The correct class is ", Math((Tex("t"), hot + 1)), ", trained without label smoothing: the target is the one-hot vector ",
             Math(Tex(r"y = \mathbf{e}_t")), " of class ", Math(Tex("t")), ".") if smoothing == 0 else
            ("The correct class is ", Math((Tex("t"), hot + 1)), ", trained with label smoothing ", Math((Tex(r"\varepsilon"), smoothing)),
             ": the target is ", Math(Tex(r"y = (1-\varepsilon)\,\mathbf{e}_t + \varepsilon/n")), ", where ", Math(Tex(r"\mathbf{e}_t")),
             " is the one-hot vector of class ", Math(Tex("t")), "."),
        ],
        tasks=[
            ("Compute the loss ", Math(Tex(r"L = -\sum_i y_i \ln s_i")), " where ", Math(Tex(r"s = \operatorname{softmax}(z)")),
             ", exactly and to four decimal places."),
            ("Compute the gradient ", Math(Tex(r"\nabla_z L = \partial L / \partial z")), "."),
        ],
        steps=steps,
        answer={
            "loss": AnswerPart("loss", Tex("L"), loss_shown, decimals=4),
            "grad": AnswerPart("grad", Tex(r"\nabla_z L"), gradient),
        },
        mistakes=_mistakes(size, hot, probs, labels, surprisals),
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Differentiate the loss of ``n`` logits with explicit symbols, then substitute the labels and logits."""
    size = len(inputs["z"])
    variables, labels, loss, gradient = _differentiated(size)
    targets = _labels(size, inputs["target"], sympy.sympify(inputs["epsilon"]))
    point = dict(zip(variables, inputs["z"])) | dict(zip(labels, targets))
    return {"loss": sympy.expand_log(loss.xreplace(point), force=True), "grad": [g.xreplace(point) for g in gradient]}


@derive_once
def _differentiated(size: int) -> tuple:
    """The loss −Σ yᵢ ln(e^{xᵢ}/Σₖ e^{xₖ}) of ``size`` logits and labels as symbols, and its partial derivatives."""
    variables, labels = symbols(f"x1:{size + 1}"), symbols(f"y1:{size + 1}")
    total = sum(exp(x) for x in variables)
    loss = -sum(c * log(exp(x) / total) for c, x in zip(labels, variables))
    return variables, labels, loss, [sympy.diff(loss, x) for x in variables]


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The loss summed in mpmath, its gradient by numerical differentiation."""
    size = len(inputs["z"])
    labels = mp_vector(_labels(size, inputs["target"], sympy.sympify(inputs["epsilon"])))

    def loss(v):
        return -mpmath.fsum(c * mpmath.log(p) for c, p in zip(labels, mp_softmax(v)))

    point = mp_vector(inputs["z"])
    return {"loss": loss(point), "grad": mp_gradient(loss, point)}
