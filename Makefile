# The two set-up commands are `make demo` and `make test`; `make ui` opens the Dagster UI on the demo's instance.
# .venv is built with the newest Python found (scripts/newest-python: 3.13, then 3.12, then python3), whose
# grammar the scanner and the corpus parse read sources with; PYTHON=... overrides it.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell scripts/newest-python)
endif
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV_PYTHON := $(VENV)/.python-$(PYTHON_VERSION)
HOME_DIR := $(or $(PYPI_PLATFORM_HOME),$(CURDIR)/.pypi_platform)

.PHONY: demo ui scan late test chromium lint format bench clean

# A .venv built by another interpreter (an older one kept from an earlier session) is built again, and everything
# installed in it again: the install stamps depend on this one, which names the interpreter's version.
$(VENV_PYTHON):
	@if [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != \
		"$(PYTHON_VERSION)" ]; then echo "building $(VENV) with $(PYTHON) ($(PYTHON_VERSION))"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV_PYTHON)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV_PYTHON)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The demo mirrors a small allowlist at its latest release; both can be overridden from the environment.
demo ui scan late: export PYPI_PLATFORM_HOME := $(HOME_DIR)
demo ui scan late: export DAGSTER_HOME := $(HOME_DIR)/dagster
demo ui: export PYPI_PLATFORM_MIRROR_PROJECTS ?= @$(CURDIR)/pypi_platform/demo_projects.txt
demo ui: export PYPI_PLATFORM_MIRROR_KEEP_RELEASES ?= 1
# The daily partitions start at the first day the demo loaded (it records the day on its first run), so that
# the UI shows them filled from their start; empty before the first demo, which then chooses it.
DEMO_DOWNLOADS_START = $(shell cat $(HOME_DIR)/demo-downloads-start 2>/dev/null)
demo ui scan late: export PYPI_PLATFORM_DOWNLOADS_START ?= $(DEMO_DOWNLOADS_START)

# The demo instance: the repository's dagster.yaml (queue, limits, pools, retries) with SQLite storage.
$(HOME_DIR)/dagster/dagster.yaml: dagster.yaml pypi_platform/demo.py $(VENV)/.installed
	@mkdir -p $(@D)
	@$(BIN)/python -m pypi_platform.demo --instance-yaml $@

demo: $(VENV)/.installed $(HOME_DIR)/dagster/dagster.yaml
	@$(BIN)/python -m pypi_platform.demo

# The download-statistics API and dashboard over the demo's embedded database (or PYPI_PLATFORM_DATABASE_URL).
.PHONY: serve
serve: export PYPI_PLATFORM_HOME := $(HOME_DIR)
serve: $(VENV)/.installed
	$(BIN)/python -m pypi_platform.serving --host $(or $(SERVE_HOST),127.0.0.1) --port $(or $(SERVE_PORT),8000) \
		--workers $(or $(SERVE_WORKERS),1)

# A security scan of one date (DATE=YYYY-MM-DD, any day of its week; default this week) on the demo's instance.
scan: $(VENV)/.installed $(HOME_DIR)/dagster/dagster.yaml
	$(BIN)/python -m pypi_platform.scans run $(if $(DATE),--date $(DATE))

# Is anything late? Every asset against its freshness window, late ones first with what to do (exit 1 if any).
late: $(VENV)/.installed $(HOME_DIR)/dagster/dagster.yaml
	$(BIN)/python -m pypi_platform.late

# dg dev starts the webserver and the daemon; --use-active-venv keeps it on this project's .venv.
ui: $(VENV)/.installed $(HOME_DIR)/dagster/dagster.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev --use-active-venv -h 127.0.0.1 -p 3000

# The UI test drives Debian's chromium; on a fresh machine apt installs it (a no-op where it is present).
chromium:
	scripts/ensure-chromium

test: $(VENV)/.installed-test chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-test
	$(BIN)/python bench/mirror_vs_bandersnatch

clean:
	rm -rf $(VENV) $(HOME_DIR)
