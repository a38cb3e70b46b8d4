# Every target bootstraps what it needs from the pinned lock files; only Python 3.11 and make are assumed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
APP ?= app.yaml
OUT ?= templates_out
PARAMS ?= params
ENV ?= dev

.DEFAULT_GOAL := help
.PHONY: help templates test test-fast golden bench schema lock clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.lock
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.lock
	@touch $@

templates: $(VENV)/.installed ## Generate and validate templates_out/ and params/ from $(APP) (the main job)
	$(PY) -m generator build --app $(APP) --out $(OUT) --params $(PARAMS)

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Run the whole test suite (lint, checkov, golden, emulator)
	$(PY) -m pytest

test-fast: $(VENV)/.installed ## Run the tests that need neither checkov nor the emulator
	$(PY) -m pytest -m "not slow"

golden: $(VENV)/.installed ## Regenerate the golden templates on purpose (review the diff before committing)
	$(PY) -m generator build --app app.yaml --out templates_out --params params
	$(PY) -m tests.update_golden

bench: $(VENV)/.installed ## Time the build and the validation gate
	$(PY) scripts/bench.py

schema: $(VENV)/.installed ## Print the JSON schema of app.yaml
	@$(PY) -m generator schema

lock: ## Re-resolve the lock files from pyproject.toml pins (needs the package index)
	rm -rf /tmp/lock-venv /tmp/lock-ck && $(PYTHON) -m venv /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-ck
	/tmp/lock-venv/bin/pip install -q -e '.[test]' && /tmp/lock-ck/bin/pip install -q 'checkov==3.3.30'
	(echo "# Full pinned set for .venv (runtime + tests). Regenerate: make lock"; /tmp/lock-venv/bin/pip freeze --exclude-editable) > requirements.lock
	(echo "# Full pinned set for .venv-checkov (checkov pins boto3==1.35.49, which conflicts with ours)."; /tmp/lock-ck/bin/pip freeze) > requirements-checkov.lock

clean: ## Remove the virtual environments and caches
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
