"""Where the package finds the workflow's files (``Snakefile``, ``rules/``, ``schemas/``, ...) and the
published weights: a leaf module without torch, imported by the configuration, the planning, the network and
the command line alike."""

from __future__ import annotations

from pathlib import Path

from mtsar2sar.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent

# The published weights: name -> (the PyPI package that ships them, their path inside it)
PUBLISHED_WEIGHTS = {
    "sar2sar-grd": ("deepdespeckling", "sar2sar/saved_model/sar2sar.pth"),
    "sar2sar-s1": ("mtsar2sar", "weights/sar2sar-s1.pt"),
    "sar2sar-s1-ratio": ("mtsar2sar", "weights/sar2sar-s1-ratio.pt"),
    "sar2sar-ml": ("mtsar2sar", "weights/sar2sar-ml.pt"),
}


def existing_weights_file(weights: str, base: str | Path = ".") -> Path:
    """The weights file ``network.weights`` names when it is no published name (relative: to ``base``); else
    the error naming the setting, the published names and the path looked at."""
    path = Path(weights) if Path(weights).is_absolute() else Path(base) / weights
    if not path.exists():
        raise InputError(
            f"network.weights: {weights!r} is neither a published name ({', '.join(PUBLISHED_WEIGHTS)}) "
            f"nor an existing file ({path})"
        )
    return path


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
