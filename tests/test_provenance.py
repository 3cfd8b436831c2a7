"""The products' record of the network (mtsar2sar.provenance.network_tags): the weights resolved, the setting as
configured beside them, and the weights file by a reference that is the same on every machine."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from mtsar2sar.config import NetworkSettings
from mtsar2sar.errors import InputError
from mtsar2sar.network import published_weights_path
from mtsar2sar.provenance import network_tags, weights_reference


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def tags(looks: float | None, **network) -> dict[str, str]:
    return network_tags(NetworkSettings.from_mapping({"device": "cpu", **network}), looks)


def test_weights_reference():
    assert weights_reference("sar2sar-ml") == "mtsar2sar/weights/sar2sar-ml.pt"
    assert weights_reference("sar2sar-s1") == "mtsar2sar/weights/sar2sar-s1.pt"
    assert weights_reference("sar2sar-grd") == "deepdespeckling/sar2sar/saved_model/sar2sar.pth"
    assert weights_reference("models/my.pt") == "models/my.pt"
    assert weights_reference("/abs/my.pt") == "/abs/my.pt"


@pytest.mark.parametrize("looks, name", [(1.0, "sar2sar-s1"), (4.0, "sar2sar-ml")])
def test_auto_is_recorded_as_the_weights_it_picks(looks, name):
    auto = tags(looks, weights="auto")
    assert auto["weights"] == name and auto["weights_setting"] == "auto"
    assert auto["weights_file"] == f"mtsar2sar/weights/{name}.pt"
    assert auto["weights_sha256"] == sha(published_weights_path(name))
    settings = json.loads(auto["network_settings"])
    assert settings["weights"] == name and "auto" not in auto["network_settings"]
    assert auto["settings_sha256"] == hashlib.sha256(auto["network_settings"].encode()).hexdigest()
    # the same weights by name: the same record of what changes the numbers; only the setting differs
    named = tags(looks, weights=name)
    assert named["weights_setting"] == name
    assert {k: v for k, v in named.items() if k != "weights_setting"} == \
        {k: v for k, v in auto.items() if k != "weights_setting"}


def test_auto_needs_the_looks():
    with pytest.raises(InputError, match="network.weights: 'auto' needs the AOI's number of looks"):
        tags(None, weights="auto")


def test_a_users_weights_file_as_given(tmp_path):
    (tmp_path / "models").mkdir()
    shutil.copyfile(published_weights_path("sar2sar-s1"), tmp_path / "models" / "my.pt")
    rel = tags(1.0, weights="models/my.pt", base=str(tmp_path))
    assert rel["weights"] == rel["weights_setting"] == rel["weights_file"] == "models/my.pt"
    assert rel["weights_sha256"] == sha(tmp_path / "models" / "my.pt")
    assert json.loads(rel["network_settings"])["weights"] == "my.pt"  # the file's name: its bytes are in the digest
    absolute = tags(1.0, weights=str(tmp_path / "models" / "my.pt"))
    assert absolute["weights_file"] == str(tmp_path / "models" / "my.pt")
