"""A learning-rate schedule: linear warm-up to a peak, then cosine decay to a floor.

SymPy proves the schedule continuous at the end of warm-up, equal to the floor at the end, and flat
there (zero slope). The asked steps sit at simple fractions of the decay, where cosines are exact.
"""


import mpmath
import sympy
from sympy import Piecewise, Rational, cos, pi, sin, symbols

from derivbook.authoring import (
    AnswerPart,
    Figure,
    Math,
    Mistake,
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
PARAMS = (Param("steps", int, 4, "number of steps asked", low=2, high=6),)

PEAKS = (Rational(1, 1000), Rational(6, 10000), Rational(3, 10000), Rational(5, 10000))
WARMUPS = (100, 200, 400, 500, 1000, 2000)
DECAYS = (600, 1200, 2400, 3600, 6000, 12000)  # multiples of 12: the fractions below land on whole steps
FRACTIONS = (Rational(1, 6), Rational(1, 4), Rational(1, 3), Rational(1, 2), Rational(2, 3), Rational(3, 4), Rational(5, 6), 1)
FIGURES = 4  # significant figures of the decimals asked
# For derivbook check's degeneracy test: task (b) is a check whose answer is the same kind of number each time
CONSTANT_PARTS = {"at_end": "eta'(T) = 0 for every schedule (it lands flat), and eta(T) = m is 0 for every schedule decaying to 0"}

peak, floor, warm, total, t = symbols("p m w T t", positive=True)

SCHEDULE_TEX = Tex(r"\begin{cases} p\,t/w & t < w \\ m + \tfrac12 (p - m)\big(1 + \cos\frac{\pi (t - w)}{T - w}\big) & t \ge w\end{cases}")
SLOPE_TEX = Tex(r"-\frac{\pi (p - m)}{2 (T - w)} \sin\frac{\pi (t - w)}{T - w}")


@derive_once
def derive() -> dict:
    """The schedule as a SymPy Piecewise, with continuity, end value and flat landing proven."""
    ramp = peak * t / warm
    decay = floor + (peak - floor) / 2 * (1 + cos(pi * (t - warm) / (total - warm)))
    slope = sympy.diff(decay, t)
    prove_equal(slope, -pi * (peak - floor) / (2 * (total - warm)) * sin(pi * (t - warm) / (total - warm)), "slope of the decay")
    prove_equal(sympy.limit(ramp, t, warm, dir="-"), decay.subs(t, warm), "continuous at the end of warm-up")
    prove_equal(decay.subs(t, total), floor, "ends at the floor")
    prove_equal(slope.subs(t, total), 0, "flat at the end")
    return {"ramp": ramp, "decay": decay, "slope": slope, "schedule": Piecewise((ramp, t < warm), (decay, True))}


def _mistakes(general: dict, sizes: dict, asked: list) -> list:
    """Rates one step early, and with the cosine stretched over the whole run, from the same schedule."""
    schedule = general["schedule"].subs(sizes)
    stretched = Piecewise((general["ramp"], t < warm),
                          (floor + (peak - floor) / 2 * (1 + cos(pi * (t - warm) / total)), True)).subs(sizes)
    return [
        Mistake("lr", "off-by-one-step", [schedule.subs(t, step - 1) for step in asked],
                r"These are the rates one step early, $\eta(t - 1)$: steps count from $t = 0$, where the warm-up "
                r"starts at $\eta(0) = 0$."),
        Mistake("lr", "decay-over-total", [stretched.subs(t, step) for step in asked],
                r"The cosine runs over the decay phase only: its angle is $\pi (t - w)/(T - w)$, not $\pi (t - w)/T$, "
                r"so that it reaches $\pi$ exactly at $t = T$."),
    ]


def generate(params: dict, dice) -> Problem:
    """Round sizes and steps at simple fractions of the warm-up and of the decay."""
    general = derive()
    top = dice.choice(PEAKS)
    low = dice.choice((top / 10, Rational(0)))
    w, d = dice.choice(WARMUPS), dice.choice(DECAYS)
    count = params["steps"]
    early = sorted(dice.sample((w // 4, w // 2, 3 * w // 4), 1 if count < 4 else 2))
    late = sorted(dice.sample(FRACTIONS, count - len(early)))
    asked = early + [int(w + f * d) for f in late]
    sizes = {peak: top, floor: low, warm: w, total: w + d}
    schedule = general["schedule"].subs(sizes)
    rates = [schedule.subs(t, step) for step in asked]
    continuity = [sympy.limit(general["ramp"].subs(sizes), t, w, dir="-"), schedule.subs(t, w)]
    landing = [schedule.subs(t, w + d), general["slope"].subs(sizes).subs(t, w + d)]
    grid = [int(round((w + d) * i / 80)) for i in range(81)]
    curve = sympy.lambdify(t, schedule, modules="mpmath")  # plot points only: floats are fine here
    figure = Figure("schedule", {
        "curve": [(step, float(curve(step))) for step in grid],
        "marks": [(step, float(rate)) for step, rate in zip(asked, rates)],
        "xlabel": "step $t$", "ylabel": "learning rate",
    }, on_worksheet=False)
    steps = [
        "The general result",
        Step(Tex(r"\eta(t)"), SCHEDULE_TEX, "the schedule"),
        Step(Tex(r"\lim_{t \to w^-} \eta(t)"), Tex(r"p = \eta(w)"), r"$p\,t/w \to p$; at $t = w$ the cosine is $\cos 0 = 1$"),
        Step(Tex(r"\eta'(t)"), SLOPE_TEX, r"chain rule on the cosine, for $t > w$"),
        Step(Tex(r"\eta(T),\ \eta'(T)"), Tex(r"m,\ 0"), r"$\cos\pi = -1$ and $\sin\pi = 0$"),
        "Your numbers",
        *[
            Step(Tex(rf"\eta({step})"), rate, r"warm-up: $p\,t/w$" if step < w else
                 f"decay, $\\frac{{t - w}}{{T - w}} = {sympy.latex(Rational(step - w, d))}$")
            for step, rate in zip(asked, rates)
        ],
        Step(Tex(r"\lim_{t \to w^-} \eta(t),\ \eta(w)"), continuity, "equal: no jump at the end of warm-up"),
        Step(Tex(r"\eta(T),\ \eta'(T)"), landing, "the floor $m$, reached with zero slope"),
    ]
    places = f"exactly, and in scientific notation to {FIGURES} significant figures"
    return Problem(
        inputs={"peak": top, "min_lr": low, "warmup": w, "total": w + d, "steps": asked},
        statement=[
            ("A model trains for ", Math((Tex("T"), w + d)), " steps. The learning rate rises linearly from 0 to the peak ",
             Math(Tex(f"p = {scientific(top, 1)}")), " over the first ", Math((Tex("w"), w)), " steps, then follows a cosine down to ",
             Math(Tex(f"m = {scientific(low, 1)}")), " at step ", Math(Tex("T")), ":"),
            (Math(Tex(r"\eta(t) = p\,t/w \text{ for } t < w, \qquad \eta(t) = m + \tfrac12 (p - m)\Big(1 + \cos\frac{\pi (t - w)}{T - w}\Big) \text{ for } t \ge w."), display=True),),
        ],
        tasks=[
            ("Compute the learning rate at steps ", ", ".join(str(s) for s in asked), f" ({places}, as in ",
             Math(Tex(r"1.234 \times 10^{-4}")), ")."),
            ("Check that the schedule has no jump at ", Math(Tex("t = w")), " and is flat at ", Math(Tex("t = T")), ": compute ",
             Math(Tex(r"\lim_{t \to w^-} \eta(t)")), ", ", Math(Tex(r"\eta(w)")), ", ", Math(Tex(r"\eta(T)")), " and ",
             Math(Tex(r"\eta'(T)")), f" ({places})."),
        ],
        steps=steps,
        answer={
            "lr": AnswerPart("lr", Tex(r"\eta"), rates, decimals=FIGURES, significant=True,
                             items=tuple(Tex(rf"\eta({step})") for step in asked)),
            "at_warmup": AnswerPart("at_warmup", Tex(r"\lim_{t \to w^-} \eta(t),\ \eta(w)"), continuity, decimals=FIGURES,
                                     significant=True, items=(Tex(r"\lim_{t \to w^-} \eta(t)"), Tex(r"\eta(w)"))),
            "at_end": AnswerPart("at_end", Tex(r"\eta(T),\ \eta'(T)"), landing, decimals=FIGURES if low else None,
                                 significant=bool(low), items=(Tex(r"\eta(T)"), Tex(r"\eta'(T)"))),
        },
        figure=figure,
        mistakes=_mistakes(general, sizes, asked),
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """The decay by the half-angle form m + (p − m) cos²(π f / 2); its slope differentiated in that form; the
    ramp's one-sided limit as its value at w (a polynomial is continuous)."""
    top, low = sympy.sympify(inputs["peak"]), sympy.sympify(inputs["min_lr"])
    w, end = inputs["warmup"], inputs["total"]
    half_angle = low + (top - low) * cos(pi * (t - w) / (end - w) / 2) ** 2
    rates = [top * Rational(step, w) if step < w else half_angle.subs(t, step) for step in inputs["steps"]]
    return {
        "lr": rates,
        "at_warmup": [(top * t / w).subs(t, w), half_angle.subs(t, w)],  # a polynomial's limit is its value
        "at_end": [half_angle.subs(t, end), sympy.diff(half_angle, t).subs(t, end)],
    }


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The schedule's formula in mpmath; the limit approached from below, the slope by numerical differentiation."""
    top, low = to_mp(inputs["peak"]), to_mp(inputs["min_lr"])
    w, end = inputs["warmup"], inputs["total"]

    def decay(step):
        return low + (top - low) / 2 * (1 + mpmath.cos(mpmath.pi * (step - w) / (end - w)))

    return {
        "lr": [top * step / w if step < w else decay(step) for step in inputs["steps"]],
        "at_warmup": [mpmath.limit(lambda step: top * step / w, w, direction=-1), decay(w)],
        "at_end": [decay(end), mpmath.diff(decay, end)],
    }
