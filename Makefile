SHELL := /bin/bash
# `make run` and `make test` are the two commands of README.md; both set up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.yaml
# GPU=1: also the `gpu` extra (TensorFlow with its CUDA libraries, for a GPU machine; README "Where training runs")
GPU ?= 0
COMMA := ,
EXTRAS := dev$(if $(filter 1,$(GPU)),$(COMMA)gpu)
STAMP := $(VENV)/.installed-$(subst $(COMMA),-,$(EXTRAS))

.PHONY: run test test-fast test-long lint setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]' 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	touch $@

run: $(STAMP)
	$(BIN)/python -m labelbench.config_check $(CONFIG)
	$(BIN)/snakemake --profile profiles/default --configfile $(CONFIG) --cores all --resources gpu=1
	@echo
	@echo "Report: $(CURDIR)/results/report/index.html (claims table: results/report/claims.csv)."
	@echo "Results are in $(CURDIR)/results/ (per experiment: results/<experiment>/summary.csv and figures/)."

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint --quiet

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

# the unit tests alone (losses, metrics, stats, claims, config checks, hostile data, models): nothing starts Snakemake;
# one pytest-xdist worker per core (the end-to-end tests stay serial in `make test`: they share one smoke run)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not e2e and not long"

# the end-to-end run marked long (pyproject): the paper config in miniature
test-long: $(STAMP)
	$(BIN)/python -m pytest -q -m long

clean:
	rm -rf results .snakemake
