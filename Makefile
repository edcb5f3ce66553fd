# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format typecheck openapi bench bench-load migrate seed clean messages

# The portal's words: English message ids in the code and templates, Thai in the .po file
# (any gettext tool opens it). `make messages` extracts, merges and compiles; the compiled
# .mo is built whenever the .po is newer, so `make run` and `make test` never serve stale words.
LOCALES := api/locales
POT := $(LOCALES)/messages.pot
PO := $(LOCALES)/th/LC_MESSAGES/messages.po
MO := $(LOCALES)/th/LC_MESSAGES/messages.mo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(MO): $(PO) $(STAMP)
	$(BIN)/pybabel -q compile -d $(LOCALES) -D messages

messages: $(STAMP)
	$(BIN)/pybabel -q extract --no-wrap --add-location=file -F babel.cfg -k NP_:1c,2 --sort-by-file \
		--project citydeal --copyright-holder citydeal -o $(POT) .
	$(BIN)/pybabel -q update --no-wrap -i $(POT) -d $(LOCALES) -D messages -l th
	$(BIN)/pybabel compile --statistics -d $(LOCALES) -D messages

migrate: $(STAMP) $(MO)
	$(BIN)/citydeal db upgrade

seed: migrate
	$(BIN)/citydeal seed

run: seed
	$(BIN)/citydeal serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint $(MO)
	$(BIN)/pytest

openapi: $(STAMP)
	$(BIN)/python -m api.openapi

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The load benchmark (bench/load/, so not part of `make bench`): uvicorn with two workers on
# SQLite and on PostgreSQL, the 100,000-listing catalogue, a mixed load from wrk in steps of
# rising connections. Needs wrk (apt-get install wrk) and PostgreSQL at 127.0.0.1:5432 (or
# CITYDEAL_BENCH_DATABASE_URL). `make bench-load ARGS=--quick` for a short run.
bench-load: $(STAMP) $(MO)
	$(BIN)/python bench/load/load_bench.py $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
