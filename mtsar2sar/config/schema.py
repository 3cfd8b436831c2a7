"""The configuration's schema (``schemas/config.schema.yaml``): the one place of its defaults, and the
validation of a whole configuration against it.

The defaults live in the schema only: Snakemake's validation fills them into the workflow's config, and
the package's entry points that take settings without Snakemake (the CLI, the Python API, the steps of
:mod:`mtsar2sar.steps` called with a partial mapping) fill them from the same schema here.
``config.yaml`` states them (``tests/test_settings.py`` checks both agree, and that the library classes'
own defaults are the schema's).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtsar2sar import resources
from mtsar2sar.errors import InputError


@functools.cache
def schema() -> dict[str, Any]:
    """The workflow's configuration schema (``schemas/config.schema.yaml`` of the workflow's folder)."""
    import yaml

    return dict(yaml.safe_load(resources.schema_path().read_text()))


def defaults(section: str) -> dict[str, Any]:
    """The schema's defaults of one settings section (e.g. ``network``)."""
    props = schema()["properties"][section]["properties"]
    return {k: v["default"] for k, v in props.items() if "default" in v}


def with_defaults(section: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """A section's settings as given, the schema's defaults filled in for the keys not given (what
    Snakemake's ``validate`` does to the workflow's config)."""
    return defaults(section) | dict(given or {})


def check_keys(section: str, given: Mapping[str, Any], extra: tuple[str, ...] = ()) -> None:
    allowed = set(schema()["properties"][section]["properties"]) | set(extra)
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise InputError(f"{section}: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def config_errors(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every schema violation of ``config`` as one line naming the key (dotted path) and the problem;
    an unknown key comes with the closest allowed key, when there is one."""
    import difflib

    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        if err.validator == "additionalProperties":
            allowed = list(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - set(allowed))
            for key in extra:
                path = f"{where}.{key}" if err.absolute_path else key
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else (f"; allowed: {', '.join(allowed)}" if allowed else "")
                messages.append(f"config: {path}: unknown key{hint}")
        elif err.validator == "oneOf" and where == "super_image.enl":
            messages.append(f"config: super_image.enl: {err.instance!r} must be auto or a number of looks, at least 1")
        elif err.validator == "oneOf" and where.startswith("aois.") and "." not in where[5:]:
            messages.append(f"config: {where}: give either 'simulate' or 'inputs' (not both, not neither)")
        elif err.validator == "oneOf" and all(describe_schema(sub) for sub in err.validator_value):
            expected = " or ".join(describe_schema(sub) for sub in err.validator_value)
            messages.append(f"config: {where}: {err.instance!r} is not valid; expected {expected}")
        else:
            messages.append(f"config: {where}: {err.message}")
    return messages


def describe_schema(sub: dict[str, Any]) -> str:
    """A short description of a simple schema (for the alternatives of a ``oneOf``): ``auto``, ``null``,
    ``an integer >= 1``, ``a list of 2 texts``...; empty when the schema is not that simple."""
    if "const" in sub:
        return str(sub["const"])
    kind = sub.get("type")
    if kind == "null":
        return "null"
    if kind == "boolean":
        return "true or false"
    bounds = [f">= {sub['minimum']}" if "minimum" in sub else "", f"> {sub['exclusiveMinimum']}" if "exclusiveMinimum" in sub else ""]
    bound = " ".join(b for b in bounds if b)
    if kind in ("integer", "number"):
        return f"{'an integer' if kind == 'integer' else 'a number'}{' ' + bound if bound else ''}"
    if kind == "array":
        items = "texts" if sub.get("items") == {"type": "string"} else "items"
        n = sub.get("minItems")
        return f"a list of {n} {items}" if n is not None and n == sub.get("maxItems") else f"a list of {items}"
    return ""


def non_finite(value: Any, where: str = "") -> list[tuple[str, float]]:
    """(dotted key, value) of every NaN or infinite number in a configuration (YAML's .nan and .inf pass
    the schema's minimum and maximum tests)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return [(where or "(top level)", value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in non_finite(v, f"{where}[{i}]")]
    return []


def semantic_errors(config: dict[str, Any]) -> list[str]:
    """Problems the schema cannot express: settings that are valid alone but not together."""
    messages = [f"config: {where}: {value} is not a finite number" for where, value in non_finite(config)]
    net = config.get("network") or {}
    full = with_defaults("network", net)
    tile, overlap = full["tile"], full["overlap"]
    if isinstance(tile, int) and isinstance(overlap, int) and overlap >= tile:
        given = "network.overlap" if "overlap" in net else "network.overlap (default)"
        messages.append(f"config: {given}: {overlap} must be smaller than network.tile ({tile})")
    return messages


def validate_config(config: dict[str, Any], schema_path: str | Path | None = None) -> None:
    """Raise :class:`InputError` listing every problem of ``config`` against the YAML schema (the
    workflow's, :func:`schema`, unless another file is given)."""
    import yaml

    rules = schema() if schema_path is None else yaml.safe_load(Path(schema_path).read_text())
    errors = config_errors(config, rules) + semantic_errors(config)
    if errors:
        raise InputError("invalid configuration:\n  " + "\n  ".join(errors))
