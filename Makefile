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
	$(PY) -m generator build --app=$(call _q,$(APP)) --out=$(call _q,$(OUT)) --params=$(call _q,$(PARAMS))

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Run the whole test suite (lint, checkov, golden, emulator)
	$(PY) -m pytest

test-fast: $(VENV)/.installed ## Run the tests that need neither checkov nor the emulator
	$(PY) -m pytest -m "not slow"

golden: $(VENV)/.installed ## Regenerate the golden templates on purpose (review the diff before committing)
	$(PY) -m generator build --app app.yaml --out templates_out --params params
	$(PY) -m tests.update_golden

bench: $(VENV)/.installed ## Time each build phase, the lint cache and peak memory (CDK_VENV=path: vs the CDK synth)
	$(PY) scripts/bench.py $(if $(CDK_VENV),--cdk-venv=$(call _q,$(CDK_VENV))) $(if $(RUNS),--runs=$(call _q,$(RUNS)))

.PHONY: assurance
assurance: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Regenerate docs/verification.md (what verifies each resource type)
	$(PY) scripts/assurance.py

# --- Deploy (scripts/deploy.py, docs/deploy.md). Honours AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL. ---
.PHONY: package diff deploy watch destroy drift outputs rehearse
# Values reach the scripts as one single-quoted word each, in --option=value form: a space, a quote or `--force`
# inside ENV, IMAGE_TAG, BUCKET or a path stays part of that value (which scripts/deploy.py then validates and
# refuses) and can never become an option of its own. Only FORCE=1 passes --force. `override` keeps a command-line
# DEPLOY_ARGS=... from replacing the whole list. Flags take one word: 1/y/yes/true or 0/n/no/false (or nothing).
override _q = '$(subst ','\'',$(1))'
override _bad_flag = $(or $(filter-out 1 y yes true 0 n no false,$($(1))),$(word 2,$($(1))))
override _flag = $(if $(call _bad_flag,$(1)),$(error $(1)=$($(1)) is not a flag value: use $(1)=1 or leave it out),$\
	$(if $(filter 1 y yes true,$($(1))),$(2)))
override DEPLOY_ARGS = --env=$(call _q,$(ENV)) --app=$(call _q,$(APP)) --templates=$(call _q,$(OUT)) \
	--params=$(call _q,$(PARAMS)) $(if $(BUCKET),--bucket=$(call _q,$(BUCKET))) \
	$(if $(IMAGE_TAG),--image-tag=$(call _q,$(IMAGE_TAG))) \
	$(call _flag,YES,--yes) $(call _flag,FORCE,--force) $(call _flag,DRY_RUN,--dry-run)

package: $(VENV)/.installed ## Upload ENV's templates to S3; print root URL + console quick-create link
	$(PY) scripts/deploy.py package $(DEPLOY_ARGS)

diff: $(VENV)/.installed ## Preview ENV's changes across all nested stacks (change set, then deleted)
	$(PY) scripts/deploy.py diff $(DEPLOY_ARGS)

deploy: $(VENV)/.installed ## Preview, confirm (YES=1 skips) and deploy ENV, streaming stack events
	$(PY) scripts/deploy.py deploy $(DEPLOY_ARGS)

watch: $(VENV)/.installed ## Resume streaming the events of ENV's running deploy/destroy
	$(PY) scripts/deploy.py watch $(DEPLOY_ARGS)

destroy: $(VENV)/.installed ## Delete ENV (shows deleted/retained/snapshotted; production needs FORCE=1)
	$(PY) scripts/deploy.py destroy $(DEPLOY_ARGS)

drift: $(VENV)/.installed ## Drift detection on ENV's root and every nested stack (exit 3 if drifted)
	$(PY) scripts/deploy.py drift $(DEPLOY_ARGS)

outputs: $(VENV)/.installed ## Print ENV's stack outputs (URLs, names)
	$(PY) scripts/deploy.py outputs $(DEPLOY_ARGS)

rehearse: $(VENV)/.installed ## Run the deploy code for ENV against a local AWS emulator (moto)
	$(PY) scripts/deploy.py rehearse $(DEPLOY_ARGS)

schema: $(VENV)/.installed ## Print the JSON schema of app.yaml
	@$(PY) -m generator schema

lock: ## Re-resolve the lock files from pyproject.toml pins (needs the package index)
	rm -rf /tmp/lock-venv /tmp/lock-ck && $(PYTHON) -m venv /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-ck
	/tmp/lock-venv/bin/pip install -q -e '.[test]' && /tmp/lock-ck/bin/pip install -q 'checkov==3.3.30'
	(echo "# Full pinned set for .venv (runtime + tests). Regenerate: make lock"; /tmp/lock-venv/bin/pip freeze --exclude-editable) > requirements.lock
	(echo "# Full pinned set for .venv-checkov (checkov pins boto3==1.35.49, which conflicts with ours)."; /tmp/lock-ck/bin/pip freeze) > requirements-checkov.lock

clean: ## Remove the virtual environments and caches (the lint cache too)
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .hypothesis .cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
