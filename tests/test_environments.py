"""The environment files are valid: conda YAML with pip requirements pip accepts, a package
metadata with complete dependencies (a torch range, the exact pin only in requirements.txt)."""

import re
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
    assert "bm3d" in names
    # deepdespeckling without its dependencies (as envs/setup.sh): by the post-deploy script, not the pip section
    assert "deepdespeckling" not in names


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
    assert "pip install --no-deps deepdespeckling==0.8" in text
    assert "--no-deps deepdespeckling==0.8" in (ROOT / "envs" / "setup.sh").read_text()
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


# conda-forge's names of packages of envs/requirements.txt
CONDA_NAMES = {"pytorch": "torch", "snakemake-minimal": "snakemake"}


def _pins() -> dict[str, Version]:
    """Package -> version of envs/requirements.txt."""
    out = {}
    for line in (ROOT / "envs" / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            out[req.name] = Version(str(req.specifier).removeprefix("=="))
    return out


def _conda_pins() -> dict[str, Version]:
    """Package (pip's name) -> version of envs/environment.yaml: its conda lines, its pip section and the
    post-deploy script's --no-deps installs."""
    out = {}
    for dep in _conda_env()["dependencies"]:
        if isinstance(dep, str) and dep not in ("pip", ) and not dep.startswith("python="):
            name, _, version = dep.partition("=")
            out[CONDA_NAMES.get(name, name)] = Version(version)
        elif isinstance(dep, dict):
            for line in dep["pip"]:
                req = Requirement(line)
                out[req.name] = Version(str(req.specifier).removeprefix("=="))
    script = (ROOT / "envs" / "environment.post-deploy.sh").read_text()
    for name, version in re.findall(r"pip install --no-deps ([A-Za-z0-9_.-]+)==(\S+)", script):
        out[name] = Version(version)
    return out


def test_environment_yaml_has_every_pinned_package_at_its_version():
    pins, conda = _pins(), _conda_pins()
    assert {name: conda.get(name) for name in pins} == pins
    assert set(conda) - set(pins) == {"deepdespeckling"}  # as envs/setup.sh: --no-deps, not in requirements.txt


def test_every_dependency_and_extra_is_in_both_environments():
    """Each dependency of pyproject.toml and of its extras, at a version its range allows, in
    requirements.txt with envs/setup.sh (the venv) and in environment.yaml (conda)."""
    setup = (ROOT / "envs" / "setup.sh").read_text()
    venv = _pins() | {name: Version(v) for name, v in re.findall(r"--no-deps ([A-Za-z0-9_.-]+)==(\S+)", setup)}
    conda = _conda_pins()
    project = _project()
    reqs = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    assert "xarray>=2024.1" in reqs and "deepdespeckling==0.8" in reqs
    for line in reqs:
        req = Requirement(line)
        for env, pins in (("envs/requirements.txt", venv), ("envs/environment.yaml", conda)):
            assert req.name in pins, f"{req.name} missing from {env}"
            assert pins[req.name] in req.specifier, (env, req.name, pins[req.name], str(req.specifier))
