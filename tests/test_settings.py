"""One source of defaults: the repository's config.yaml states the schema's defaults, not others."""

from __future__ import annotations

import yaml
from conftest import REPO


def schema_defaults(schema: dict, path: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, sub in schema.get("properties", {}).items():
        where = f"{path}.{key}" if path else key
        if "default" in sub and sub.get("type") != "object":
            out[where] = sub["default"]
        out.update(schema_defaults(sub, where))
    return out


def flatten(config: dict, path: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in config.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            out.update(flatten(value, where))
        else:
            out[where] = value
    return out


def test_config_yaml_states_the_schema_defaults():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    defaults = schema_defaults(schema)
    config = flatten(yaml.safe_load((REPO / "config.yaml").read_text()))
    stated = {k: v for k, v in config.items() if k in defaults}
    assert len(stated) >= 20, sorted(stated)  # the settings sections are there
    wrong = {k: (v, defaults[k]) for k, v in stated.items() if v != defaults[k]}
    # the demo's own choices, said in config.yaml's comments
    allowed = {"methods.max_dates"}
    assert {k: v for k, v in wrong.items() if k not in allowed} == {}
    # every key of the settings sections is in the schema (the schema rejects the others)
    for section in ("coregistration", "super_image", "mulog", "network", "outputs"):
        assert all(k in defaults for k in config if k.startswith(section + ".")), section
