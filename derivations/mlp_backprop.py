"""Backpropagation through a one-hidden-layer network, by the chain rule.

``h = act(W1 x + b1)``, ``ŷ = W2 h + b2``, ``L = ½‖ŷ − y‖²``. SymPy differentiates the loss with respect
to every parameter; the backprop formulas (δ₂ = ŷ − y, δ₁ = W2ᵀδ₂ ⊙ act′(a), …) are proven equal to it.
For sigmoid and tanh the pre-activations are chosen logarithms (``SMOOTH_POINTS``), so every activation and
gradient is a fraction with a small denominator.
"""


import mpmath
import sympy
from sympy import Heaviside, Max, exp, log, tanh

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    int_matrix,
    prove_equal,
    symbol_matrix,
    symbol_vector,
    to_mp,
)

ID = "mlp-backprop"
TITLE = "Backpropagation through a small MLP"
TOPIC = "calculus"
PARAMS = (
    Param("activation", str, "relu", "hidden activation", choices=("relu", "sigmoid", "tanh")),
    Param("inputs", int, 2, "input size", low=1, high=3),
    Param("hidden", int, 2, "hidden units", low=1, high=3),
    Param("outputs", int, 1, "output size", low=1, high=2),
)

t = sympy.Symbol("t", real=True)
ACT = {"relu": Max(0, t), "sigmoid": 1 / (1 + exp(-t)), "tanh": tanh(t)}
ACT_PRIME = {"relu": Heaviside(t), "sigmoid": ACT["sigmoid"] * (1 - ACT["sigmoid"]), "tanh": 1 - tanh(t) ** 2}
ACT_TEX = {"relu": r"\operatorname{ReLU}", "sigmoid": r"\sigma", "tanh": r"\tanh"}
PARTS = ("dW1", "db1", "dW2", "db2")


f = sympy.Function("f")  # a generic activation: the chain rule does not depend on which


def _network(n_in: int, n_h: int, n_out: int) -> dict:
    x, y = symbol_vector("x", n_in), symbol_vector("y", n_out)
    w1, b1 = symbol_matrix("W1", n_h, n_in), symbol_vector("b1", n_h)
    w2, b2 = symbol_matrix("W2", n_out, n_h), symbol_vector("b2", n_out)
    pre = w1 * x + b1
    hidden = pre.applyfunc(f)
    out = w2 * hidden + b2
    loss = ((out - y).T * (out - y))[0] / 2
    return {"x": x, "y": y, "W1": w1, "b1": b1, "W2": w2, "b2": b2, "pre": pre, "hidden": hidden, "out": out, "loss": loss}


@derive_once
def derive(n_in: int, n_h: int, n_out: int) -> dict:
    """SymPy's gradient of the loss for every parameter, for a generic activation f, and the backprop
    formulas proven equal to it; then each concrete activation's derivative proven equal to its textbook form.
    """
    net = _network(n_in, n_h, n_out)
    grads = {f"d{name}": net[name].applyfunc(lambda p: sympy.diff(net["loss"], p)) for name in ("W1", "b1", "W2", "b2")}
    slope = net["pre"].applyfunc(lambda a: sympy.Subs(sympy.Derivative(f(t), t), t, a))
    delta2 = net["out"] - net["y"]
    delta1 = sympy.matrix_multiply_elementwise(net["W2"].T * delta2, slope)
    formulas = {"dW2": delta2 * net["hidden"].T, "db2": delta2, "dW1": delta1 * net["x"].T, "db1": delta1}
    for name in PARTS:
        for derived, claimed in zip(grads[name], formulas[name]):
            prove_equal(derived, claimed, f"backprop formula for {name}")
    for name in ACT:
        prove_equal(sympy.diff(ACT[name], t), ACT_PRIME[name], f"derivative of {name}")
    return {"net": net, "grads": grads}


def _concrete(expr, activation: str):
    """Put a concrete activation and its (proven) derivative in place of the generic f and f′."""
    expr = expr.replace(lambda e: isinstance(e, sympy.Subs), lambda e: ACT_PRIME[activation].subs(t, e.point[0]))
    expr = expr.replace(f, sympy.Lambda(t, ACT[activation]))
    return expr.rewrite(exp) if expr.has(tanh) else expr


# Pre-activations whose activations and slopes share one small denominator: σ(0) = 1/2, σ(±ln 3) = 3/4, 1/4
# (slopes 1/4, 3/16); tanh(±ln 2) = ±3/5, tanh(±ln 3) = ±4/5 (slopes 16/25, 9/25). Hand arithmetic stays in
# quarters or fifths, not products of unrelated denominators.
SMOOTH_POINTS = {"sigmoid": (0, log(3), -log(3)), "tanh": (log(2), -log(2), log(3), -log(3))}


def _draw(dice, activation: str, n_in: int, n_h: int, n_out: int) -> dict:
    for _ in range(300):
        x = int_matrix(dice, n_in, 1, -2, 2)
        w1 = int_matrix(dice, n_h, n_in, -2, 2)
        if activation == "relu":
            b1 = int_matrix(dice, n_h, 1, -2, 2)
            pre = w1 * x + b1
            # never at the kink; some unit active; with two or more units one is off, so the gate shows
            if any(v == 0 for v in pre) or all(v < 0 for v in pre) or (n_h > 1 and all(v > 0 for v in pre)):
                continue
        else:  # choose b1 so that every pre-activation is one of the points above
            pre = sympy.Matrix([dice.choice(SMOOTH_POINTS[activation]) for _ in range(n_h)])
            b1 = pre - w1 * x
        w2 = int_matrix(dice, n_out, n_h, -2, 2)
        b2 = int_matrix(dice, n_out, 1, -1, 1)
        # every input and weight row counts: no zero column of dW1, no hidden unit cut off from x or from y
        if any(v == 0 for v in w2) or any(v == 0 for v in x) or any(not any(w1.row(r)) for r in range(n_h)):
            continue
        out = w2 * pre.applyfunc(lambda a: ACT[activation].subs(t, a).rewrite(exp)) + b2
        # an integer target near each output, never on it: every output is wrong (no gradient vanishes by
        # accident) but by at most 2, so the backward pass stays small by hand
        y = out.applyfunc(lambda o: sympy.floor(o + sympy.Rational(1, 2)) + dice.choice((-2, -1, 1, 2) if o.is_Integer else (-1, 0, 1)))
        slope = pre.applyfunc(lambda a: ACT_PRIME[activation].subs(t, a).rewrite(exp))
        if any(sympy.matrix_multiply_elementwise(w2.T * (out - y), slope)):  # the first layer learns something
            return {"x": x, "y": y, "W1": w1, "b1": b1, "W2": w2, "b2": b2}
    raise RuntimeError("no network found in 300 draws")


@derive_once
def _with_activation(sizes: tuple, activation: str) -> dict:
    """The network's forward pass and SymPy's gradients (``derive``) with a concrete activation in place of f."""
    general = derive(*sizes)
    net = general["net"]
    exprs = {key: net[key] for key in ("pre", "hidden", "out")} | {"loss": sympy.Matrix([net["loss"]])} | general["grads"]
    return {key: expr.applyfunc(lambda e: _concrete(e, activation)) for key, expr in exprs.items()}


def _values(concrete: dict, net: dict, numbers: dict) -> dict:
    """Every expression of ``concrete`` at this instance's numbers."""
    mapping = {}
    for name, value in numbers.items():
        mapping.update(zip(net[name], value))
    return {key: expr.xreplace(mapping) for key, expr in concrete.items()}


def _mistakes(numbers: dict, pre, hidden, delta2, back, grads: dict, act: str) -> list:
    """The usual wrong gradients, computed from the same forward and backward pass."""
    x = numbers["x"]
    mistakes = [
        Mistake("loss", "missing-half", (delta2.T * delta2)[0],
                r"This is $\lVert \hat y - y\rVert^2$: the loss is $L = \tfrac12 \lVert \hat y - y\rVert^2$."),
        Mistake("db2", "residual-sign", list(-delta2),
                r"This is $y - \hat y$: the derivative of $\tfrac12 \lVert \hat y - y\rVert^2$ with respect to "
                r"$\hat y$ is $\hat y - y$."),
        Mistake("dW2", "pre-activation-not-activation", delta2 * pre.T,
                r"This is $\delta_2 a^{\top}$: $\hat y = W_2 h + b_2$ multiplies the activations $h$, so "
                r"$\partial L/\partial W_2 = \delta_2 h^{\top}$, not the pre-activations $a$."),
        Mistake("dW1", "missing-activation-derivative", back * x.T,
                rf"The factor ${act}'(a)$ is missing: the gradient passes back through the activation, "
                rf"$\delta_1 = (W_2^{{\top}}\delta_2) \odot {act}'(a)$, before $\partial L/\partial W_1 = \delta_1 x^{{\top}}$."),
        Mistake("db1", "missing-activation-derivative", list(back),
                rf"This is $W_2^{{\top}}\delta_2$ without the factor ${act}'(a)$: "
                rf"$\partial L/\partial b_1 = \delta_1 = (W_2^{{\top}}\delta_2) \odot {act}'(a)$."),
    ]
    delta1 = sympy.Matrix(grads["db1"])
    if x.rows == delta1.rows:  # a transposed gradient has the right shape only when W_1 is square
        mistakes.append(Mistake("dW1", "transposed", x * delta1.T,
                                r"This is $x\,\delta_1^{\top}$, the transpose: entry $(i, j)$ of "
                                r"$\partial L/\partial W_1$ is $\delta_{1,i}\, x_j$, so it is $\delta_1 x^{\top}$, shaped like $W_1$."))
    if hidden.rows == delta2.rows:
        mistakes.append(Mistake("dW2", "transposed", hidden * delta2.T,
                                r"This is $h\,\delta_2^{\top}$, the transpose: entry $(i, j)$ of "
                                r"$\partial L/\partial W_2$ is $\delta_{2,i}\, h_j$, so it is $\delta_2 h^{\top}$, shaped like $W_2$."))
    return mistakes


SLOPE_REASONS = {"relu": "1 where $a > 0$, else 0", "sigmoid": r"$\sigma'(a) = \sigma(a)\,(1 - \sigma(a))$",
                 "tanh": r"$\tanh'(a) = 1 - \tanh^2 a$"}


def generate(params: dict, dice) -> Problem:
    """A network with integer weights and, for smooth activations, log-valued hidden biases."""
    activation, sizes = params["activation"], (params["inputs"], params["hidden"], params["outputs"])
    numbers = _draw(dice, activation, *sizes)
    values = _values(_with_activation(sizes, activation), derive(*sizes)["net"], numbers)
    pre, hidden, out, loss = values["pre"], values["hidden"], values["out"], values["loss"][0]
    grads = {name: values[name] for name in PARTS}
    delta2 = out - numbers["y"]
    back = numbers["W2"].T * delta2
    slope = pre.applyfunc(lambda a: ACT_PRIME[activation].subs(t, a).rewrite(exp))
    act = ACT_TEX[activation]
    steps = [
        "The general result",
        Step(Tex(r"\delta_2 = \frac{\partial L}{\partial \hat y}"), Tex(r"\hat y - y"), r"derivative of $\tfrac12\lVert \hat y - y\rVert^2$"),
        Step(Tex(r"\frac{\partial L}{\partial W_2},\ \frac{\partial L}{\partial b_2}"), Tex(r"\delta_2 h^{\top},\ \delta_2"),
             r"chain rule through $\hat y_i = \sum_j (W_2)_{ij} h_j + (b_2)_i$"),
        Step(Tex(r"\delta_1 = \frac{\partial L}{\partial a}"), Tex(rf"(W_2^{{\top}}\delta_2) \odot {act}'(a)"),
             r"chain rule: $\partial \hat y/\partial h = W_2$, then the activation entry by entry"),
        Step(Tex(r"\frac{\partial L}{\partial W_1},\ \frac{\partial L}{\partial b_1}"), Tex(r"\delta_1 x^{\top},\ \delta_1"),
             r"as for layer 2, through $a = W_1 x + b_1$"),
        "Your numbers: forward",
        Step(Tex(r"a = W_1 x + b_1"), list(pre), "pre-activations"),
        Step(Tex(rf"h = {act}(a)"), list(hidden), "hidden activations"),
        Step(Tex(r"\hat y = W_2 h + b_2"), list(out), "output"),
        Step(Tex("L"), loss, r"$\tfrac12 \lVert \hat y - y\rVert^2$"),
        "Your numbers: backward",
        Step(Tex(r"\delta_2"), list(delta2), r"$\hat y - y$"),
        Step(Tex(r"\partial L/\partial W_2 = \delta_2 h^{\top}"), grads["dW2"], r"outer product: entry $(i, j)$ is $\delta_{2,i} h_j$"),
        Step(Tex(r"\partial L/\partial b_2"), list(grads["db2"]), r"$\delta_2$"),
        Step(Tex(r"W_2^{\top}\delta_2"), list(back), "the error sent back to $h$"),
        Step(Tex(rf"{act}'(a)"), list(slope), SLOPE_REASONS[activation]),
        Step(Tex(r"\delta_1"), list(grads["db1"]), rf"$(W_2^{{\top}}\delta_2) \odot {act}'(a)$, entry by entry"),
        Step(Tex(r"\partial L/\partial W_1 = \delta_1 x^{\top}"), grads["dW1"], r"outer product: entry $(i, j)$ is $\delta_{1,i} x_j$"),
        Step(Tex(r"\partial L/\partial b_1"), list(grads["db1"]), r"$\delta_1$"),
    ]
    return Problem(
        inputs={name: (list(numbers[name]) if numbers[name].cols == 1 else numbers[name]) for name in ("x", "y", "W1", "b1", "W2", "b2")},
        statement=[
            ("A network computes ", Math(Tex(r"a = W_1 x + b_1")), ", ", Math(Tex(rf"h = {act}(a)")), ", ",
             Math(Tex(r"\hat y = W_2 h + b_2")), " and the loss ", Math(Tex(r"L = \tfrac12 \lVert \hat y - y\rVert^2")), ", with"),
            (Math((Tex("W_1"), numbers["W1"])), ", ", Math((Tex("b_1"), list(numbers["b1"])))),
            (Math((Tex("W_2"), numbers["W2"])), ", ", Math((Tex("b_2"), list(numbers["b2"])))),
            ("input ", Math((Tex("x"), list(numbers["x"]))), " and target ", Math((Tex("y"), list(numbers["y"]))), "."),
        ],
        tasks=[
            ("Run the forward pass and compute ", Math(Tex("L")), "."),
            ("Compute the gradients ", Math(Tex(r"\partial L/\partial W_1")), ", ", Math(Tex(r"\partial L/\partial b_1")), ", ",
             Math(Tex(r"\partial L/\partial W_2")), " and ", Math(Tex(r"\partial L/\partial b_2")), " by the chain rule."),
        ],
        steps=steps,
        answer={
            "loss": AnswerPart("loss", Tex("L"), loss),
            "dW1": AnswerPart("dW1", Tex(r"\partial L/\partial W_1"), grads["dW1"]),
            "db1": AnswerPart("db1", Tex(r"\partial L/\partial b_1"), list(grads["db1"])),
            "dW2": AnswerPart("dW2", Tex(r"\partial L/\partial W_2"), grads["dW2"]),
            "db2": AnswerPart("db2", Tex(r"\partial L/\partial b_2"), list(grads["db2"])),
        },
        mistakes=_mistakes(numbers, pre, hidden, delta2, back, grads, act),
    )


def _as_matrix(value) -> sympy.Matrix:
    return sympy.Matrix(value) if not isinstance(value, sympy.MatrixBase) else value


def exact_answer(inputs: dict, params: dict) -> dict:
    """The textbook backward pass with exact numbers: δ₂ = ŷ − y, δ₁ = W₂ᵀδ₂ ⊙ act′(a), outer products.

    A different route from the answer, which is SymPy's derivative of the generic network; act′ is the
    SymPy derivative of the activation's formula, evaluated at each pre-activation.
    """
    numbers = {k: _as_matrix(v) for k, v in inputs.items()}
    activation = ACT[params["activation"]]
    slope = sympy.diff(activation, t)
    pre = numbers["W1"] * numbers["x"] + numbers["b1"]
    hidden = pre.applyfunc(lambda a: activation.subs(t, a).rewrite(exp))
    out = numbers["W2"] * hidden + numbers["b2"]
    delta2 = out - numbers["y"]
    delta1 = sympy.matrix_multiply_elementwise(numbers["W2"].T * delta2, pre.applyfunc(lambda a: slope.subs(t, a).rewrite(exp)))
    return {
        "loss": (delta2.T * delta2)[0] / 2,
        "dW1": delta1 * numbers["x"].T,
        "db1": list(delta1),
        "dW2": delta2 * hidden.T,
        "db2": list(delta2),
    }


def numeric_answer(inputs: dict, params: dict) -> dict:
    """A forward pass in mpmath and numerical differentiation for every parameter entry."""
    f = {"relu": lambda a: max(mpmath.mpf(0), a), "sigmoid": lambda a: 1 / (1 + mpmath.exp(-a)), "tanh": mpmath.tanh}[params["activation"]]
    numbers = {k: [[to_mp(e) for e in row] for row in _as_matrix(v).tolist()] for k, v in inputs.items()}

    def loss(p):
        hidden = [f(mpmath.fsum(w * xi[0] for w, xi in zip(row, p["x"])) + bias[0]) for row, bias in zip(p["W1"], p["b1"])]
        out = [mpmath.fsum(w * h for w, h in zip(row, hidden)) + bias[0] for row, bias in zip(p["W2"], p["b2"])]
        return mpmath.fsum((o - yi[0]) ** 2 for o, yi in zip(out, p["y"])) / 2

    result = {"loss": loss(numbers)}
    for name in ("W1", "b1", "W2", "b2"):
        grad = []
        for r, row in enumerate(numbers[name]):
            entries = []
            for c in range(len(row)):
                def moved(v, r=r, c=c, name=name):
                    changed = {k: [list(x) for x in m] for k, m in numbers.items()}
                    changed[name][r][c] = v
                    return loss(changed)
                entries.append(mpmath.diff(moved, numbers[name][r][c]))
            grad.append(entries)
        result[f"d{name}"] = [g[0] for g in grad] if name.startswith("b") else grad
    return result
