"""A learning-rate schedule: linear warm-up to a peak, then cosine decay to a floor.

SymPy proves the schedule continuous at the end of warm-up, equal to the floor at the end, and flat
there (zero slope). The asked steps sit at simple fractions of the decay, where cosines are exact.
"""


import mpmath
import sympy
from sympy import Piecewise, Rational, cos, pi, symbols

from derivbook.authoring import (
    AnswerPart,
    Figure,
    Math,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    prove_equal,
    scientific,
    to_mp,
)

ID = "lr-schedule"
TITLE = "Warm-up and cosine decay of the learning rate"
TOPIC = "calculus"
PARAMS = (Param("points", int, 4, "number of steps asked", low=2, high=6),)

PEAKS = (Rational(1, 1000), Rational(6, 10000), Rational(3, 10000), Rational(5, 10000))
WARMUPS = (100, 200, 400, 500, 1000, 2000)
DECAYS = (600, 1200, 2400, 3600, 6000, 12000)  # multiples of 12: the fractions below land on whole steps
FRACTIONS = (Rational(1, 6), Rational(1, 4), Rational(1, 3), Rational(1, 2), Rational(2, 3), Rational(3, 4), Rational(5, 6), 1)

peak, floor, warm, total, t = symbols("p_{peak} lr_{min} w T t", positive=True)


@derive_once
def derive() -> dict:
    """The schedule as a SymPy Piecewise, with continuity, end value and flat landing proven."""
    ramp = peak * t / warm
    decay = floor + (peak - floor) / 2 * (1 + cos(pi * (t - warm) / (total - warm)))
    prove_equal(sympy.limit(ramp, t, warm, dir="-"), decay.subs(t, warm), "continuous at the end of warm-up")
    prove_equal(decay.subs(t, total), floor, "ends at the floor")
    prove_equal(sympy.diff(decay, t).subs(t, total), 0, "flat at the end")
    return {"ramp": ramp, "decay": decay, "schedule": Piecewise((ramp, t < warm), (decay, True))}


def generate(params: dict, dice) -> Problem:
    """Round sizes and steps at simple fractions of the warm-up and of the decay."""
    general = derive()
    top = dice.choice(PEAKS)
    low = dice.choice((top / 10, Rational(0)))
    w, d = dice.choice(WARMUPS), dice.choice(DECAYS)
    count = params["points"]
    early = sorted(dice.sample((w // 4, w // 2, 3 * w // 4), 1 if count < 4 else 2))
    late = sorted(dice.sample(FRACTIONS, count - len(early)))
    asked = early + [int(w + f * d) for f in late]
    sizes = {peak: top, floor: low, warm: w, total: w + d}
    schedule = general["schedule"].subs(sizes)
    rates = [schedule.subs(t, step) for step in asked]
    grid = [int(round((w + d) * i / 80)) for i in range(81)]
    curve = sympy.lambdify(t, schedule, modules="mpmath")  # plot points only: floats are fine here
    figure = Figure("schedule", {
        "curve": [(step, float(curve(step))) for step in grid],
        "marks": [(step, float(rate)) for step, rate in zip(asked, rates)],
        "xlabel": "step $t$", "ylabel": "learning rate",
    }, on_worksheet=False)
    steps = [
        "The general result",
        Step(Tex(r"\eta(t)"), Tex(r"\begin{cases} p\,t/w & t < w \\ m + \tfrac12 (p - m)\big(1 + \cos\frac{\pi (t - w)}{T - w}\big) & t \ge w\end{cases}"), "the schedule"),
        Step(Tex(r"\lim_{t \to w^-} \eta(t)"), Tex(r"p = \eta(w)"), "SymPy: no jump at the end of warm-up"),
        Step(Tex(r"\eta(T),\ \eta'(T)"), Tex(r"m,\ 0"), "SymPy: it lands on the floor, flat"),
        "Your numbers",
        *[
            Step(Tex(rf"\eta({step})"), rate, "warm-up: $p\\,t/w$" if step < w else
                 f"decay, $\\frac{{t - w}}{{T - w}} = {sympy.latex(Rational(step - w, d))}$")
            for step, rate in zip(asked, rates)
        ],
    ]
    return Problem(
        inputs={"peak": top, "min_lr": low, "warmup": w, "total": w + d, "steps": asked},
        statement=[
            ("A model trains for ", Math((Tex("T"), w + d)), " steps. The learning rate rises linearly from 0 to the peak ",
             Math(Tex(f"p = {scientific(top, 1)}")), " over the first ", Math((Tex("w"), w)), " steps, then follows a cosine down to ",
             Math(Tex(f"m = {scientific(low, 1)}")), " at step ", Math(Tex("T")), ":"),
            (Math(Tex(r"\eta(t) = p\,t/w \text{ for } t < w, \qquad \eta(t) = m + \tfrac12 (p - m)\Big(1 + \cos\frac{\pi (t - w)}{T - w}\Big) \text{ for } t \ge w."), display=True),),
        ],
        tasks=[
            ("Compute the learning rate at steps ", ", ".join(str(s) for s in asked), " (exactly, and to 4 significant figures)."),
            ("Check that the schedule has no jump at ", Math(Tex("t = w")), " and is flat at ", Math(Tex("t = T")), "."),
        ],
        steps=steps,
        answer={"lr": AnswerPart("lr", Tex(r"\eta"), rates, decimals=4, significant=True,
                                items=tuple(Tex(rf"\eta({step})") for step in asked))},
        figure=figure,
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """The decay by the half-angle form m + (p − m) cos²(π f / 2)."""
    top, low = sympy.sympify(inputs["peak"]), sympy.sympify(inputs["min_lr"])
    w, end = inputs["warmup"], inputs["total"]
    rates = []
    for step in inputs["steps"]:
        if step < w:
            rates.append(top * Rational(step, w))
        else:
            rates.append(low + (top - low) * cos(pi * Rational(step - w, end - w) / 2) ** 2)
    return {"lr": rates}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The schedule's formula in mpmath."""
    top, low = to_mp(inputs["peak"]), to_mp(inputs["min_lr"])
    w, end = inputs["warmup"], inputs["total"]
    return {"lr": [top * step / w if step < w else low + (top - low) / 2 * (1 + mpmath.cos(mpmath.pi * (step - w) / (end - w)))
                   for step in inputs["steps"]]}
