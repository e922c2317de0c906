# Quick start:  make reproduce   (the embedded default run; CONFIG=<file> for another)
#               make test        (unit + workflow tests)
#               make smoke       (every branch at its smallest, into smoke/, in a few minutes)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= all
CONFIG ?= config.yaml
SNAKEMAKE_ARGS ?=

.PHONY: reproduce smoke test test-cluster venv lock lint format dryrun bench memory clean rulegraph report

venv: $(VENV)/.installed

# torch==2.13.0 goes in first: any other torch request (or captum into a
# torch-less env) pulls a multi-GB CUDA build.
# requirements.lock pins every other package to the versions the tests were run with.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c requirements.lock -e ".[workflow,test,tint]"
	touch $@

# Re-pin requirements.lock to what the venv holds now (on purpose only: results may move).
lock: venv
	{ sed -n '1,3p' requirements.lock; $(BIN)/pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# The config file replaces the default (config.yaml); its YAML and schema are checked first.
reproduce: venv
	$(BIN)/python -m vanishing_saliency.configcheck $(CONFIG)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) $(SNAKEMAKE_ARGS)
	$(BIN)/python -m vanishing_saliency.runsummary . --report "make report CONFIG=$(CONFIG)"

SMOKE_CONFIG ?= tests/tiny_all_config.yaml
smoke: venv
	$(BIN)/python -m vanishing_saliency.configcheck $(SMOKE_CONFIG)
	$(BIN)/snakemake --cores 2 --configfile $(abspath $(SMOKE_CONFIG)) --directory smoke $(SNAKEMAKE_ARGS)
	$(BIN)/python -m vanishing_saliency.runsummary smoke --report "make report RUN=smoke CONFIG=$(SMOKE_CONFIG)"

# The unit and workflow tests; the cluster profile's tests (a real Slurm started for them, about 4 minutes)
# run with `make test-cluster`, which CI (.ci/run) runs after this.
test: venv
	$(BIN)/python -m pytest -q -m "not slurm" tests

test-cluster: venv
	$(BIN)/python -m pytest -q -m slurm tests

# Style and static checks (pyproject.toml configures ruff and snakefmt); CI fails on any finding.
# make format rewrites the files the way make lint wants them.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile rules/

dryrun: venv
	$(BIN)/snakemake -n --cores 2

# Every benchmark (benchmarks/README.md lists them with their last figures). BENCH_FRESH_RUN=1 also times the whole
# default run from a fresh clone of HEAD (into bench-fresh/, 26-53 minutes on the 2-core machines measured) and checks the rules'
# resource requests against that run's benchmark files; otherwise the check reads the run in BENCH_RUN (default:
# this folder, after make reproduce).
BENCH_FRESH_RUN ?= 0
BENCH_RUN ?= .
bench: venv
	$(BIN)/python -m benchmarks.bench_models
	$(BIN)/python -m benchmarks.bench_mix_forms
	$(BIN)/python -m benchmarks.bench_partial --form banded
	$(BIN)/python -m benchmarks.bench_partial --form exact
	$(BIN)/python -m benchmarks.bench_saliency --methods
	$(BIN)/python -m benchmarks.bench_preprocess
	$(BIN)/python -m benchmarks.bench_dag
	$(BIN)/python -m benchmarks.bench_imports
	$(BIN)/python -m benchmarks.bench_startup
	$(BIN)/python -m benchmarks.bench_scheduler
	$(BIN)/python -m benchmarks.bench_seeds
	$(BIN)/python -m benchmarks.bench_dropout
	$(BIN)/python -m benchmarks.bench_scoring
	if [ "$(BENCH_FRESH_RUN)" = 1 ]; then rm -rf bench-fresh && $(BIN)/python -m benchmarks.bench_fresh_run \
		--into bench-fresh && $(BIN)/python -m benchmarks.check_resources bench-fresh; \
	else $(BIN)/python -m benchmarks.check_resources $(BENCH_RUN); fi

# Peak memory and wall time per rule of the last run here (its logs/benchmark/ files).
memory: venv
	$(BIN)/python -m benchmarks.memory_table .

# The README's workflow figure (needs graphviz: apt-get install graphviz).
rulegraph: venv
	$(BIN)/snakemake --rulegraph --quiet | dot -Tsvg > docs/rulegraph.svg
	$(BIN)/snakemake --rulegraph --quiet | dot -Tpng -Gdpi=80 > docs/rulegraph.png

# Snakemake's report of a finished run (RUN: its folder, default this one; CONFIG: its config) into RUN/results/report.zip
RUN ?= .
report: venv
	$(BIN)/snakemake --configfile $(abspath $(CONFIG)) --directory $(RUN) --report $(abspath $(RUN))/results/report.zip

clean:
	rm -rf results resources logs .snakemake smoke bench-fresh
