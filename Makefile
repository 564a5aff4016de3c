# Two commands for a newcomer (see README):
#   make demo   installs everything, then runs the main job on the shipped example config
#   make test   installs everything, then runs the whole test suite
# `make bench` measures the simulated rollout and writes bench/results.md.
# Everything the project needs is installed here, from pinned files: nothing by hand.

PYTHON ?= python3
VENV := .venv
CONFIG ?= config/example.yaml
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install demo synth test bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The pipeline's Assets stage runs this `cdk-assets` (README: "Pipeline assets"); the tests run it too.
codebuild/cdk-assets/node_modules/.installed: codebuild/cdk-assets/package.json codebuild/cdk-assets/package-lock.json
	npm ci --prefix codebuild/cdk-assets --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed codebuild/cdk-assets/node_modules/.installed

synth: install
	npx cdk synth --quiet -c config=$(CONFIG)

demo: synth
	$(VENV)/bin/python -m cli.rollout_plan --config $(CONFIG)
	$(VENV)/bin/python -m cli.simulate --config $(CONFIG)

bench: synth
	$(VENV)/bin/python -m bench.rollout_bench

test: install
	$(VENV)/bin/python -m pytest

clean:
	rm -rf cdk.out $(VENV) node_modules codebuild/cdk-assets/node_modules
