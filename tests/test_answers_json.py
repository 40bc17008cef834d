"""answers.json matches its documented schema (docs/answers.schema.json, described in docs/answers-json.md)."""

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import sympy
from click.testing import CliRunner

from derivbook import answers
from derivbook.cli import main
from derivbook.engine import Variant
from derivbook.model import AnswerPart, Mistake, Problem, Tex

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA = json.loads((DOCS / "answers.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

SPEC = """\
title = "Schema check"
roster = "class.csv"

[[problem]]
derivation = "softmax-jacobian"
n = 2

[[problem]]
derivation = "low-rank-update"
points = 5
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("answers-json")
    (root / "week.toml").write_text(SPEC, encoding="utf-8")
    (root / "class.csv").write_text("name;Student ID\nAda Lovelace;s17\nAlan Turing;\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(root / "week.toml"), "--format", "json", "--out", str(root / "out")])
    assert result.exit_code == 0, result.output
    return json.loads((root / "out" / "answers.json").read_text(encoding="utf-8"))


def errors(document) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(document)]


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema"] == {"const": answers.SCHEMA, "description": "The format version."}


def test_a_built_answers_json_matches_the_schema(built):
    assert errors(built) == []
    ada, alan = built["variants"]
    assert (ada["student"], ada["student_id"], alan["student"]) == ("Ada Lovelace", "s17", "Alan Turing")
    assert "student_id" not in alan
    problem = ada["problems"][1]
    assert (problem["number"], problem["derivation"]) == (2, "low-rank-update")
    for part in problem["answer"].values():
        assert {"exact", "latex", "value", "contract", "mistakes"} <= set(part)


@pytest.mark.parametrize(
    "breaking",
    [
        lambda d: d.update(seed=int(d["seed"])),  # seeds are strings: every JSON reader keeps their digits
        lambda d: d["variants"][0]["problems"][0].update(seed=2**70),
        lambda d: d["variants"][0].pop("id"),
        lambda d: d["variants"][0]["problems"][0].pop("number"),
        lambda d: next(iter(d["variants"][0]["problems"][0]["answer"].values())).pop("exact"),
        lambda d: next(iter(d["variants"][0]["problems"][0]["answer"].values())).pop("value"),
        lambda d: next(iter(d["variants"][0]["problems"][0]["answer"].values()))["contract"].update(freedom="any"),
        lambda d: d["variants"][0].update(grade="A"),  # a key the documentation does not know
    ],
)
def test_the_schema_refuses_what_it_does_not_document(built, breaking):
    document = copy.deepcopy(built)
    breaking(document)
    assert errors(document)


def test_contract_freedom_convention_significant_figures_and_mistakes_match_the_schema():
    """Parts as a derivation may declare them, beyond what today's bundled workbooks print."""
    u = AnswerPart("u", Tex("u"), [sympy.sqrt(2) / 2, -sympy.sqrt(2) / 2], freedom="sign",
                   convention="unit length, first entry positive")
    rate = AnswerPart("rate", Tex(r"\eta"), sympy.Rational(3, 100000), decimals=2, significant=True)
    count = AnswerPart("count", Tex("p"), {"before": sympy.Integer(4096), "after": sympy.Integer(512)},
                       items=(Tex("p_0"), Tex("p_1")))
    problem = Problem(
        inputs={"X": sympy.Matrix([[1, 2], [3, 4]]), "t": sympy.Rational(1, 3)}, statement=[], tasks=[], steps=[],
        answer={"u": u, "rate": rate, "count": count},
        mistakes=[Mistake("u", "not-normalised", [1, -1], "The direction must have length $1$.")],
        derivation="pca", params={"m": 4, "dims": 2}, seed=2**64 - 1, verified={"exact": True, "numeric": True},
    )
    variant = Variant(0, "K-7QX4", None, [problem])
    document = json.loads(answers.document(SimpleNamespace(title="T", seed=2**63 - 1, requests=[SimpleNamespace(points=4)]), [answers.variant_record(variant)]))
    assert errors(document) == []
    record = document["variants"][0]["problems"][0]
    assert record["seed"] == str(2**64 - 1)
    assert record["answer"]["u"]["contract"]["convention"] == "unit length, first entry positive"
    assert record["answer"]["rate"]["contract"]["rounding"] == {"significant_figures": 2}
    assert record["answer"]["count"]["contract"]["forms"] == ["exact"]
    assert record["answer"]["u"]["mistakes"][0]["name"] == "not-normalised"


def test_the_page_documents_every_key_of_the_schema():
    page = (DOCS / "answers-json.md").read_text(encoding="utf-8")
    keys = set()

    def collect(node):
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(SCHEMA)
    missing = sorted(key for key in keys if not re.search(rf"`[^`]*\b{re.escape(key)}\b[^`]*`", page))
    assert missing == []
    assert f"schema {answers.SCHEMA}" in page.lower()
