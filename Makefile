# Every target bootstraps what it needs from the pinned lock files; only Python 3.11 and make are assumed.
PYTHON ?= python3.11## the Python 3.11 that creates the virtual environments
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
APP ?= app.yaml## the app spec
OUT ?= templates_out## where the templates are written (and read by diagram and the deploy commands)
PARAMS ?= params## where the parameter files are written
ENV ?= dev## the environment of a deploy command (cost: all environments unless ENV is given)
DIAGRAM ?= docs/diagrams/architecture.svg## the diagram to write (the PNG goes beside it)
SERVICE ?=## day-2 commands: the service (a name from app.yaml)
SINCE ?= 15m## logs: how far back
FOLLOW ?=## logs: 1 keeps printing new events
FILTER ?=## logs: a CloudWatch Logs filter pattern, e.g. ERROR
CMD ?=## exec: the command [/bin/sh]; run: the command of the one-off task
TAG ?=## build, push: the image tag [the commit's first 12 hex digits]
RUNBOOKS ?= runbooks## where make runbooks writes runbooks/<env>/
SANDBOX ?= sandbox## where make sandbox writes compose.yaml
CDK_VENV ?=## bench: a virtual environment with the AWS CDK, to compare its synth with the build
RUNS ?=## bench: how many times each phase is timed [bench.py's default]
REGION ?=## deploy-role: the region of the stack [AWS_REGION, else app.yaml's region]
CRON ?=## sandbox-up: 1 also starts the cron jobs on their schedule (the cron profile)
TEST_WORKERS ?= auto## test, test-fast: pytest processes (pytest-xdist; auto: one per core, 0: one process)

.DEFAULT_GOAL := help
.PHONY: help templates validate init cost diagram test test-fast test-any-app golden bench schema lock clean
.PHONY: lint-server-stop

help: ## List the targets and the variables they take
	@echo "Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'
	@echo "Variables (make TARGET NAME=value; default in brackets):"
	@grep -hE '^[A-Z_]+ \?=.*## ' $(MAKEFILE_LIST) | \
		awk '{name = $$1; sub(/^[A-Z_]+ \?= ?/, ""); split($$0, part, "## "); \
			printf "  %-9s %s%s\n", name, part[2], (part[1] == "" ? "" : " [" part[1] "]")}'
	@echo "  YES=1     deploy, deploy-role, destroy, restore, release, rollback: do not ask for confirmation"
	@echo "  FORCE=1   destroy, restore: allow a production environment; db-load: load into a database that has tables"
	@echo "  DUMP      db-load: the SQL dump, s3://bucket/key.sql or s3://bucket/key.sql.gz"
	@echo "  DRY_RUN=1 package, deploy, deploy-role, destroy: print what would happen, change nothing"
	@echo "  IMAGE_TAG deploy, diff: the image tag of every service [the parameter file's]; release: the service's"
	@echo "  BUCKET    deploy commands: the S3 bucket for templates [<app>-templates-<account>-<region>]"
	@echo "  SNAPSHOT  restore: the database cluster snapshot to restore (default: the newest manual one)"
	@echo "  CDK_VENV  bench: a virtual environment with the AWS CDK, to time its synth beside ours [none]"
	@echo "  RUNS      bench: how many times each phase is timed [bench.py's default]"
	@echo "  DIR       publish-frontend: the frontend build's output directory [frontend/build]"
	@echo "  PYTHONDONTWRITEBYTECODE  (environment) set: the building targets also compile the runtime's packages to bytecode"

# --- Environments. .venv holds the generator's runtime (requirements.lock: what `make templates` needs); the deploy
# targets add the AWS SDK (requirements-deploy.lock), `make diagram` the PNG renderer (requirements-diagram.lock) and
# `make test` all of them and the test stack (requirements-test.lock); checkov lives in .venv-checkov. Each lock
# file pins what the ones before it lack (`make lock` writes them). --no-deps: a lock file is the complete set, nothing to resolve. --no-compile: compiling
# every installed file was a third of a fresh `make templates`, while a build imports a part of them (Python caches
# the bytecode of what it imports, unless PYTHONDONTWRITEBYTECODE is set); `make test`, which starts Python many
# times, compiles the whole environment on every core instead. ---
PIP_INSTALL = -m pip install --disable-pip-version-check --no-deps --no-compile --progress-bar on
compile = $(1)/bin/python -m compileall -q -j 0 -x '/(tests?|testing)/' $(1)/lib > /dev/null || true
$(VENV)/.installed: requirements.lock
	@echo "==> $(VENV): installing the runtime ($(shell grep -cv '^#' requirements.lock) packages from requirements.lock)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_INSTALL) -r requirements.lock
	@touch $@

$(VENV)/.installed-deploy: $(VENV)/.installed requirements-deploy.lock
	@echo "==> $(VENV): adding the AWS SDK of the deploy commands (requirements-deploy.lock)"
	$(PY) $(PIP_INSTALL) -r requirements-deploy.lock
	@touch $@

$(VENV)/.installed-diagram: $(VENV)/.installed requirements-diagram.lock
	@echo "==> $(VENV): adding the PNG renderer (requirements-diagram.lock)"
	$(PY) $(PIP_INSTALL) -r requirements-diagram.lock
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed-deploy $(VENV)/.installed-diagram requirements-test.lock
	@echo "==> $(VENV): adding the test stack (requirements-test.lock)"
	$(PY) $(PIP_INSTALL) -r requirements-test.lock
	@echo "==> $(VENV): compiling every package to bytecode (the tests start Python many times)"
	@$(call compile,$(VENV))
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.lock
	@echo "==> $(CHECKOV_VENV): installing checkov (requirements-checkov.lock)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python $(PIP_INSTALL) -r requirements-checkov.lock
	@$(call compile,$(CHECKOV_VENV))
	@touch $@

# --- Bytecode. Python keeps the bytecode of what it imports beside the source, unless PYTHONDONTWRITEBYTECODE is set
# (as in this project's development machines, some CI images and containers): then every build compiled the
# generator's own sources again, about 0.35 s of each build's start (docs/performance.md). The commands that build
# compile them here once, again when a source is newer; with the variable set, the runtime's packages too (their
# bytecode is never written otherwise: .installed uses --no-compile). ---
GENERATOR_SOURCES := $(shell find generator -name '*.py' 2>/dev/null)
$(VENV)/.bytecode: $(VENV)/.installed $(GENERATOR_SOURCES)
	@$(PY) -m compileall -q -j 0 generator > /dev/null || true
	@$(if $(PYTHONDONTWRITEBYTECODE),$(call compile,$(VENV)))
	@touch $@

# --- The tool (generator/cli.py: the same entry point as the `fargate-stacks` command of `pip install .`) ---
templates: $(VENV)/.installed $(VENV)/.bytecode ## Generate and validate templates_out/ and params/ from $(APP) (the main job)
	@echo "==> building $(APP): render, lint (cfn-lint + project rules), size and permission checks, then write"
	$(PY) -m generator build --app=$(call _q,$(APP)) --out=$(call _q,$(OUT)) --params=$(call _q,$(PARAMS))

validate: $(VENV)/.installed $(VENV)/.bytecode ## Load and build $(APP) through the same checks, writing nothing
	$(PY) -m generator validate --app=$(call _q,$(APP))

init: $(VENV)/.installed ## Write a commented app spec from a few questions (never overwrites; APP=path)
	$(PY) -m generator init --output=$(call _q,$(APP))

cost: $(VENV)/.installed ## Monthly cost estimate of every environment of $(APP) (or ENV=...), docs/cost.md
	$(PY) -m generator cost --app=$(call _q,$(APP)) $(if $(filter-out file,$(origin ENV)),--env=$(call _q,$(ENV)))

diagram: $(VENV)/.installed-diagram ## Draw the architecture from $(OUT)/ into $(DIAGRAM) and a PNG beside it
	$(PY) -m generator diagram --templates=$(call _q,$(OUT)) --output=$(call _q,$(DIAGRAM))

# The suite on every core (pytest-xdist): one test module per process at a time (--dist loadfile), so a module's
# fixtures are built once and its tests never race each other; the modules with end-to-end (slow) tests go first
# (tests/conftest.py orders them, --no-loadscope-reorder keeps that order) so that no long module starts last.
# The suite alone used about 1.2 of 2 cores (docs/performance.md, The test suite on every core).
TEST_PARALLEL = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)
test: $(VENV)/.installed-test $(VENV)/.bytecode $(CHECKOV_VENV)/.installed ## Run the whole test suite (lint, checkov, golden, emulator)
	$(PY) -m pytest $(TEST_PARALLEL) -m "not any_app"

test-any-app: $(VENV)/.installed-test $(VENV)/.bytecode $(CHECKOV_VENV)/.installed ## Swap other apps into a copy of the repo: its tests pass
	$(PY) -m pytest -m any_app tests/test_any_app.py

test-fast: $(VENV)/.installed-test $(VENV)/.bytecode ## Run the tests that need neither checkov nor the emulator
	$(PY) -m pytest $(TEST_PARALLEL) -m "not slow and not any_app"

golden: $(VENV)/.installed-diagram $(VENV)/.bytecode ## Regenerate the golden templates on purpose (review the diff before committing)
	$(PY) -m generator build --app app.yaml --out templates_out --params params
	$(PY) -m tests.update_golden
	$(PY) -m tests.update_tool_golden

lint-server-stop: $(VENV)/.installed ## Stop the lint servers builds keep running (README, The lint server)
	$(PY) -m generator lint-server stop

bench: $(VENV)/.installed $(VENV)/.bytecode ## Time each build phase, the lint cache and peak memory (CDK_VENV=path: vs the CDK synth)
	$(PY) scripts/bench.py $(if $(CDK_VENV),--cdk-venv=$(call _q,$(CDK_VENV))) $(if $(RUNS),--runs=$(call _q,$(RUNS)))

.PHONY: assurance
assurance: $(VENV)/.installed-test $(CHECKOV_VENV)/.installed ## Regenerate docs/verification.md (what verifies each resource type)
	$(PY) scripts/assurance.py

# --- Deploy (scripts/deploy.py, docs/deploy.md). Honours AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL. ---
.PHONY: package diff deploy deploy-role watch destroy drift outputs rehearse snapshot snapshots restore publish-frontend
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
	$(if $(IMAGE_TAG),--image-tag=$(call _q,$(IMAGE_TAG))) $(if $(SNAPSHOT),--snapshot=$(call _q,$(SNAPSHOT))) \
	$(call _flag,YES,--yes) $(call _flag,FORCE,--force) $(call _flag,DRY_RUN,--dry-run)

package: $(VENV)/.installed-deploy ## Upload ENV's templates to S3; print root URL + console quick-create link
	$(PY) scripts/deploy.py package $(DEPLOY_ARGS)

diff: $(VENV)/.installed-deploy ## Preview ENV's changes across all nested stacks (change set, then deleted)
	$(PY) scripts/deploy.py diff $(DEPLOY_ARGS)

deploy: $(VENV)/.installed-deploy ## Preview, confirm (YES=1 skips) and deploy ENV, streaming stack events
	$(PY) scripts/deploy.py deploy $(DEPLOY_ARGS)

watch: $(VENV)/.installed-deploy ## Resume streaming the events of ENV's running deploy/destroy
	$(PY) scripts/deploy.py watch $(DEPLOY_ARGS)

destroy: $(VENV)/.installed-deploy ## Delete ENV (shows deleted/retained/snapshotted; production needs FORCE=1)
	$(PY) scripts/deploy.py destroy $(DEPLOY_ARGS)

drift: $(VENV)/.installed-deploy ## Drift detection on ENV's root and every nested stack (exit 3 if drifted)
	$(PY) scripts/deploy.py drift $(DEPLOY_ARGS)

outputs: $(VENV)/.installed-deploy ## Print ENV's stack outputs (URLs, names)
	$(PY) scripts/deploy.py outputs $(DEPLOY_ARGS)

snapshot: $(VENV)/.installed-deploy ## Take a manual snapshot of ENV's database cluster (prints its identifier)
	$(PY) scripts/deploy.py snapshot $(DEPLOY_ARGS)

snapshots: $(VENV)/.installed-deploy ## List ENV's database snapshots, newest first
	$(PY) scripts/deploy.py snapshots $(DEPLOY_ARGS)

restore: $(VENV)/.installed-deploy ## Restore ENV's database from SNAPSHOT (default: newest manual) via the template; preview, confirm
	$(PY) scripts/deploy.py restore $(DEPLOY_ARGS)
publish-frontend: $(VENV)/.installed-deploy ## Publish the frontend build (DIR=...) to ENV: upload, prune, invalidate
	$(PY) scripts/deploy.py publish-frontend $(DEPLOY_ARGS) $(if $(DIR),--dir=$(call _q,$(DIR)))

deploy-role: $(VENV)/.installed-deploy ## The pipeline's deploy role in the account of AWS_PROFILE (via S3; REGION=...)
	$(PY) scripts/deploy.py deploy-role --app=$(call _q,$(APP)) --templates=$(call _q,$(OUT)) \
		--params=$(call _q,$(PARAMS)) $(if $(REGION),--region=$(call _q,$(REGION))) \
		$(if $(BUCKET),--bucket=$(call _q,$(BUCKET))) $(call _flag,YES,--yes) $(call _flag,DRY_RUN,--dry-run)

rehearse: $(VENV)/.installed-test ## Run the deploy code for ENV against a local AWS emulator (moto)
	$(PY) scripts/deploy.py rehearse $(DEPLOY_ARGS)

schema: $(VENV)/.installed ## Rewrite schema/app.schema.json (the editor schema of app.yaml) from the spec models
	$(PY) -m generator schema --output=schema/app.schema.json

lock: ## Re-resolve the lock files from the pins in pyproject.toml (needs the package index)
	$(PYTHON) scripts/lock_files.py

clean: ## Remove the virtual environments and caches (the lint cache too)
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .hypothesis .cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# --- Day 2 (scripts/ops.py, docs/operations.md). Honours AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL. ---
.PHONY: status logs exec run build push release approve rollback db-load runbooks sandbox sandbox-up sandbox-down
override OPS_ARGS = --env=$(call _q,$(ENV)) --app=$(call _q,$(APP)) --templates=$(call _q,$(OUT)) \
	--params=$(call _q,$(PARAMS)) $(if $(SERVICE),--service=$(call _q,$(SERVICE))) \
	$(if $(SINCE),--since=$(call _q,$(SINCE))) $(call _flag,FOLLOW,--follow) \
	$(if $(FILTER),--filter=$(call _q,$(FILTER))) $(if $(CMD),--cmd=$(call _q,$(CMD))) \
	$(if $(or $(IMAGE_TAG),$(TAG)),--tag=$(call _q,$(or $(IMAGE_TAG),$(TAG)))) $(call _flag,YES,--yes)

status: $(VENV)/.installed-deploy ## ENV: per service tasks, image, release in progress, alarms, events; the database
	$(PY) scripts/ops.py status $(OPS_ARGS)

logs: $(VENV)/.installed-deploy ## ENV SERVICE [SINCE FOLLOW FILTER]: the service's logs, every task
	$(PY) scripts/ops.py logs $(OPS_ARGS)

exec: $(VENV)/.installed-deploy ## ENV SERVICE [CMD]: ECS Exec into a running task (session-manager-plugin)
	$(PY) scripts/ops.py exec $(OPS_ARGS)

run: $(VENV)/.installed-deploy ## ENV SERVICE CMD: a one-off task (image, network, secrets); exit code and logs
	$(PY) scripts/ops.py run $(OPS_ARGS)

build: $(VENV)/.installed-deploy ## ENV SERVICE [TAG]: docker build the service's image as the pipeline does
	$(PY) scripts/ops.py build-image $(OPS_ARGS)

push: $(VENV)/.installed-deploy ## ENV SERVICE [TAG]: push to ENV's repository, then the scan gate
	$(PY) scripts/ops.py push-image $(OPS_ARGS)

release: $(VENV)/.installed-deploy ## ENV SERVICE IMAGE_TAG [YES]: release one service without the pipeline
	$(PY) scripts/ops.py release $(OPS_ARGS)

approve: $(VENV)/.installed-deploy ## ENV SERVICE: continue a web release held for approval (test listener)
	$(PY) scripts/ops.py approve $(OPS_ARGS)

db-load: $(VENV)/.installed-deploy ## ENV DUMP=s3://bucket/key.sql[.gz] [FORCE=1]: load an SQL dump into ENV's database
	$(PY) scripts/ops.py db-load $(OPS_ARGS) --dump=$(call _q,$(DUMP)) $(call _flag,FORCE,--force)

runbooks: $(VENV)/.installed ## Write $(RUNBOOKS)/<env>/ (deploy, rollback, secrets, manual steps) from $(APP)
	$(PY) -m generator runbooks --app=$(call _q,$(APP)) --output=$(call _q,$(RUNBOOKS))

sandbox: $(VENV)/.installed ## Write $(SANDBOX)/compose.yaml (and the proxy's config) from $(APP)
	$(PY) -m generator sandbox --app=$(call _q,$(APP)) --output=$(call _q,$(SANDBOX))

sandbox-up: sandbox ## [CRON]: docker compose up the sandbox (proxy on :8000; CRON=1 adds the cron jobs)
	docker compose --file $(call _q,$(SANDBOX)/compose.yaml) $(call _flag,CRON,--profile cron) up --build --detach

sandbox-down: ## Stop the sandbox and remove its containers (the database volume stays)
	docker compose --file $(call _q,$(SANDBOX)/compose.yaml) --profile cron down

rollback: $(VENV)/.installed-deploy ## ENV SERVICE [YES]: stop a release with rollback, or re-release the previous
	$(PY) scripts/ops.py rollback $(OPS_ARGS)
