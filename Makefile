# Two commands for a newcomer (see README):
#   make demo   installs everything, then runs the main job on the shipped example config
#   make test   installs everything, then runs the whole test suite
# `make help` lists the rest. Everything the project needs is installed here, from pinned
# files: nothing by hand.

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
CONFIG ?= config/example.yaml
GRAPH ?= cdk.out/lineage-graph.md
# The Node.js majors the pinned jsii runtime supports; 20 still works but is end-of-life.
NODE_SUPPORTED := 22 or 24
NODE_MINIMUM := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help install demo synth test lint fmt schema snapshots constraints bench clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## /  make \1\t/' | expand -t 20

# The marker holds the checkout's path: a venv made for another folder (a moved or copied
# checkout) is made again, since its editable install still points at the old folder.
ifneq ($(shell cat $(VENV)/.installed 2>/dev/null),$(CURDIR))
.PHONY: $(VENV)/.installed
endif
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	echo "$(CURDIR)" > $@

node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null || { echo "error: node not found: install Node.js $(NODE_SUPPORTED) (the CDK CLI and jsii run on it), then run make again" >&2; exit 1; }
	@major=$$(node -p 'process.versions.node.split(".")[0]'); \
	if [ "$$major" -lt $(NODE_MINIMUM) ]; then echo "error: Node.js $$major is too old: install Node.js $(NODE_SUPPORTED)" >&2; exit 1; fi; \
	if [ "$$major" -eq 20 ]; then echo "note: Node.js 20 is end-of-life; it works here (its banner is silenced), but move to $(NODE_SUPPORTED)" >&2; fi
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The pipeline's Assets stage runs this `cdk-assets` (README: "Pipeline assets"); the tests run it too.
codebuild/cdk-assets/node_modules/.installed: codebuild/cdk-assets/package.json codebuild/cdk-assets/package-lock.json
	npm ci --prefix codebuild/cdk-assets --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed codebuild/cdk-assets/node_modules/.installed ## the venv (pinned Python packages), the pinned CDK CLI and the pipeline's cdk-assets

synth: install ## npx cdk synth of CONFIG (default config/example.yaml) into cdk.out
	npx cdk synth --quiet -c config=$(CONFIG)

demo: synth ## synth, print the deploy plan, roll it out in the offline simulation, draw the graph
	$(VENV)/bin/lineage-sharing plan --config $(CONFIG)
	@echo
	$(VENV)/bin/lineage-sharing simulate --config $(CONFIG) --graph $(GRAPH)

# pytest-xdist workers (two on a 2-core machine); --dist loadfile keeps a file's tests on one
# worker, and each app is synthesized once per run for all workers (tests/conftest.py). A single
# test needs none of that: run pytest directly (README: "Working on it").
# PYTHONDONTWRITEBYTECODE= lets Python keep the bytecode of the project and the tests (in the
# ignored __pycache__ folders, checked against each source's mtime and size), which saves every
# worker and every subprocess of the next run ~3 s of compiling; a clean clone compiles once.
test: install ## the whole test suite (what CI runs)
	PYTHONDONTWRITEBYTECODE= $(VENV_PYTHON) -m pytest -n auto --maxprocesses 4 --dist loadfile

lint: install ## ruff lint and format check (the suite checks the same)
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m ruff format --check .

fmt: install ## ruff: fix what can be fixed, format everything
	$(VENV_PYTHON) -m ruff check --fix .
	$(VENV_PYTHON) -m ruff format .

schema: install ## regenerate config/schema.json from the config models
	$(VENV)/bin/lineage-sharing schema --output config/schema.json

# One process: syrupy must see every snapshot test to know which snapshots are unused.
snapshots: install ## rewrite the template snapshots (then read the diff before committing)
	$(VENV_PYTHON) -m pytest tests/stacks --snapshot-update -p no:xdist

constraints: install ## re-pin every installed package (after changing requirements*.txt)
	@{ sed -n '1,/^#   make constraints/p' constraints.txt; $(VENV_PYTHON) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

bench: synth ## simulated rollout (bench/results.md), synthesis at 3-500 accounts (bench/scale_results.md); ~15 min
	$(VENV_PYTHON) -m bench.rollout_bench
	$(VENV_PYTHON) -m bench.scale_bench

clean: ## remove cdk.out, the venv and node_modules
	rm -rf cdk.out $(VENV) node_modules codebuild/cdk-assets/node_modules
