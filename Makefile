# The two commands of the README. Both set up .venv themselves (envs/setup.sh) from Python 3.11.
# make lint: the static checks of CI (.ci/run), the same commands (import layers and the docs build included).
VENV ?= .venv

.PHONY: demo test lint setup
setup:
	bash envs/setup.sh

demo: setup
	$(VENV)/bin/snakemake --cores 2

test: setup
	$(VENV)/bin/python -m pytest -q

lint: setup
	$(VENV)/bin/ruff check mtsar2sar scripts tests benchmarks experiments
	$(VENV)/bin/mypy mtsar2sar
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mkdocs build --strict --site-dir site
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/snakefmt --check Snakefile rules/
