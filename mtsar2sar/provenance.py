"""Provenance of the products: the tags every product carries (software, units, the input date's own
tags, the super-image's ENL, the network's weights and the settings that change the numbers)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from mtsar2sar.config import NetworkSettings
from mtsar2sar.io import open_raster
from mtsar2sar.layout import AoiFolder

PRODUCT_UNITS = "linear intensity, in the input's units (squared for an amplitude or complex input)"


def software_version() -> str:
    """``mtsar2sar <version>``: the installed package's version (the source tree's when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"mtsar2sar {version('mtsar2sar')}"
    except PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return f"mtsar2sar {tomllib.loads(pyproject.read_text())['project']['version']}"


def source_tags(date_file: str | Path) -> dict[str, str]:
    """The input date's own dataset tags (acquisition date, polarization...), carried to its product."""
    with open_raster(date_file) as ds:
        return {str(k): str(v) for k, v in ds.tags().items()}


def super_image_tags(super_path: str | Path) -> dict[str, str]:
    """``super_image_enl``: the ENL of the super-image (its ENL report beside it), when there is one."""
    report = AoiFolder(Path(super_path).parent).super_image_enl
    try:
        enl = json.loads(report.read_text())["enl"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {"super_image_enl": repr(float(enl))} if enl is not None else {}


def weights_reference(name: str) -> str:
    """The weights file as the products record it (``weights_file``), the same on every machine: published
    weights by their path inside the package that ships them (``mtsar2sar/weights/sar2sar-ml.pt``), a user's
    file by its path as given (relative to the working directory, or absolute)."""
    from mtsar2sar.resources import PUBLISHED_WEIGHTS

    if name in PUBLISHED_WEIGHTS:
        package, relpath = PUBLISHED_WEIGHTS[name]
        return f"{package}/{relpath}"
    return name


def network_tags(st: NetworkSettings, looks: float | None) -> dict[str, str]:
    """The output tags of a product of the network: the weights actually used (``weights``: ``auto``
    resolved to the name it picks; ``weights_file``: :func:`weights_reference`; its ``weights_sha256``;
    ``weights_setting``: ``network.weights`` as configured) and the settings that change the numbers, the
    weights resolved (``network_settings``, ``settings_sha256``: :meth:`mtsar2sar.config.NetworkSettings.tags`;
    ``auto`` and the name it picks give the same digest)."""
    from mtsar2sar.network import auto_weights, resolve_weights

    requested = st.weights
    path = resolve_weights(requested, st.base, looks)  # an error for auto without looks
    name = auto_weights(looks) if requested == "auto" and looks is not None else requested
    sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {"weights": name, "weights_file": weights_reference(name), "weights_sha256": sha256,
            "weights_setting": requested, **replace(st, weights=name).tags()}
