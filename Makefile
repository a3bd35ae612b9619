# Two commands for a newcomer: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HASH := $(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)
# Each command installs what it needs and no more: `make run` the runtime only
# (no Ray, Playwright or hypothesis); `make test` adds the test tools and the
# optional stores; `make bench` the plotting and the PDF readers it compares.
# requirements.lock pins every version, so pip resolves nothing and installs fast.
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)
BENCH_STAMP := $(VENV)/.installed-bench-$(HASH)
PIP := $(PY) -m pip install -q --disable-pip-version-check -c requirements.lock

$(VENV)/.created:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	touch $@

$(RUN_STAMP): pyproject.toml requirements.lock $(VENV)/.created
	$(PIP) torch==2.13.0
	$(PIP) -e .
	rm -f $(VENV)/.installed-run-* && touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(PIP) -e '.[test,qdrant,edge,ray]'
	rm -f $(VENV)/.installed-test-* && touch $@

$(BENCH_STAMP): $(TEST_STAMP)
	$(PIP) -e '.[test,bench,qdrant,edge,ray]'
	rm -f $(VENV)/.installed-bench-* && touch $@

install: $(RUN_STAMP)
install-test: $(TEST_STAMP)
install-bench: $(BENCH_STAMP)

# ARGS for app.py, e.g. make run ARGS='--port 8000 --auth me:secret'
run: install
	$(PY) app.py $(ARGS)

test: install-test
	$(PY) -m pytest

test-fast: install-test
	$(PY) -m pytest -m "not slow and not browser"

lint: install-test
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy

bench: install-bench
	$(PY) bench/run.py $(BENCH_ARGS)

# Refit qa/rank/aliases.json on scripts/data/word_pairs.json, qa/rank/scoring.json and
# qa/answer/followup.json on ../shared/eval/squad2-dev, then qa/rank/faq.json on the FAQ
# sets; each file records its data, commit and scores, and a rerun reproduces it.
fit: install
	$(PY) -m qa.fit

# Known vulnerabilities in the locked dependencies; needs the network (PyPI's JSON API).
audit:
	test -x .venv-audit/bin/pip-audit || ($(PYTHON) -m venv .venv-audit && .venv-audit/bin/pip install -q pip-audit)
	.venv-audit/bin/pip-audit -r requirements.lock --no-deps --disable-pip

browser-deps:
	sh scripts/install-browser.sh
