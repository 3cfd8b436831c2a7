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


def test_the_packages_own_defaults_are_the_schemas():
    import inspect

    from mtsar2sar import cli, config
    from mtsar2sar.coregistration import check_stack
    from mtsar2sar.despeckle import NetworkDenoiser

    net = config.defaults("network")
    for key in ("level", "tile", "overlap", "batch", "self_ensemble", "precision"):
        assert getattr(NetworkDenoiser, key) == net[key], key
    params = inspect.signature(check_stack).parameters
    for key, value in config.defaults("coregistration").items():
        assert params[key].default == value, key
    # the CLI's options default to the workflow's settings
    args = cli.parser().parse_args(["despeckle", "d.tif", "--super", "s.tif", "-o", "o.tif"])
    for key in ("weights", "device", "threads", "tile", "overlap", "batch", "self_ensemble", "precision"):
        assert getattr(args, key) == net[key], key


def test_typed_settings_fill_the_defaults_and_refuse_unknown_keys():
    import pytest
    import torch

    from mtsar2sar.config import CoregistrationSettings, NetworkSettings
    from mtsar2sar.errors import InputError
    from mtsar2sar.network import select_precision

    st = NetworkSettings.from_mapping({"tile": 256, "dates_per_job": 3, "level": 100})
    assert (st.tile, st.overlap, st.level, st.weights, st.self_ensemble) == (256, 128, 100.0, "auto", 1)
    assert NetworkSettings.from_mapping({"weights": "/x/my.pt"}).result_settings()["weights"] == "my.pt"
    assert NetworkSettings.from_mapping({}).tags() == NetworkSettings.from_mapping({"threads": 7, "batch": 4}).tags()
    assert NetworkSettings.from_mapping({}).tags() != NetworkSettings.from_mapping({"self_ensemble": 8}).tags()
    # float32 is not recorded (products of earlier versions keep their digest); bfloat16 is, and auto as
    # what it resolves to on this machine
    assert "precision" not in NetworkSettings.from_mapping({"precision": "float32"}).result_settings()
    assert NetworkSettings.from_mapping({"precision": "bfloat16"}).result_settings()["precision"] == "bfloat16"
    resolved = select_precision("auto", torch.device("cpu"))
    assert NetworkSettings.from_mapping({"device": "cpu"}).result_settings().get("precision", "float32") == resolved
    with pytest.raises(InputError, match="network: unknown setting.s. tiles; allowed: .*tile"):
        NetworkSettings.from_mapping({"tiles": 256})
    assert CoregistrationSettings.from_mapping({"max_shift_px": 0.3}).as_kwargs()["max_shift_px"] == 0.3


def test_the_layout_knows_products_and_no_others():
    from mtsar2sar import layout

    assert layout.is_known("despeckled/20240106.tif") and layout.is_known("methods/rabasar/20240106.tif")
    assert layout.is_known("logs/despeckle/20240106.log") and layout.is_known("stac/demo_20240106.json")
    assert not layout.is_known("despeckled/20240106.png") and not layout.is_known("despeckled/a/b.tif")
    assert not layout.is_known("super_image_filtered.tif.part")
    folder = layout.AoiFolder.of("demo", "results")
    assert folder.method("mean", "d1").as_posix() == "results/demo/methods/mean/d1.tif"
    assert folder.simulated_dir.as_posix() == "results/demo/simulated"
