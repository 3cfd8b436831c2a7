"""Where the package finds the workflow's files (``Snakefile``, ``rules/``, ``schemas/``, ...): a leaf
module, imported by the configuration and by the command line alike."""

from __future__ import annotations

from pathlib import Path

from mtsar2sar.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent


def workflow_dir() -> Path:
    """The folder holding the workflow (``Snakefile``, ``rules/``, ``scripts/``, ``schemas/``, ``config.yaml``,
    ...): ``mtsar2sar/workflow_files/`` in an installed wheel, the repository's top level in a checkout
    (editable install)."""
    for candidate in (PACKAGE_DIR / "workflow_files", PACKAGE_DIR.parent):
        if (candidate / "Snakefile").is_file() and (candidate / "rules").is_dir():
            return candidate
    raise InputError(
        f"the workflow files (Snakefile, rules/, ...) are neither in {PACKAGE_DIR / 'workflow_files'} nor in"
        f" {PACKAGE_DIR.parent}: reinstall mtsar2sar (pip install .) from a complete checkout"
    )


def schema_path() -> Path:
    """The workflow's configuration schema, ``schemas/config.schema.yaml``."""
    return workflow_dir() / "schemas" / "config.schema.yaml"
