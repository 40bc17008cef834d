"""The catalog (../shared/CATALOG.md): every id, with exactly its input and answer-part names."""

import json

import pytest
import sympy
from click.testing import CliRunner

from derivbook.cli import main
from derivbook.registry import catalog

CATALOG = {  # id: (inputs, answer parts), as CATALOG.md names them
    "attention-scores": ({"Q", "K"}, {"S", "S_scaled"}),
    "qkv-projection": ({"X", "W_Q", "W_K", "W_V"}, {"Q", "K", "V"}),
    "determinant-inverse": ({"A"}, {"det", "inverse", "check"}),
    "eigendecomposition": ({"A"}, {"eigenvalues", "eigenvectors", "orthogonality"}),
    "pca": ({"X"}, {"mean", "covariance", "pc1", "explained_variance_ratio"}),
    "vector-norms": ({"u", "v"}, {"l1", "l2", "linf", "dot", "cosine"}),
    "low-rank-update": ({"W", "d", "k", "r"}, {"rank", "full_params", "lowrank_params"}),
    "softmax-jacobian": ({"z"}, {"softmax", "jacobian"}),
    "cross-entropy-gradient": ({"z", "target", "epsilon"}, {"loss", "grad"}),
    "logsumexp": ({"z"}, {"lse", "grad"}),
    "activation-derivatives": ({"x"}, {"sigmoid", "tanh", "relu", "gelu"}),
    "mlp-backprop": ({"x", "y", "W1", "b1", "W2", "b2"}, {"loss", "dW1", "db1", "dW2", "db2"}),
    "gradient-descent": ({"A", "b", "x0", "eta", "steps"}, {"x_star", "eta_max", "iterates"}),
    "lr-schedule": ({"peak", "min_lr", "warmup", "total", "steps"}, {"lr", "at_warmup", "at_end"}),
    "gradient-clipping": ({"grads", "max_norm"}, {"total_norm", "scale", "clipped"}),
    "layernorm-gradient": ({"x", "gamma", "beta", "g"}, {"y", "dx"}),
    "attention-backprop": ({"q", "K", "V", "g"}, {"scores", "weights", "output", "dq", "dK", "dV"}),
    "cross-entropy-mle": ({"counts"}, {"mle", "nll"}),
    "gaussian-mle": ({"x"}, {"mu", "sigma2", "sse"}),
    "attention-scaling": ({"d", "sigma2"}, {"mean", "variance", "scaled_variance", "weight", "slope", "slope_limit"}),
    "scaled-dot-product-attention": ({"Q", "K", "V"}, {"weights", "output"}),
    "temperature-sampling": ({"z", "T"}, {"probs", "entropy", "limits"}),
    "top-k-top-p": ({"z", "k", "p"}, {"top_k", "top_p"}),
    "kl-entropy-perplexity": ({"p", "q"}, {"entropy", "cross_entropy", "kl", "perplexity"}),
}


def test_every_catalog_id_is_registered_from_the_package():
    registered = catalog()  # others may be registered beside them: a teacher's own, an installed pack's
    assert all(registered[i].builtin for i in CATALOG)
    assert {registered[i].topic for i in CATALOG} == {"linear algebra", "calculus", "probability"}


def test_list_shows_all_24():
    output = CliRunner().invoke(main, ["list"]).output
    assert sum(1 for line in output.splitlines() if line.split() and line.split()[0] in CATALOG) == 24


def flatten(value) -> list:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in flatten(item)]
    if isinstance(value, sympy.MatrixBase):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flatten(item)]
    return [value]


def test_answers_json_of_every_id_has_every_part(tmp_path):
    spec = tmp_path / "all.toml"
    spec.write_text('title = "All"\n' + "".join(f'[[problem]]\nderivation = "{i}"\n' for i in CATALOG))
    result = CliRunner().invoke(main, ["build", str(spec), "--format", "json", "--out", str(tmp_path / "out"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "answers.json").read_text())
    problems = data["variants"][0]["problems"]
    assert [p["derivation"] for p in problems] == list(CATALOG)
    for problem in problems:
        inputs, parts = CATALOG[problem["derivation"]]
        assert set(problem["inputs"]) == inputs, problem["derivation"]
        assert set(problem["answer"]) == parts, problem["derivation"]
        assert problem["verified"] == {"exact": True, "numeric": True}
        for name, part in problem["answer"].items():
            exact = sympy.sympify(part["exact"])  # parses back, and agrees with the floats
            assert [float(v) for v in flatten(exact)] == pytest.approx(flatten(part["value"]), rel=1e-12), name


def test_declarations_read_from_source_match_the_imported_modules():
    for derivation in catalog().values():
        module = derivation.module
        assert (module.ID, module.TITLE, module.TOPIC, tuple(module.PARAMS)) == (
            derivation.id, derivation.title, derivation.topic, derivation.params)
        assert all(callable(getattr(module, f)) for f in ("generate", "exact_answer", "numeric_answer"))
