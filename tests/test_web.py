"""HTML: a student sheet with no answer anywhere in it and a teacher's key per variant, for phones, dark mode
and print; MathML with function names and display style; figures named for screen readers."""

import json
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest
import sympy

from derivbook import spec, web
from derivbook.build import build
from derivbook.model import Figure, Step
from derivbook.registry import catalog
from derivbook.render import whole
from derivbook.spec import DEFAULT_SPACE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true", reason="chromium is not installed")


def every_derivation_spec(folder, variants=2, extra=""):
    """A spec with one problem of every derivation."""
    problems = "".join(f'\n[[problem]]\nderivation = "{d}"\npoints = {3 + n % 9}\n' for n, d in enumerate(catalog()))
    path = folder / "every.toml"
    path.write_text(f'title = "Every derivation"\nseed = 11\nvariants = {variants}\n{extra}{problems}')
    return path


@pytest.fixture(scope="module")
def web_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    workbook = spec.load(every_derivation_spec(folder, extra='paper = "letter"\n'))
    out = folder / "out"
    result = build(workbook, out, ("html", "json"))
    return out, json.loads((out / "answers.json").read_text()), workbook, result


class Page(HTMLParser):
    """The tags, links, classes and meta tags of a page."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.urls, self.classes, self.meta, self.svgs = [], [], [], {}, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href") and v]
        self.classes += (attrs.get("class") or "").split()
        if tag == "meta" and "name" in attrs:
            self.meta[attrs["name"]] = attrs.get("content")
        if tag == "svg":
            self.svgs.append(attrs)


def inner(markup) -> str:
    """A MathML element without its <math> wrapper: the same mathematics at any size."""
    return re.sub(r"^<math[^>]*>|</math>$", "", str(markup))


def distinctive(problem):
    """What a reader of the key sees of each answer and nowhere in the problem: the answer values' MathML
    (at any size) and their rounded decimals, and the reasons of the worked steps."""
    found = []
    for part in problem.answer.values():
        for _, value in part.lines():
            entries = value if isinstance(value, (list, tuple)) else [value]
            small = all(sympy.sympify(e).is_Integer and abs(int(e)) < 10 for e in entries if not isinstance(e, (list, dict)))
            if not small or isinstance(value, sympy.MatrixBase):
                found.append(inner(web.math(part.printed(value))))
            if part.decimals and not whole(value):
                found.append(inner(web.approx(value, part.decimals, part.significant)))
    found += [str(web.prose(step.reason)) for step in problem.steps  # reasons in words, not a definition restated
              if isinstance(step, Step) and len(re.sub(r"\$[^$]*\$", "", step.reason).strip()) >= 15]
    return found


def test_each_variant_has_a_sheet_and_a_key_and_the_index_says_which_is_which(web_build):
    out, answers, _, _ = web_build
    ids = [v["id"] for v in answers["variants"]]
    pages = [*[f"sheet-{i}.html" for i in ids], *[f"key-{i}.html" for i in ids]]
    assert sorted(p.name for p in out.glob("*.html")) == sorted(["index.html", *pages])
    index_text = (out / "index.html").read_text()
    index = Page(index_text)
    assert index.urls == [name for i in ids for name in (f"sheet-{i}.html", f"key-{i}.html")]
    assert "Student sheet" in index_text and "no answers" in index_text and "Answer key" in index_text
    assert index.meta["viewport"] == "width=device-width, initial-scale=1"


def test_the_student_sheet_holds_no_worked_solution_and_no_answer(web_build):
    out, answers, workbook, _ = web_build
    from derivbook.engine import derive_variant, plan_variants

    variants = plan_variants(workbook.seed, [None] * len(answers["variants"]))
    checked = 0
    for variant in variants:
        derive_variant(workbook.requests, workbook.seed, variant)
        sheet_text = (out / f"sheet-{variant.id}.html").read_text()
        key_text = (out / f"key-{variant.id}.html").read_text()
        sheet, key = Page(sheet_text), Page(key_text)
        assert "script" not in sheet.tags and sheet.urls == []  # no JavaScript, no network, no link to the key
        assert not {"steps", "answer", "answers", "reason"} & set(sheet.classes)
        assert "details" not in sheet.tags and "table" not in sheet.tags
        assert "Solution" not in sheet_text and "Answer key" not in sheet_text
        assert sheet.tags.count("section") == len(variant.problems) and "Name:" in sheet_text
        for problem in variant.problems:
            for text in distinctive(problem):
                assert text in key_text, f"{problem.derivation}: the key does not show {text[:80]}"
                assert text not in sheet_text, f"{problem.derivation}: the sheet shows {text[:80]}"
                checked += 1
        # a figure of the key (a solved plot) is not on the sheet; one meant for the worksheet is
        assert len(sheet.svgs) == sum(bool(p.figure and p.figure.on_worksheet) for p in variant.problems)
        assert len(key.svgs) == sum(p.figure is not None for p in variant.problems)
        assert key.classes.count("answer") == sum(len(p.lines()) for pr in variant.problems for p in pr.answer.values())
        assert key_text.count("<tr><td class=\"lhs\">") == sum(isinstance(s, Step) for pr in variant.problems for s in pr.steps)
    assert checked > 300


def test_the_key_shows_every_answer_and_its_rounded_decimal(web_build):
    out, answers, workbook, _ = web_build
    from derivbook.engine import derive_variant, plan_variants

    variant = plan_variants(workbook.seed, [None])[0]
    derive_variant(workbook.requests, workbook.seed, variant)
    key = (out / f"key-{variant.id}.html").read_text()
    for problem in variant.problems:
        for part in problem.answer.values():
            for label, value in part.lines():
                assert f'<div class="answer">{web.display_math(label)} = {web.display_math(part.printed(value))}' in key
                if part.decimals and not whole(value):
                    assert str(web.approx(value, part.decimals, part.significant)) in key


def test_pages_are_made_for_phones_dark_mode_and_the_spec_s_paper(web_build):
    out, answers, _, _ = web_build
    for name in ("sheet", "key"):
        text = (out / f"{name}-{answers['variants'][0]['id']}.html").read_text()
        page = Page(text)
        assert page.meta["viewport"] == "width=device-width, initial-scale=1"
        assert page.meta["color-scheme"] == "light dark" and "prefers-color-scheme: dark" in text
        assert "@page { size: letter;" in text and "@media print" in text
        assert re.search(r"@media \(max-width: 500px\) \{[^@]*table\.steps[^}]*display: block", text)
        assert "figure svg { display: block; max-width: 100%; height: auto;" in text
    sheet = (out / f"sheet-{answers['variants'][0]['id']}.html").read_text()
    spaces = re.findall(r'<div class="space" style="height: ([\d.]+)cm"></div>', sheet)
    assert len(spaces) == len(answers["variants"][0]["problems"]) and set(spaces) == {f"{DEFAULT_SPACE:g}"}  # the default room
    printed = sheet.split("@media print {")[-1]  # the sheet's own print rules: the room to write is drawn
    assert ".space { display: block; border:" in printed and "section.problem { break-inside: avoid; }" in printed


def test_the_paper_and_the_room_to_write_follow_the_spec(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('title = "T"\npaper = "a4"\n[[problem]]\nderivation = "vector-norms"\nspace = 3.5\n')
    build(spec.load(path), tmp_path / "o", ("html",))
    sheet = next((tmp_path / "o").glob("sheet-*.html")).read_text()
    assert "@page { size: A4;" in sheet and 'style="height: 3.5cm"' in sheet


def test_figures_are_named_scale_and_follow_the_text_colour(web_build):
    out, answers, _, _ = web_build
    key = Page((out / f"key-{answers['variants'][0]['id']}.html").read_text())
    assert len(key.svgs) == 4  # attention scaling, gradient descent, learning-rate schedule, temperature
    for svg in key.svgs:
        assert svg["role"] == "img" and len(svg["aria-label"]) > 20 and "\\" not in svg["aria-label"] and "$" not in svg["aria-label"]
        assert svg["viewbox"].startswith("0 0 ")
    figure = Figure("bars", {"groups": ["$T = 1$"], "series": [[(1, 0.5), (2, 0.5)]], "xlabel": "token $i$", "ylabel": "probability"})
    drawn = str(web.svg(figure))
    assert "<title>Bar chart of probability against token i: T = 1</title>" in drawn
    assert "#000" not in drawn and "#a6a6a6" not in drawn and 'stroke="currentColor"' in drawn
    standalone = str(web.svg(figure, standalone=True))
    assert 'color="#000"' in standalone and 'fill="#fff"' in standalone  # a file (Moodle): black on its own white panel


def luminance(rgb):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_lines_and_labels_have_four_and_a_half_to_one_contrast_in_light_and_dark_mode(web_build):
    out, answers, _, _ = web_build
    text = (out / f"key-{answers['variants'][0]['id']}.html").read_text()
    light = dict(re.findall(r"--(ink|paper|muted): #([0-9a-f]{3,6})", text.split("@media (prefers-color-scheme: dark)")[0]))
    dark = dict(re.findall(r"--(ink|paper|muted): #([0-9a-f]{3,6})", text.split("@media (prefers-color-scheme: dark)")[1].split("}")[0]))

    def rgb(hex_):
        hex_ = "".join(c * 2 for c in hex_) if len(hex_) == 3 else hex_
        return tuple(int(hex_[i:i + 2], 16) for i in (0, 2, 4))

    opacities = {float(o) for o in re.findall(r'stroke-opacity="([\d.]+)"', " ".join(web.LINE_STYLES.values()))}
    for colours in (light, dark):
        ink, paper = rgb(colours["ink"]), rgb(colours["paper"])
        assert contrast(ink, paper) >= 4.5 and contrast(rgb(colours["muted"]), paper) >= 4.5
        for opacity in opacities:  # a lighter line: the text colour at that opacity over the page
            mixed = tuple(opacity * i + (1 - opacity) * p for i, p in zip(ink, paper))
            assert contrast(mixed, paper) >= 4.5, (colours, opacity)


def test_mathml_sets_function_names_upright_with_a_function_application_and_thin_spaces():
    two_ln_two = str(web.mathml(r"2 \ln 2"))
    assert re.search(r'<mn>2</mn><mspace width="0.1667em" /><mi mathvariant="normal">ln</mi><mo>\u2061</mo>'
                     r'<mspace width="0.1667em" /><mn>2</mn>', two_ln_two)
    cos = str(web.mathml(r"\cos\theta"))
    assert '<mi mathvariant="normal">cos</mi><mo>\u2061</mo>' in cos and "<mi>cos</mi>" not in cos
    softmax = str(web.mathml(r"\operatorname{softmax}(z)"))  # no space before a bracket
    assert '<mi mathvariant="normal">softmax</mi><mo>\u2061</mo><mo stretchy="false">(</mo>' in softmax
    scripted = str(web.mathml(r"\ln^{2}{\left(x \right)}"))  # the script stays whole, the application follows it
    assert '<msup><mi mathvariant="normal">ln</mi><mrow><mn>2</mn></mrow></msup><mo>\u2061</mo>' in scripted


def test_mathml_sets_a_leading_minus_as_a_sign_and_display_at_full_size():
    assert '<mo form="prefix">−</mo><mn>2</mn>' in str(web.mathml(r"\left(- 2\right)"))
    assert '<mo form="prefix">−</mo><mn>1</mn>' in str(web.mathml(r"\left(2,\ - 1\right)"))  # after a comma
    assert '<mi>a</mi><mo>−</mo><mi>b</mi>' in str(web.mathml("a - b"))  # a difference keeps its spaces
    assert 'stretchy="false"' in str(web.mathml(r"\left(2,\ - 1\right)"))  # tight brackets around a number
    assert 'stretchy="true"' in str(web.mathml(r"\left(\frac{1}{2}\right)"))  # growing ones around a fraction
    block = str(web.mathml(r"\frac{1}{2}", display=True))
    assert 'display="block"' in block and 'displaystyle="true"' in block
    inline = str(web.mathml(r"\frac{1}{2}", displaystyle=True))
    assert 'display="inline"' in inline and 'displaystyle="true"' in inline
    assert "<munderover><mo>∑</mo>" in str(web.mathml(r"\sum_{i=1}^{n} x_i"))
    assert '<munder><mo movablelimits="true" lspace="0" rspace="0">lim</mo>' in str(web.mathml(r"\lim_{T \to 0} x"))
    assert '<mi mathvariant="normal">∞</mi>' in str(web.mathml(r"T \to \infty"))  # a symbol: no operator spaces
    assert '<mo lspace="0" rspace="0">/</mo>' in str(web.mathml("1/2"))
    assert "allowbreak" not in str(web.mathml(r"\bigl(1,\allowbreak\ 2\bigr)"))
    assert web.mathml("  ") == ""


def test_plain_text_of_every_title_and_explanation_has_no_tex():
    assert web.plain_math(r"QK^\top") == "QKᵀ" and web.plain(r"Why attention scales by $1/\sqrt{d}$") == "Why attention scales by 1/√d"
    assert web.plain_math(r"\frac{a + b}{2}") == "(a + b)/2" and web.plain_math(r"\lVert u\rVert_2^2") == "‖u‖₂²"
    for derivation in catalog().values():
        text = web.plain(derivation.title)
        assert "\\" not in text and "$" not in text and "{" not in text, text


def test_a_paragraph_keeps_punctuation_on_the_line_of_its_mathematics():
    text = str(web.prose("with $d = 4$, and $x$."))
    assert re.search(r'<span class="nobr"><math[^>]*>.*?</math>,</span> and <span class="nobr"><math[^>]*>.*?</math>\.</span>', text)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@needs_chromium
@pytest.mark.parametrize("width", [400, 1000])
@pytest.mark.parametrize("dark", [False, True])
def test_chromium_draws_both_pages_on_a_phone_and_a_desktop_in_light_and_dark_mode(web_build, tmp_path, width, dark):
    out, answers, _, _ = web_build
    variant = answers["variants"][0]["id"]
    extra = ["--force-dark-mode", "--enable-features=WebContentsForceDark"] if dark else []
    for name in ("sheet", "key"):
        shot = tmp_path / f"{name}.png"
        subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, *extra, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                        f"--window-size={width},1400", (out / f"{name}-{variant}.html").as_uri()],
                       capture_output=True, timeout=120, check=False)
        assert shot.exists() and png_size(shot) == (width, 1400)
        assert shot.stat().st_size > 30_000  # text and mathematics drawn, not a blank page


@needs_chromium
def test_no_page_scrolls_sideways_at_400_pixels(web_build, tmp_path):
    """Every page in a 400-pixel frame: its document is no wider than the frame (a test-only wrapper page
    measures it; the pages themselves run no script)."""
    out, answers, _, _ = web_build
    pages = sorted(out.glob("*.html"))
    frames = "".join(f'<iframe src="{p.as_uri()}" data-name="{p.name}" style="width:400px;height:600px;border:0"></iframe>' for p in pages)
    probe = ('<script>addEventListener("load", () => document.body.setAttribute("data-widths", '
             '[...document.querySelectorAll("iframe")].map(f => f.dataset.name + "=" + '
             'f.contentDocument.documentElement.scrollWidth + "/" + f.contentDocument.documentElement.clientWidth).join(" ")));</script>')
    wrapper = tmp_path / "wrapper.html"
    wrapper.write_text(f"<!DOCTYPE html><html><body>{frames}{probe}</body></html>")
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, "--allow-file-access-from-files", f"--user-data-dir={tmp_path / 'profile'}",
                          "--window-size=1000,1000", "--virtual-time-budget=15000", "--dump-dom", wrapper.as_uri()],
                         capture_output=True, text=True, timeout=180).stdout
    widths = dict(item.split("=") for item in re.search(r'data-widths="([^"]*)"', dom).group(1).split())
    assert sorted(widths) == [p.name for p in pages]
    for name, measured in widths.items():
        scroll, client = map(int, measured.split("/"))
        assert client == 400 and scroll <= client, f"{name} is {scroll} px wide in a 400 px frame"
