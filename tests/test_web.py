"""HTML with MathML and a Moodle XML quiz, from the same verified Problems as the PDFs."""

import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from derivbook import spec
from derivbook.build import build
from derivbook.spec import bundled_spec
from tests.test_catalog import flatten

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def web_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("web")
    workbook = spec.load(bundled_spec("llm-foundations"), variants=2, seed=12)
    build(workbook, out, ("html", "moodle", "json"))
    return out, json.loads((out / "answers.json").read_text())


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_one_self_contained_page_per_variant_and_an_index(web_build):
    out, answers = web_build
    ids = [v["id"] for v in answers["variants"]]
    assert sorted(p.name for p in out.glob("*.html")) == sorted(["index.html", *[f"variant-{i}.html" for i in ids]])
    index = Tags()
    index.feed((out / "index.html").read_text())
    assert index.urls == [f"variant-{i}.html" for i in ids]
    for variant in answers["variants"]:
        page = Tags()
        page.feed((out / f"variant-{variant['id']}.html").read_text())
        assert "script" not in page.tags and page.urls == []  # no JavaScript, no network
        assert page.tags.count("details") == len(variant["problems"])
        assert page.tags.count("math") > 10 * len(variant["problems"])
        assert page.tags.count("svg") == 2  # attention scaling and temperature figures


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true", reason="chromium is not installed")
def test_chromium_renders_the_page(web_build, tmp_path):
    out, answers = web_build
    page = out / f"variant-{answers['variants'][0]['id']}.html"
    shot = tmp_path / "page.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars"]
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert shot.exists() and png_size(shot) == (1000, 1400)
    assert shot.stat().st_size > 40_000  # text and mathematics drawn, not a blank page
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<math" in dom and "Problem 1" in dom


FIELD = re.compile(r"\{1:NUMERICAL:=([^:}]+):([^}]+)\}")


def test_moodle_xml_has_one_question_per_problem_and_variant_agreeing_with_answers_json(web_build):
    out, answers = web_build
    root = ET.parse(out / "llm-foundations-moodle.xml").getroot()
    assert root.tag == "quiz"
    categories = [q.find("category/text").text for q in root if q.get("type") == "category"]
    titles = [p["derivation"] for p in answers["variants"][0]["problems"]]
    assert len(categories) == len(titles) and all(c.startswith("$course$/top/LLM Foundations/") for c in categories)
    questions = [q for q in root if q.get("type") != "category"]  # each problem's variants after its category
    expected = [(v["id"], v["problems"][n]) for n in range(len(titles)) for v in answers["variants"]]
    assert len(questions) == len(expected)
    for question, (variant_id, problem) in zip(questions, expected):
        assert f"[{variant_id}]" in question.find("name/text").text
        values = flatten([part["value"] for part in problem["answer"].values()])
        if question.get("type") == "numerical":
            answer = question.find("answer")
            assert answer.get("fraction") == "100" and len(values) == 1
            assert float(answer.find("text").text) == pytest.approx(values[0], rel=1e-12)
            assert float(answer.find("tolerance").text) > 0
        else:
            assert question.get("type") == "cloze"
            fields = FIELD.findall(question.find("questiontext/text").text)
            assert [float(v) for v, _ in fields] == pytest.approx(values, rel=1e-12)
            assert all(float(t) > 0 for _, t in fields)
        assert "\\(" in question.find("generalfeedback/text").text  # the worked steps, as TeX for MathJax


def test_a_single_number_answer_is_a_numerical_question(tmp_path):
    path = tmp_path / "one.toml"
    path.write_text('[[problem]]\nderivation = "vector-norms"\n[[problem]]\nderivation = "attention-scaling"\n')
    build(spec.load(path), tmp_path / "o", ("moodle",))
    root = ET.parse(tmp_path / "o" / "one-moodle.xml").getroot()
    assert [q.get("type") for q in root] == ["category", "cloze", "category", "cloze"]
