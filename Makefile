# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

AXE := devtools/a11y/node_modules/axe-core/axe.min.js
# The translation catalogs: .po in git, .mo compiled here (never committed).
CATALOGS := web/i18n/locales
MO := $(patsubst %.po,%.mo,$(wildcard $(CATALOGS)/*/LC_MESSAGES/messages.po))
EXTRACT = $(BIN)/pybabel extract -F babel.cfg -k msg -k msg_plural:1,2 -c Translators: --no-location \
	--sort-output --no-wrap --project=invoice-portal --version=1

.PHONY: demo test bench lint format install browser fonts wrk clean catalogs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(MO)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

# After changing a customer-facing text: the template of every text, then each catalog brought up to date
# (new texts arrive untranslated, and the catalog test fails until every one is translated).
catalogs: $(STAMP)
	$(EXTRACT) -o web/i18n/messages.pot .
	for dir in $(CATALOGS)/*/; do \
	  $(BIN)/pybabel update -i web/i18n/messages.pot -d $(CATALOGS) -l $$(basename $$dir) \
	    --no-fuzzy-matching --ignore-obsolete --no-wrap; done

# Debian's Chromium for the browser tests (never `playwright install`: no browser downloads here).
browser: fonts
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium package (browser tests need it)"; fi; \
	fi

# Fonts for pages and PDFs in every language: DejaVu (Latin, Greek, Cyrillic, Arabic) and IPA Gothic (Japanese).
fonts:
	@if ! fc-list 2>/dev/null | grep -qi dejavu && [ "$$(id -u)" = "0" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null; fi
	@if ! fc-list 2>/dev/null | grep -qi "IPAGothic" && [ "$$(id -u)" = "0" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipafont-gothic >/dev/null; fi

# axe-core for the accessibility tests, exactly as pinned in devtools/a11y/package-lock.json (npm checks its hash).
$(AXE): devtools/a11y/package-lock.json
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi
	cd devtools/a11y && npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

demo: $(STAMP) $(MO) fonts
	$(BIN)/invoice-portal demo

# One worker per core (at most 4). More workers than cores were tried: no faster on 2 cores (538 s against
# 552 s in CI), and the timing-bound tests (PDF time limits, parallel sign-in back-off) failed under the load.
test: $(STAMP) $(MO) browser wrk $(AXE)
	$(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadfile

# wrk, for the portal benchmark (and its quick round in the tests).
wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "wrk is missing: install Debian's wrk package (the portal benchmark needs it)"; fi; \
	fi

bench: $(STAMP) wrk
	$(BIN)/python bench/portal.py
	$(BIN)/python -m bench.payments
	$(BIN)/python -m bench.stripe_sync
	$(BIN)/python -m bench.sse_fanout
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.history
	$(BIN)/python -m bench.einvoice
	$(BIN)/python -m bench.prerender
	$(BIN)/python -m bench.scale

lint: $(STAMP)
	$(BIN)/ruff check web db tests bench devtools
	$(BIN)/ruff format --check web db tests bench devtools
	$(BIN)/mypy --strict web db

format: $(STAMP)
	$(BIN)/ruff format web db tests bench devtools
	$(BIN)/ruff check --fix web db tests bench devtools

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache devtools/a11y/node_modules $(MO)
