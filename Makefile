# derivbook: `make pdf` builds the default workbook, `make test` runs the tests.
# Both install what is missing first: Debian's TeX Live packages (when root) and a .venv with the package.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
SPEC     ?=
SEED     ?=
VARIANTS ?=
JOBS     ?=
VARIANT  ?=
ROSTER   ?=
OUT      ?=
SEEDS    ?= 50
# derivations, formats and compiled PDFs are cached here; `make clean` empties it
export DERIVBOOK_CACHE ?= $(CURDIR)/build/.cache

TEX_DEBS := texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures lmodern latexmk poppler-utils
TEX_NEEDS := lastpage.sty needspace.sty enumitem.sty fancyhdr.sty mathtools.sty lmodern.sty pict2e.sty mylatexformat.ltx

# passed to the recipe's shell as variables, each quoted there: a path with spaces stays one argument
export SPEC SEED VARIANTS ROSTER OUT JOBS VARIANT
BUILD_ARGS := $${SPEC:+"$$SPEC"} $${SEED:+--seed "$$SEED"} $${VARIANTS:+--variants "$$VARIANTS"} \
              $${ROSTER:+--roster "$$ROSTER"} $${OUT:+--out "$$OUT"} $${JOBS:+--jobs "$$JOBS"} \
              $${VARIANT:+--variant "$$VARIANT"}

.PHONY: pdf test check bench lint clean tex venv

pdf: tex venv
	@$(BIN)/derivbook build $(BUILD_ARGS)

test: tex venv
	$(BIN)/python -m pytest -q

check: tex venv
	$(BIN)/derivbook check --seeds $(SEEDS)

bench: tex venv
	$(BIN)/python bench/run.py

lint: venv
	$(BIN)/ruff check generator derivations tests bench

clean:
	rm -rf build .pytest_cache .hypothesis

venv: $(BIN)/.installed

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,distributed]'
	touch $@

# TeX Live from Debian's packages: installed with apt-get when root, otherwise the exact command is printed.
tex:
	@missing=""; for f in $(TEX_NEEDS); do kpsewhich $$f >/dev/null 2>&1 || missing="$$missing $$f"; done; \
	command -v pdflatex >/dev/null 2>&1 || missing="$$missing pdflatex"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing pdftotext"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing TeX Live (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_DEBS) >/dev/null; \
	  else \
	    echo "TeX Live is missing ($$missing). Install it with:"; \
	    echo "  sudo apt-get install --no-install-recommends $(TEX_DEBS)"; exit 1; \
	  fi; \
	fi
