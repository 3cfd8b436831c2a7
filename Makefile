# The two commands of the README. Both set up .venv themselves (envs/setup.sh) from Python 3.11.
VENV ?= .venv

.PHONY: demo test setup
setup:
	bash envs/setup.sh

demo: setup
	$(VENV)/bin/snakemake --cores 2

test: setup
	$(VENV)/bin/python -m pytest -q
