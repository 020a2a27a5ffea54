# Everyday commands (DEVELOPMENT.md says when to use which). Run from the repository root with
# the project's virtualenv active; nothing here needs AWS credentials or the Pulumi CLI.
PYTHON ?= python
# The README's test command; CI (.ci/run) runs the same.
PYTEST_ARGS ?= -q -n auto

.PHONY: help test lint typecheck preview check bench snapshot docs all

help:
	@echo "make test       the whole suite (graph tests under mocks, handlers against moto)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make typecheck  mypy over components/, handlers/, tools/, bench/, __main__.py"
	@echo "make preview    offline preview of the dev stack (writes preview/dev.md)"
	@echo "make check      deploy-readiness check of the dev stack and of every example"
	@echo "make bench      every benchmark in bench/"
	@echo "make snapshot   rewrite the URN snapshots (review the printed diff before committing)"
	@echo "make docs       regenerate the options tables in the Markdown files"
	@echo "make all        lint, typecheck, test"

all: lint typecheck test

test:
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint:
	ruff check .
	ruff format --check .

typecheck:
	mypy

preview:
	$(PYTHON) -m tools.preview --stack dev

# Findings go to stderr, one line each; the first file with one stops the run (exit 1).
check:
	$(PYTHON) -m tools.preview --stack dev --check > /dev/null
	@echo "Pulumi.dev.yaml: no findings"
	@for example in examples/*.yaml; do \
		$(PYTHON) -m tools.preview --file $$example --check > /dev/null || exit 1; \
		echo "$$example: no findings"; \
	done

# Every benchmark runs even when one misses its goal (exit 1); the failures are listed last.
bench:
	@failed=""; \
	for module in bench/*.py; do \
		name=$$(basename $$module .py); \
		[ "$$name" = "__init__" ] && continue; \
		echo "== bench.$$name"; \
		$(PYTHON) -m bench.$$name || failed="$$failed bench.$$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "failed or missed a goal:$$failed"; exit 1; fi

snapshot:
	$(PYTHON) -m tools.urn_snapshot

docs:
	$(PYTHON) -m tools.doc_tables
