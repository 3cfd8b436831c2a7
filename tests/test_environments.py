"""The environment files are valid: conda YAML with pip requirements pip accepts, a package
metadata with complete dependencies (a torch range, the exact pin only in requirements.txt)."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _conda_env() -> dict:
    return yaml.safe_load((ROOT / "envs" / "environment.yaml").read_text())


def test_environment_yaml_pip_lines_are_requirements():
    env = _conda_env()
    assert env["name"] == "mtsar2sar"
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pip_sections) == 1
    assert "pip" in env["dependencies"]
    names = []
    for line in pip_sections[0]:
        assert not line.startswith("-"), f"pip option in environment.yaml: {line!r}"
        names.append(Requirement(line).name)  # raises InvalidRequirement otherwise
    assert "bm3d" in names and "deepdespeckling" in names


def test_environment_yaml_conda_lines_are_pinned():
    for dep in _conda_env()["dependencies"]:
        if isinstance(dep, str) and dep != "pip":
            name, _, version = dep.partition("=")
            assert name and version, dep


def test_post_deploy_installs_the_package_from_the_checkout():
    script = ROOT / "envs" / "environment.post-deploy.sh"
    text = script.read_text()
    assert text.startswith("#!")
    assert 'pip install --no-deps -e "$root"' in text
    assert "MTSAR2SAR_ROOT" in (ROOT / "Snakefile").read_text()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_package_dependencies_complete_with_a_torch_range():
    reqs = {r.name: r for r in map(Requirement, _project()["dependencies"])}
    assert "bm3d" in reqs
    torch = reqs["torch"].specifier
    assert "==" not in str(torch)
    assert Version("2.13.0") in torch
    pinned = [
        Requirement(line)
        for line in (ROOT / "envs" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {r.name: r.specifier for r in pinned}["torch"] == SpecifierSet("==2.13.0")
    # every package dependency is pinned for this machine, at a version the range allows
    pins = {r.name: r for r in pinned}
    for name, req in reqs.items():
        assert name in pins, name
        version = Version(str(pins[name].specifier).removeprefix("=="))
        assert version in req.specifier, (name, version)


def test_license_file_matches_metadata():
    assert _project()["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 The mtsar2sar developers" in text
