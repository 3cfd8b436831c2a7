"""The installable tool: the `mtsar2sar` command (mtsar2sar.cli), the Python API (mtsar2sar.api) and the
wheel (`pip install .`) running the workflow shipped inside it, from a folder with no checkout."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import venv
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from conftest import REPO, raster_meta, tiny_config, write_dates
from test_workflow import tiny_config as workflow_config

from mtsar2sar import api, cli, config, snakemake_process
from mtsar2sar.errors import InputError
from mtsar2sar.io import read_product
from mtsar2sar.simulate import simulate_stack

xr = pytest.importorskip("xarray")

# The network settings of the workflow's end-to-end tests (tests/test_workflow.py), used here too so that the
# API's products can be compared with the workflow's, byte for byte.
NETWORK = workflow_config(Path("unused"))["network"]
CLI = shutil.which("mtsar2sar", path=str(Path(sys.executable).parent))


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    assert CLI, f"no `mtsar2sar` console script beside {sys.executable} (bash envs/setup.sh installs it)"
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False)


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    """The tiny stack of conftest (5 single-look dates of 80 x 96, as `tiny_stack`) despeckled by the API,
    its products kept in `work/` (the layout of the workflow's results/{aoi}/)."""
    root = tmp_path_factory.mktemp("api")
    cfg = tiny_config()
    dates, _, noisy, _ = simulate_stack(cfg)
    (root / "stack").mkdir()
    files = write_dates(root / "stack", dict(zip(dates, noisy)), cfg.grid())
    t0 = time.perf_counter()
    da = api.despeckle_stack(list(files.values()), looks=1, date_regex=r"_(\d{8})", network=NETWORK,
                             workdir=root / "work")
    print(f"despeckle_stack on 5 x 80 x 96: {time.perf_counter() - t0:.1f} s")
    return {"root": root, "files": files, "grid": cfg.grid(), "da": da, "work": root / "work"}


def test_version():
    res = run_cli("--version")
    assert res.returncode == 0, res.stderr
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert res.stdout.strip() == f"mtsar2sar {version}"


def test_despeckle_stack_dims_coords_values(api_run):
    da, files, grid, work = api_run["da"], api_run["files"], api_run["grid"], api_run["work"]
    dates = list(files)
    assert da.dims == ("time", "y", "x") and da.shape == (5, 80, 96) and da.dtype == np.float32
    assert [str(t)[:10].replace("-", "") for t in da["time"].values] == dates
    assert np.issubdtype(da["time"].dtype, np.datetime64)
    assert list(da["date_key"].values) == dates
    assert list(da["source"].values) == [str(f) for f in files.values()]
    t = grid.transform  # pixel centres of the rasters' transform
    np.testing.assert_array_equal(da["x"].values, t.c + t.a * (np.arange(96) + 0.5))
    np.testing.assert_array_equal(da["y"].values, t.f + t.e * (np.arange(80) + 0.5))
    assert rasterio.crs.CRS.from_user_input(da.attrs["crs"]) == grid.crs
    assert da.attrs["transform"] == tuple(t)[:6]
    assert da.attrs["weights"] == "sar2sar-s1" and da.attrs["weights_setting"] == "auto"
    assert da.attrs["units"] == "linear intensity, in the input's units (squared for an amplitude or complex input)"
    assert float(da.attrs["super_image_enl"]) > 1 and da.attrs["dropped_dates"] == ""
    assert np.isfinite(da.values).all() and (da.values > 0).all()
    # the returned values are the products of the workflow's steps, kept in workdir as results/{aoi}/
    for i, d in enumerate(dates):
        np.testing.assert_array_equal(da.isel(time=i).values, read_product(work / "despeckled" / f"{d}.tif")[0])
    for name in ("coregistration.json", "super_image.tif", "super_image_enl.json", "super_image_filtered.tif"):
        assert (work / name).exists(), name
    # the despeckled dates are smoother than the noisy ones (single-look speckle: std/mean about 1)
    noisy = np.stack([read_product(f)[0] for f in files.values()])
    roughness = [np.median(np.abs(np.diff(np.log(x), axis=2))) for x in (da.values, noisy)]
    assert roughness[0] < 0.5 * roughness[1], roughness


def test_despeckle_stack_from_dataarray(api_run):
    """A DataArray (time, y, x) georeferenced by its x / y coordinates and crs: the same products as the files."""
    ref, files = api_run["da"], api_run["files"]
    noisy = xr.DataArray(np.stack([read_product(f)[0] for f in files.values()]), dims=("time", "y", "x"),
                         coords={"time": ref["time"].values, "y": ref["y"].values, "x": ref["x"].values},
                         attrs={"crs": ref.attrs["crs"]})
    assert api.grid_of(noisy).transform == api_run["grid"].transform
    da = api.despeckle_stack(noisy, looks=1, network=NETWORK)
    assert list(da["date_key"].values) == list(files)
    np.testing.assert_array_equal(da["time"].values, ref["time"].values)
    np.testing.assert_array_equal(da.values, ref.values)
    assert da.attrs["crs"] == ref.attrs["crs"] and da.attrs["transform"] == ref.attrs["transform"]


def test_despeckle_stack_settings_are_the_workflows():
    sch = config.schema()
    aoi = sch["properties"]["aois"]["additionalProperties"]["properties"]
    params = inspect.signature(api.despeckle_stack).parameters
    for key in ("looks", "input_domain", "date_regex"):
        assert params[key].default == aoi[key]["default"], key
    assert config.with_defaults("super_image", None)["filter"] == "mulog"
    assert config.with_defaults("mulog", {})["denoiser"] == "bm3d"
    assert config.with_defaults("network", {"tile": 256}) == {
        **{k: v["default"] for k, v in sch["properties"]["network"]["properties"].items() if "default" in v}, "tile": 256}
    assert config.CoregistrationSettings.from_mapping(None).on_misregistered == "fail"


def test_despeckle_stack_bad_settings_and_inputs(tmp_path):
    # settings are checked (with the workflow's messages) before any step runs
    with pytest.raises(InputError, match=r"network\.weigths: unknown key; did you mean 'weights'"):
        api.despeckle_stack(["none.tif"], network={"weigths": "auto"})
    with pytest.raises(InputError, match=r"network\.tile"):
        api.despeckle_stack(["none.tif"], network={"tile": 100})
    with pytest.raises(InputError, match="reference_dates"):
        api.despeckle_stack(["none.tif"], super_image={"reference_dates": 3})
    with pytest.raises(InputError, match="neither a published name"):
        api.despeckle_stack(["none.tif"], network={"weights": "nothere.pt"})
    with pytest.raises(InputError, match=r"none_20240101\.tif: file not found"):
        api.despeckle_stack([tmp_path / "none_20240101.tif"])
    with pytest.raises(InputError, match="matches no file"):
        api.despeckle_stack(str(tmp_path / "*.tif"))
    with pytest.raises(InputError, match=r"dims .* expected \(time, y, x\)"):
        api.despeckle_stack(xr.DataArray(np.ones((2, 3)), dims=("a", "b")))
    # a DataArray date without a valid pixel is named by its date, not by the file written for it
    values = np.random.default_rng(0).gamma(5, 0.2, (4, 32, 32)).astype(np.float32)
    values[2] = np.nan
    times = np.array(["2024-01-01", "2024-01-13", "2024-01-25", "2024-02-06"], dtype="datetime64[ns]")
    with pytest.raises(InputError, match=r"^DataArray date 20240125: date 20240125 rejected: no valid pixel"):
        api.despeckle_stack(xr.DataArray(values, dims=("time", "y", "x"), attrs={"crs": "EPSG:32631"},
                                         coords={"time": times, "y": 4e6 - 10 * np.arange(32), "x": 6e5 + 10 * np.arange(32)}),
                            looks=5, workdir=tmp_path / "work")
    # hostile-input review (mappings, bytes, workdir): a key escaping the folder, colliding keys, one file for two
    # dates, bytes, a file as workdir: formerly a file written outside workdir, dates lost silently, tracebacks
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    a.write_bytes(b"x"), b.write_bytes(b"x")
    with pytest.raises(InputError, match=r"date key '\.\./\.\./escaped' has characters other than"):
        api.despeckle_stack({"../../escaped": a, "20240102": b})
    with pytest.raises(InputError, match=r"the keys '1' and another both read '1'"):
        api.despeckle_stack({1: a, "1": b})
    with pytest.raises(InputError, match=r"a\.tif: given for the dates '20240101' and '20240102'"):
        api.despeckle_stack({"20240101": a, "20240102": a})
    # keys in their own order where they compare (integers: 9 before 10), datetimes with a time of day as
    # YYYYMMDDTHHMMSS (formerly sorted as text, '10' before '9', and a time of day refused for its ':')
    c = tmp_path / "c.tif"
    c.write_bytes(b"x")
    assert list(api._date_files({10: a, 9: b, 100: c}, "")) == ["9", "10", "100"]
    assert list(api._date_files({datetime(2024, 1, 2, 10, 30): a, datetime(2024, 1, 1): b, datetime(2023, 12, 31, 6): c},
                                "")) == ["20231231T060000", "20240101", "20240102T103000"]
    with pytest.raises(InputError, match="a bytes object is not a stack"):
        api.despeckle_stack(str(tmp_path / "*.tif").encode())
    with pytest.raises(InputError, match=r"workdir: .*a\.tif is a file"):
        api.despeckle_stack([a, b], workdir=a)


def test_cli_despeckle_equals_the_workflow_step(api_run, tmp_path):
    """`mtsar2sar despeckle` on one date: the product of the workflow's despeckle step for that date (the
    API's products are the workflow's: test_installed_package_runs_the_workflow)."""
    work, files = api_run["work"], api_run["files"]
    date = list(files)[2]
    out = tmp_path / "out" / "date.tif"
    res = run_cli("despeckle", str(files[date]), "--super", str(work / "super_image_filtered.tif"), "-o", str(out),
                  "--looks", "1", "--device", "cpu", "--threads", "1", "--tile", str(NETWORK["tile"]),
                  "--overlap", str(NETWORK["overlap"]), "--batch", str(NETWORK["batch"]))
    assert res.returncode == 0, res.stderr[-3000:]
    ours, expected = raster_meta(out), raster_meta(work / "despeckled" / f"{date}.tif")
    np.testing.assert_array_equal(read_product(out)[0], read_product(work / "despeckled" / f"{date}.tif")[0])
    for key in ("crs", "transform", "shape", "dtype", "layout", "block"):
        assert ours[key] == expected[key], key
    for tag in ("weights", "weights_file", "weights_sha256", "lambda", "debias", "looks", "super_image_enl", "units"):
        assert ours["tags"][tag] == expected["tags"][tag], tag
    assert not list(out.parent.glob(".*")), "temporary files left behind"
    # other weights by name: another product, tagged with them
    out2 = tmp_path / "out" / "ml.tif"
    res = run_cli("despeckle", str(files[date]), "--super", str(work / "super_image_filtered.tif"), "-o", str(out2),
                  "--weights", "sar2sar-ml", "--looks", "1", "--device", "cpu", "--tile", "128", "--overlap", "64")
    assert res.returncode == 0, res.stderr[-3000:]
    assert raster_meta(out2)["tags"]["weights"] == "sar2sar-ml"
    assert not np.array_equal(read_product(out2)[0], read_product(out)[0])


def test_cli_despeckle_errors_name_the_file(api_run, tmp_path):
    work, files = api_run["work"], api_run["files"]
    date_file = str(next(iter(files.values())))
    super_image = str(work / "super_image_filtered.tif")
    bad = tmp_path / "bad_20240101.tif"
    bad.write_text("not a raster")
    other_grid = tmp_path / "small.tif"
    with rasterio.open(date_file) as ds:
        profile = ds.profile | {"width": 64, "height": 64, "driver": "GTiff"}
        profile.pop("blockxsize", None), profile.pop("blockysize", None), profile.pop("tiled", None)
        data = ds.read(1)[:64, :64]
    with rasterio.open(other_grid, "w", **profile) as dst:
        dst.write(data, 1)
    cases = [
        ((str(tmp_path / "missing.tif"), "--super", super_image), f"{tmp_path / 'missing.tif'}: file not found"),
        ((str(bad), "--super", super_image), f"{bad}: not a readable raster"),
        ((date_file, "--super", str(tmp_path / "nosuper.tif")), f"{tmp_path / 'nosuper.tif'}: file not found"),
        ((str(other_grid), "--super", super_image), f"{other_grid}: not on the grid of the super-image"),
        ((date_file, "--super", super_image, "--weights", "nothere.pt"),
         "--weights: 'nothere.pt' is neither a published name"),
        ((date_file, "--super", super_image, "--band", "2"), f"{date_file}: band 2 requested but the file has 1 band"),
    ]
    for args, message in cases:
        out = tmp_path / "out.tif"
        res = run_cli("despeckle", *args, "-o", str(out), "--device", "cpu", "--looks", "1")
        assert res.returncode == 1, (args, res.stderr[-2000:])
        assert f"mtsar2sar: error: {message}" in res.stderr, (message, res.stderr[-2000:])
        assert "Traceback" not in res.stderr
        assert not out.exists() and not list(tmp_path.glob(".out.tif*"))
    res = run_cli("despeckle", date_file, "--super", super_image, "-o", date_file)
    assert res.returncode == 1 and "would overwrite an input" in res.stderr
    # hostile-input review: the weights as -o; NaN or infinite numbers; a super-image without a valid pixel
    weights = tmp_path / "w.pt"
    weights.write_bytes((REPO / "mtsar2sar" / "weights" / "sar2sar-ml.pt").read_bytes())
    nan_super = tmp_path / "nan_super.tif"
    with rasterio.open(super_image) as ds:
        profile = ds.profile | {"driver": "GTiff"}
        shape = ds.shape
    with rasterio.open(nan_super, "w", **profile) as dst:
        dst.write(np.full(shape, np.nan, dtype=np.float32), 1)
    cases = [
        (("--weights", str(weights), "-o", str(weights)), f"{weights}: the output would overwrite an input ({weights})"),
        (("--level", "nan", "-o", str(tmp_path / "o.tif")), "--level: nan is not a finite number"),
        (("--level", "inf", "-o", str(tmp_path / "o.tif")), "--level: inf is not a finite number"),
    ]
    for args, message in cases:
        res = run_cli("despeckle", date_file, "--super", super_image, "--device", "cpu", *args)
        assert res.returncode == 1 and f"mtsar2sar: error: {message}" in res.stderr, (args, res.stderr[-2000:])
    assert weights.read_bytes() == (REPO / "mtsar2sar" / "weights" / "sar2sar-ml.pt").read_bytes()
    res = run_cli("despeckle", date_file, "--super", str(tmp_path / "o.tif"), "--looks", "inf", "-o", str(tmp_path / "x.tif"))
    assert res.returncode == 2 and "must be a positive finite number" in res.stderr
    res = run_cli("despeckle", date_file, "--super", str(nan_super), "-o", str(tmp_path / "x.tif"), "--device", "cpu",
                  "--looks", "1")
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert f"mtsar2sar: error: {nan_super}: no valid pixel (all NaN, nodata, zero or negative)" in res.stderr
    assert not (tmp_path / "x.tif").exists()


def test_run_command_line(tmp_path, monkeypatch):
    cfg = tmp_path / "my.yaml"
    cfg.write_text("aois: {}\n")
    monkeypatch.chdir(tmp_path)
    snakefile = str(cli.workflow_dir() / "Snakefile")
    cmd = cli.snakemake_command(cfg, tmp_path, None, ["-n", "--rerun-incomplete", "results/x.tif"])
    assert cmd == [sys.executable, "-m", "snakemake", "-s", snakefile, "--configfile", str(cfg), "--directory",
                   str(tmp_path), "--cores", "all", "-n", "--rerun-incomplete", "results/x.tif"]
    assert cli.snakemake_command(cfg, tmp_path, "1", [])[-2:] == ["--cores", "1"]
    # a profile or --jobs sets its own cores; the shipped profiles by name
    cmd = cli.snakemake_command(cfg, tmp_path, None, ["--profile", "slurm"])
    assert "--cores" not in cmd and cmd[-2:] == ["--profile", str(cli.workflow_dir() / "profiles" / "slurm")]
    assert "--cores" not in cli.snakemake_command(cfg, tmp_path, None, ["-j4"])
    # the command line as `mtsar2sar run` builds it (relative paths: against the working directory)
    res = run_cli("run", "my.yaml", "--print-command", "-n", "--until", "super_image", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[2:] == ["snakemake", "-s", snakefile, "--configfile", str(cfg), "--directory",
                                      str(tmp_path), "--cores", "all", "-n", "--until", "super_image"]


def test_run_errors(tmp_path, monkeypatch, capsys):
    res = run_cli("run", "nothere.yaml", cwd=tmp_path)
    assert res.returncode == 1 and "mtsar2sar: error: nothere.yaml: configuration file not found" in res.stderr
    cfg = tmp_path / "c.yaml"
    cfg.write_text("aois: {}\n")
    monkeypatch.setattr(cli, "missing_workflow_modules", lambda: ["snakemake"])
    assert cli.main(["run", str(cfg)]) == 1
    assert 'pip install "mtsar2sar[workflow]"' in capsys.readouterr().err
    # a bad config: Snakemake's validation, naming the key
    monkeypatch.undo()
    cfg.write_text(yaml.safe_dump({"aois": {"a": {"inputs": "x/*.tif"}}, "network": {"tiles": 128}}))
    res = run_cli("run", str(cfg), "--cores", "1", "-n", cwd=tmp_path)
    assert res.returncode != 0 and "network.tiles: unknown key; did you mean 'tile'?" in res.stdout + res.stderr
    # not YAML, empty, not a mapping: named before Snakemake (its own message names no file; hostile-input review)
    for text, message in [("aois: {a: [unclosed\n", r"c\.yaml: not valid YAML, line \d+, column \d+"),
                          ("", r"c\.yaml: empty; a configuration sets at least 'aois'"),
                          ("- a\n- b\n", r"c\.yaml: its top level is a list, not a mapping")]:
        cfg.write_text(text)
        assert cli.main(["run", str(cfg)]) == 1
        assert re.search(message, capsys.readouterr().err)


@pytest.mark.slow
def test_installed_package_runs_the_workflow(tmp_path, tiny_stack, api_run):
    """`pip install -c envs/requirements.txt .` (a real wheel, not editable) into a fresh venv, then `mtsar2sar
    run` from a folder with no checkout and a config with relative paths. The venv sees the project's .venv
    site-packages (a .pth file) so that pip finds the dependencies installed and needs no index."""
    files, _, grid = tiny_stack
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    purelib = Path(sysconfig.get_paths()["purelib"])
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    target = Path(subprocess.run([env_dir / "bin" / "python", "-c", code],
                                 capture_output=True, text=True, check=True).stdout.strip())
    (target / "_mtsar2sar_test_deps.pth").write_text(f"{purelib}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    t0 = time.perf_counter()
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "--no-build-isolation",
         "--no-index", "-c", str(REPO / "envs" / "requirements.txt"), f"{REPO}[workflow,api]"],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    t_pip = time.perf_counter() - t0
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-3000:]
    # a real install: the package and the workflow under the venv's site-packages, nothing from the checkout
    installed = target / "mtsar2sar"
    for rel in ("cli.py", "py.typed", "weights/README.md", "weights/sar2sar-s1.pt", "weights/sar2sar-ml.pt",
                "workflow_files/Snakefile", "workflow_files/config.yaml", "workflow_files/rules/despeckle.smk",
                "workflow_files/scripts/despeckle.py", "workflow_files/schemas/config.schema.yaml",
                "workflow_files/envs/environment.yaml", "workflow_files/report/workflow.rst",
                "workflow_files/profiles/slurm/config.yaml"):
        assert (installed / rel).is_file(), rel
    assert not (installed / "workflow_files" / "mtsar2sar").exists()
    project = tmp_path / "project"  # the user's folder: a config, no checkout
    project.mkdir()
    config = workflow_config(Path("..") / "stack")  # relative: against the working directory, not the package
    (project / "my_config.yaml").write_text(yaml.safe_dump(config))
    exe = str(env_dir / "bin" / "mtsar2sar")
    code = "import mtsar2sar.cli as c; print(c.__file__); print(c.workflow_dir())"
    where = subprocess.run([env_dir / "bin" / "python", "-c", code],
                           capture_output=True, text=True, env=env, cwd=project, check=True)
    assert where.stdout.split() == [str(installed / "cli.py"), str(installed / "workflow_files")]
    t1 = time.perf_counter()
    res = subprocess.run([exe, "run", "my_config.yaml", "--cores", "1"], capture_output=True, text=True, env=env,
                         cwd=project, timeout=900, check=False)
    t_run = time.perf_counter() - t1
    print(f"pip install (wheel built, deps satisfied): {t_pip:.1f} s; mtsar2sar run (5 x 80 x 96, --cores 1):"
          f" {t_run:.1f} s")
    assert res.returncode == 0, res.stderr[-4000:]
    out = project / "results" / "tiny"
    assert sorted(p.name for p in (project / "results").iterdir()) == ["tiny"]  # the user's config, not the demo
    for d in files:
        p = out / "despeckled" / f"{d}.tif"
        meta = raster_meta(p)
        assert meta["crs"] == grid.crs and meta["transform"] == grid.transform and meta["shape"] == grid.shape
        assert meta["dtype"] == "float32"
        # the shipped weights by their path in the package, not the environment's; the installed file's bytes
        assert meta["tags"]["weights_file"] == "mtsar2sar/weights/sar2sar-s1.pt"
        assert meta["tags"]["weights_sha256"] == hashlib.sha256((installed / "weights" / "sar2sar-s1.pt").read_bytes()).hexdigest()
        w_hat = read_product(p)[0]
        assert np.isfinite(w_hat).all()
        # the API runs the same chain: the same bytes (the API's stack is the same simulation as tiny_stack)
        np.testing.assert_array_equal(w_hat, read_product(api_run["work"] / "despeckled" / f"{d}.tif")[0])
        assert (out / "quicklooks" / f"{d}.jpg").exists()


def test_despeckle_stack_never_overwrites_files_it_did_not_write(tmp_path):
    """A DataArray's dates go to {workdir}/inputs/{key}.tif: a user's own file there is refused, unchanged
    (formerly replaced by the float32 intensity of the DataArray's date)."""
    values = np.random.default_rng(0).gamma(5, 0.2, (2, 32, 32)).astype(np.float32)
    times = np.array(["2024-01-01", "2024-01-13"], dtype="datetime64[ns]")
    da = xr.DataArray(values, dims=("time", "y", "x"), attrs={"crs": "EPSG:32631"},
                      coords={"time": times, "y": 4e6 - 10 * np.arange(32), "x": 6e5 + 10 * np.arange(32)})
    mine = tmp_path / "work" / "inputs" / "20240113.tif"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's own file")
    with pytest.raises(InputError, match=r"inputs/20240113\.tif exists and despeckle_stack did not write it"):
        api.despeckle_stack(da, looks=5, network=NETWORK, workdir=tmp_path / "work")
    assert mine.read_bytes() == b"the user's own file"
    api._write_dates(da.isel(time=[0]), "intensity", mine.parent)  # its own files it may write again
    api._write_dates(da.isel(time=[0]), "intensity", mine.parent)


def test_dataarray_dates_keep_the_order_of_their_time_values(tmp_path):
    """Integer time values: 2 before 10 (formerly keys sorted as text: '10' before '2')."""
    values = np.random.default_rng(1).gamma(5, 0.2, (4, 16, 16)).astype(np.float32)
    da = xr.DataArray(values, dims=("time", "y", "x"), attrs={"crs": "EPSG:32631"},
                      coords={"time": [3, 10, 2, 1], "y": 4e6 - 10 * np.arange(16), "x": 6e5 + 10 * np.arange(16)})
    assert list(api._write_dates(da, "intensity", tmp_path)) == ["1", "2", "3", "10"]


def test_dataarray_grid_nodata_and_time_as_the_caller_gave_them(tmp_path):
    """Hostile-input review of stop 20: integer time values came back as strings ('1'), a 'transform'
    attribute that contradicts the x / y coordinates was used silently, and xarray's _FillValue was ignored."""
    rng = np.random.default_rng(2)
    values = (np.exp(rng.normal(0, 0.5, (32, 32))) * rng.gamma(4, 0.25, (4, 32, 32))).astype(np.float32)
    coords = {"time": [3, 10, 2, 1], "y": 4e6 - 10 * np.arange(32), "x": 6e5 + 10 * np.arange(32)}
    da = xr.DataArray(values, dims=("time", "y", "x"), attrs={"crs": "EPSG:32631"}, coords=coords)
    out = api.despeckle_stack(da, looks=4, network=NETWORK)
    assert out["time"].values.tolist() == [1, 2, 3, 10] and list(out["date_key"].values) == ["1", "2", "3", "10"]
    np.testing.assert_array_equal(out.sel(time=3).values, out.values[2])
    shifted = da.assign_attrs(transform=(10.0, 0.0, 603000.0, 0.0, -10.0, 4000005.0))  # x shifted by 3 km
    with pytest.raises(InputError, match=r"'transform' attribute \(10.0, 0.0, 603000.0.* and its x / y coordinates"
                                         r" \(pixel centres: \(10.0, 0.0, 599995.0.*disagree"):
        api.grid_of(shifted)
    assert api.grid_of(da.assign_attrs(transform=(10.0, 0.0, 599995.0, 0.0, -10.0, 4000005.0))).transform.c == 599995.0
    # a transform written with fewer digits (here 1e-4 px off) agrees with its coordinates
    assert api.grid_of(da.assign_attrs(transform=(10.0, 0.0, 599995.001, 0.0, -10.0, 4000005.0))).transform.c == 599995.001
    assert api.grid_of(da.assign_attrs(_FillValue=-9999.0)).nodata == -9999.0
    encoded = da.copy()
    encoded.encoding["_FillValue"] = 0.0
    assert api.grid_of(encoded).nodata == 0.0 and api.grid_of(da.assign_attrs(nodata=5.0, _FillValue=1.0)).nodata == 5.0


# --- a first run without a configuration file: `run INPUTS`, `init`; despeckle's looks ---


def test_init_writes_a_commented_configuration_that_the_schema_accepts(tmp_path, monkeypatch, capsys):
    """`mtsar2sar init FOLDER` on each layout, undated names with dates in their tags, and undated names
    without: a configuration the schema accepts, saying where each value came from."""
    from conftest import utm_grid
    from stack_layouts import hyp3_stack, opera_stack, snap_products, undated_tagged

    rng = np.random.default_rng(3)
    imgs = {k: rng.gamma(4, 0.25, (64, 64)).astype(np.float32) for k in ("20240106", "20240118", "20240130")}
    g = utm_grid()
    opera_stack(tmp_path / "site" / "VV", imgs, g)
    hyp3_stack(tmp_path / "hyp3", imgs, g, resolution=30)
    snap_products(tmp_path / "snap", imgs, g)
    undated_tagged(tmp_path / "tagged", imgs, g)
    undated_tagged(tmp_path / "undated", imgs, g, tag="NOTHING")
    monkeypatch.chdir(tmp_path)
    schema = config.schema()
    expected = {
        "site/VV": ("site_VV", {"inputs": "site/VV", "layout": "opera_rtc", "input_domain": "intensity", "looks": 5},
                    ["# 3 dates, from: file name:", "#   20240106 20240118 20240130", "looks: 5  # from the layout opera_rtc"]),
        "hyp3": ("hyp3", {"inputs": "hyp3", "layout": "hyp3_rtc", "input_domain": "intensity", "looks": 45},
                 ["looks: 45  # from the layout hyp3_rtc"]),
        "snap": ("snap", {"inputs": "snap", "layout": "snap", "input_domain": "intensity", "looks": 5},
                 ["# 3 dates, from: path:", "looks: 5  # from the files' metadata"]),
        "tagged": ("tagged", {"inputs": "tagged/*.tif", "input_domain": "intensity"},
                   ["# 3 dates, from: tag ACQUISITION_START_TIME:", "# grid of the first date: 64 x 64 px, EPSG:32631, 10 x 10",
                    "input_domain: \"intensity\"  # guessed: positive real values", "  # ESTIMATED (the ENL of the first"]),
    }
    for folder, (name, spec, lines) in expected.items():
        out = tmp_path / f"{name}.yaml"
        assert cli.main(["init", folder, "-o", str(out)]) == 0
        text = out.read_text()
        written = yaml.safe_load(text)
        assert config.config_errors(written, schema) == [], text
        aoi = written["aois"][name]
        assert {k: v for k, v in aoi.items() if k in spec} == spec, text
        for line in lines:
            assert line in text, (line, text)
        assert f"mtsar2sar: wrote {out}; run it with: mtsar2sar run {out}" in capsys.readouterr().err
        assert cli.check_inputs(written, tmp_path) is None  # the workflow finds the same files and dates
    # the estimate of the looks of undated, tagged 4-look-like data: a number near the data's
    assert 2 < yaml.safe_load((tmp_path / "tagged.yaml").read_text())["aois"]["tagged"]["looks"] < 8
    # no date anywhere: the table to fill in, and a warning
    assert cli.main(["init", "undated", "-o", "u.yaml"]) == 0
    text = (tmp_path / "u.yaml").read_text()
    assert config.config_errors(yaml.safe_load(text), schema) == []
    assert '    dates:  # NO DATE FOUND in the names or tags: write each file\'s date (YYYY-MM-DD)\n' \
           '      "undated/img_01.tif": "YYYY-MM-DD"\n' in text
    undated = yaml.safe_load(text)["aois"]["undated"]  # the domain and the looks all the same (new-user review)
    assert undated["input_domain"] == "intensity" and 2 < undated["looks"] < 8, text
    assert "looks: " in text and "# ESTIMATED" in text
    assert "mtsar2sar: warning: no date found in the file names or tags: write each file's date in u.yaml" in \
        capsys.readouterr().err
    with pytest.raises(InputError, match=r"undated/img_01\.tif: 'YYYY-MM-DD' is not a date"):
        cli.check_inputs(yaml.safe_load(text), tmp_path)
    # nothing a user gave is replaced
    assert cli.main(["init", "hyp3", "-o", "u.yaml"]) == 1
    assert "mtsar2sar: error: u.yaml: exists; give another -o, or --force to replace it" in capsys.readouterr().err


def test_run_inputs_makes_the_configuration_of_one_aoi(tmp_path, monkeypatch, capsys):
    from conftest import utm_grid
    from stack_layouts import snap_products, undated_tagged

    rng = np.random.default_rng(4)
    imgs = {k: rng.gamma(4, 0.25, (64, 64)).astype(np.float32) for k in ("20240106", "20240118", "20240130")}
    (tmp_path / "stack").mkdir()
    write_dates(tmp_path / "stack", imgs, utm_grid())
    undated_tagged(tmp_path / "tagged", imgs, utm_grid())
    snap_products(tmp_path / "snap", imgs, utm_grid())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "stack/*.tif", "--looks", "4", "--aoi", "mine", "--print-command", "-n"]) == 0
    out, err = capsys.readouterr()
    assert 'aois:\n  mine:\n    inputs: "stack/*.tif"\n    input_domain: "intensity"\n    looks: 4\n' in err
    cmd = out.split()
    assert cmd[cmd.index("--configfile") + 1].startswith(str(tmp_path / ".mtsar2sar-run-")) and cmd[-1] == "-n"
    assert not list(tmp_path.glob(".mtsar2sar-run-*"))  # the configuration of the run is removed after it
    # the looks: refused unless given, or in the layout or the tags
    assert cli.main(["run", "tagged/*.tif", "--print-command"]) == 1
    assert ("tagged/img_01.tif: no number of looks in the files' metadata (tags LOOKS, NUMBER_OF_LOOKS, DIMAP"
            " azimuth_looks x range_looks) nor their layout: give --looks (1 for single-look data)") in capsys.readouterr().err
    assert cli.main(["run", "snap", "--print-command"]) == 0  # SNAP's layout detected: looks from the .dim
    assert 'inputs: "snap"\n    layout: "snap"\n    input_domain: "intensity"\n    looks: 5\n' in capsys.readouterr().err
    # the options of INPUTS with a configuration file: named
    (tmp_path / "c.yaml").write_text("aois: {a: {inputs: 'stack/*.tif'}}\n")
    assert cli.main(["run", "c.yaml", "--looks", "4"]) == 1
    assert "mtsar2sar: error: --looks: options of `mtsar2sar run INPUTS`" in capsys.readouterr().err
    # a pattern the shell expanded (not quoted): named, not run on its first file with the others as targets
    assert cli.main(["run", "stack/S1_20240106.tif", "stack/S1_20240118.tif", "--looks", "1"]) == 1
    assert "stack/S1_20240106.tif stack/S1_20240118.tif ...: the shell expanded the pattern into its files; quote it" \
        in capsys.readouterr().err
    # an input error: one line, before Snakemake starts
    assert cli.main(["run", "nothing/*.tif", "--looks", "1"]) == 1
    err = capsys.readouterr().err
    assert "mtsar2sar: error: inputs: the pattern 'nothing/*.tif' matches no file" in err and "Snakemake" not in err


def test_despeckle_reads_the_looks_of_the_dates_tags_or_refuses(api_run, tmp_path):
    work, files = api_run["work"], api_run["files"]
    date = list(files)[1]
    tagged = tmp_path / "tagged.tif"
    shutil.copyfile(files[date], tagged)
    with rasterio.open(tagged, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
        ds.update_tags(LOOKS="1")
    common = ("--super", str(work / "super_image_filtered.tif"), "--device", "cpu", "--threads", "1", "--tile",
              str(NETWORK["tile"]), "--overlap", str(NETWORK["overlap"]), "--batch", str(NETWORK["batch"]))
    res = run_cli("despeckle", str(files[date]), *common, "-o", str(tmp_path / "none.tif"))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert (f"mtsar2sar: error: {files[date]}: no number of looks in its tags (LOOKS, NUMBER_OF_LOOKS, NOMINAL_LOOKS,"
            " NLOOKS, SNAP's DIMAP azimuth_looks x range_looks): give --looks (1 for single-look data") in res.stderr
    assert not (tmp_path / "none.tif").exists()
    res = run_cli("despeckle", str(tagged), *common, "-o", str(tmp_path / "out.tif"))
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"{tagged}: 1 looks (tag LOOKS = 1)" in res.stderr
    np.testing.assert_array_equal(read_product(tmp_path / "out.tif")[0], read_product(work / "despeckled" / f"{date}.tif")[0])
    assert raster_meta(tmp_path / "out.tif")["tags"]["looks"] == raster_meta(work / "despeckled" / f"{date}.tif")["tags"]["looks"]


@pytest.mark.slow
def test_run_inputs_gives_the_bytes_of_a_configuration_file(tmp_path, tiny_stack):
    """`mtsar2sar run "stack/*.tif" --looks 1 --aoi tiny` and `mtsar2sar run config.yaml` with the same AOI: the
    same products, byte for byte."""
    files = tiny_stack[0]
    for name in ("glob", "yaml"):
        (tmp_path / name).mkdir()
    (tmp_path / "yaml" / "c.yaml").write_text(yaml.safe_dump(
        {"aois": {"tiny": {"inputs": str(tmp_path / "stack" / "*.tif"), "looks": 1}}}))
    res = run_cli("run", str(tmp_path / "stack" / "*.tif"), "--looks", "1", "--aoi", "tiny", "--cores", "2",
                  cwd=tmp_path / "glob")
    assert res.returncode == 0, res.stderr[-3000:]
    res = run_cli("run", "c.yaml", "--cores", "2", cwd=tmp_path / "yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    for d in files:
        a, b = (tmp_path / w / "results" / "tiny" / "despeckled" / f"{d}.tif" for w in ("glob", "yaml"))
        assert digest(a) == digest(b), d
    a, b = (json.loads((tmp_path / w / "results" / "tiny" / "coregistration.json").read_text()) for w in ("glob", "yaml"))
    assert a == b and a["dates"][0]["date_source"] == r"file name (date_regex '(\d{8})')"
    assert not list((tmp_path / "glob").glob(".mtsar2sar-run-*"))


# --- the command line as a new user meets it: init's pattern, run's dates, Ctrl-C, a job's error, options ---


def four_dates(keys=("20240106", "20240118", "20240130", "20240211"), seed=5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.gamma(4, 0.25, (64, 64)).astype(np.float32) for k in keys}


def test_init_takes_a_glob_pattern_and_refuses_a_single_date(tmp_path, monkeypatch, capsys):
    """`init "stack/*.tif"` inspects the files the pattern matches and writes it as `inputs:` (formerly
    refused: 'no such folder or file'); a pattern matching nothing, or one date (a file, a folder or a pattern
    of one), is one line naming what was given, and nothing is written (formerly a 1-date configuration)."""
    from conftest import utm_grid

    write_dates(tmp_path / "stack", four_dates(), utm_grid())
    write_dates(tmp_path / "one", four_dates(keys=("20240106",)), utm_grid())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init", "stack/*.tif", "-o", "g.yaml"]) == 0
    text = (tmp_path / "g.yaml").read_text()
    written = yaml.safe_load(text)
    assert written["aois"]["stack"]["inputs"] == "stack/*.tif" and "# 4 dates, from: file name:" in text
    assert config.config_errors(written, config.schema()) == []
    assert cli.check_inputs(written, tmp_path) is None
    assert "mtsar2sar: wrote g.yaml; run it with: mtsar2sar run g.yaml" in capsys.readouterr().err
    assert cli.main(["init", "nothing/*.tif", "-o", "n.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mtsar2sar: error: inputs: the pattern 'nothing/*.tif' matches no file") and err.count("\n") == 1
    assert cli.main(["init", "nothing", "-o", "n.yaml"]) == 1
    assert capsys.readouterr().err == "mtsar2sar: error: nothing: no such folder or file\n"
    only = tmp_path / "one" / "S1_20240106.tif"
    needs = "multi-temporal despeckling needs at least 2 dates; found 1"
    for given, message in [
        ("stack/S1_20240106.tif", (f"{needs} ({tmp_path / 'stack' / 'S1_20240106.tif'}): give the folder of the scene's"
                                  " dates (stack/), or a glob pattern of their files")),
        ("one", f"{needs} ({only}) in this folder"),
        ("one/*.tif", f"{needs} ({only}) matching the pattern"),
    ]:
        assert cli.main(["init", given, "-o", "n.yaml"]) == 1
        assert capsys.readouterr().err == f"mtsar2sar: error: {given}: {message}\n"
        assert cli.main(["run", given, "--looks", "4", "--print-command"]) == 1  # before Snakemake
        assert capsys.readouterr() == ("", f"mtsar2sar: error: {given}: {message}\n")
    assert not (tmp_path / "n.yaml").exists()


def test_run_inputs_without_dates_gives_the_workflows_message(tmp_path, monkeypatch, capsys):
    """`run INPUTS` on files without a date (in the names, with --date-format, or the tags): the error a
    configuration file of that AOI gives, where the date was looked for and a line that gives it (formerly:
    "'YYYY-MM-DD' is not a date", init's placeholders put into the run's configuration)."""
    from conftest import utm_grid
    from stack_layouts import undated_tagged

    undated_tagged(tmp_path / "undated", four_dates(), utm_grid(), tag="NOTHING")
    write_dates(tmp_path / "dmy", four_dates(keys=("06012024", "18012024", "30012024")), utm_grid())
    monkeypatch.chdir(tmp_path)
    for name, args, aoi in [
        ("undated", ["undated/*.tif"], {"inputs": "undated/*.tif"}),
        ("undated", ["undated"], {"inputs": "undated/*.tif"}),
        ("dmy", ["dmy/*.tif", "--date-format", "%d-%m-%Y"], {"inputs": "dmy/*.tif", "date_format": "%d-%m-%Y"}),
    ]:
        for extra in (["--print-command"], ["-n"]):
            assert cli.main(["run", *args, "--looks", "4", *extra]) == 1
            out, err = capsys.readouterr()
            with pytest.raises(InputError) as expected:
                cli.check_inputs({"aois": {name: {**aoi, "looks": 4}}}, tmp_path)
            assert err == f"mtsar2sar: error: {expected.value}\n", err
            assert out == "" and "no date found" in err and "YYYY-MM-DD" not in err and "Snakemake" not in err
    assert "date_format: \"%d%m%Y\"" in err  # the line that gives the dates of dmy/
    assert not list(tmp_path.glob(".mtsar2sar-run-*")) and not (tmp_path / ".snakemake").exists()


def test_run_and_init_name_looks_of_a_layout_without_its_metadata(tmp_path, monkeypatch, capsys):
    """A SNAP stack without its .dim (the looks' metadata): `run` names --looks (formerly "set looks: in the
    AOI", and refused even with --looks); `init` estimates them, as for files of no layout."""
    from conftest import utm_grid
    from stack_layouts import snap_stack

    snap_stack(tmp_path / "snapstack", four_dates(), utm_grid())
    (tmp_path / "snapstack" / "stack.dim").unlink()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "snapstack", "--print-command"]) == 1
    err = capsys.readouterr().err
    assert err.endswith(": no number of looks in the files' metadata (tags LOOKS, NUMBER_OF_LOOKS, DIMAP azimuth_looks"
                        " x range_looks) nor their layout: give --looks (1 for single-look data)\n"), err
    assert "set looks" not in err and err.count("\n") == 1
    assert cli.main(["run", "snapstack", "--looks", "4", "--print-command"]) == 0
    assert 'inputs: "snapstack"\n    layout: "snap"\n    input_domain: "intensity"\n    looks: 4\n' in capsys.readouterr().err
    assert cli.main(["init", "snapstack", "-o", "s.yaml"]) == 0
    aoi = yaml.safe_load((tmp_path / "s.yaml").read_text())["aois"]["snapstack"]
    assert aoi["layout"] == "snap" and aoi["looks"] > 1 and "# ESTIMATED" in (tmp_path / "s.yaml").read_text()


def test_run_inputs_in_a_read_only_directory_is_one_line(tmp_path, monkeypatch, capsys):
    """The run's configuration cannot be written in the working directory (read-only): one line naming the
    directory, status 1, no traceback."""
    from conftest import utm_grid

    write_dates(tmp_path / "stack", four_dates(), utm_grid())
    monkeypatch.chdir(tmp_path)

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system", str(tmp_path / ".mtsar2sar-run-x"))

    monkeypatch.setattr(cli.tempfile, "mkdtemp", read_only)
    assert cli.main(["run", "stack/*.tif", "--looks", "4", "--print-command"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1] == (
        f"mtsar2sar: error: {tmp_path}: the working directory is not writable (Read-only file system); the run"
        " writes its configuration and results/ there: run it from a writable folder, or give --directory DIR")


def test_run_inputs_says_that_its_domain_is_guessed(tmp_path, monkeypatch, capsys):
    """uint16 values are guessed an amplitude: the run says so, and how to set it; a domain given is not."""
    from conftest import utm_grid
    from stack_layouts import write_raster

    for k, img in four_dates().items():
        write_raster(tmp_path / "dn" / f"S1_{k}.tif", np.clip(img * 1000, 1, 65000), utm_grid(), dtype="uint16")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "dn/*.tif", "--looks", "4", "--print-command"]) == 0
    err = capsys.readouterr().err
    assert '    input_domain: "amplitude"\n' in err
    assert ("mtsar2sar: input_domain amplitude is guessed: uint16 values (digital numbers of an amplitude, as"
            " Sentinel-1 GRD's); give --domain if it is not\n") in err
    assert cli.main(["run", "dn/*.tif", "--looks", "4", "--domain", "intensity", "--print-command"]) == 0
    assert "guessed" not in capsys.readouterr().err


def test_help_lists_every_command():
    import argparse

    p = cli.parser()
    commands = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) == {"run", "init", "quality", "despeckle"}
    assert p.format_usage() == "usage: mtsar2sar [-h] [--version] {run,init,quality,despeckle} ...\n"


def test_despeckle_names_the_options_to_fix(tmp_path, capsys):
    """A multi-band date: --band (formerly "set 'band' for this AOI"); --tile and --overlap: the actual problem
    (formerly "--tile 16 and --overlap 128 must be multiples of 32" for a tile below 32)."""
    cases = [
        (["--tile", "16"], "--tile 16: a tile is at least 32 px (a multiple of 32; default 768)"),
        (["--tile", "100"], "--tile 100: not a multiple of 32 (e.g. 96 or 128)"),
        (["--tile", "64"], ("--overlap 128 (the default) is not smaller than --tile 64: give a smaller --overlap (32,"
                           " say) or a larger --tile")),
        (["--tile", "128", "--overlap", "128"], "--overlap 128 (the default) is not smaller than --tile 128"),
        (["--tile", "128", "--overlap", "50"], "--overlap 50: not a multiple of 32 (e.g. 32 or 64)"),
        (["--overlap", "-32"], "--overlap -32: negative; give 0 or a multiple of 32 smaller than the tile"),
    ]
    assert config.defaults("network")["tile"] == 768 and config.defaults("network")["overlap"] == 128
    for args, message in cases:
        assert cli.main(["despeckle", "d.tif", "--super", "s.tif", "-o", str(tmp_path / "o.tif"), *args]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"mtsar2sar: error: {message}") and err.count("\n") == 1, (args, err)
    from conftest import utm_grid

    stack = tmp_path / "stack.tif"
    with rasterio.open(stack, "w", driver="GTiff", width=32, height=32, count=3, dtype="float32", crs="EPSG:32631",
                       transform=utm_grid().transform) as ds:
        ds.write(np.ones((3, 32, 32), np.float32))
    res = run_cli("despeckle", str(stack), "--super", str(tmp_path / "s.tif"), "-o", str(tmp_path / "o.tif"),
                  "--looks", "1")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr == f"mtsar2sar: error: {stack}: has 3 bands; give --band N (1 to 3) to choose one\n"


FAKE_SNAKEMAKE = r"""
import sys
print("Building DAG of jobs...", file=sys.stderr, flush=True)
print("dry-run table", flush=True)
print("mtsar2sar: error in rule check_coregistration: a.tif: date 20240130 rejected: no valid pixel", file=sys.stderr)
print("RuleException:", file=sys.stderr)
print("Error in rule check_coregistration:", file=sys.stderr)
print("    jobid: 2", file=sys.stderr)
print("    log: results/a/logs/check_coregistration.log (check log file(s) for error details)", file=sys.stderr)
print("Traceback (most recent call last):\n  File 'job.py', line 1, in <module>\nKeyboardInterrupt", file=sys.stderr)
print("WorkflowError:\nAt least one job did not complete successfully.", file=sys.stderr)
sys.exit(1)
"""


def test_run_repeats_a_jobs_error_as_the_last_line(tmp_path, capsys):
    """Snakemake's output is copied as it comes; when it fails, the project's one-line errors again at the
    end, with the log of the job (formerly above Snakemake's RuleException and WorkflowError blocks)."""
    rc = snakemake_process.run_snakemake([sys.executable, "-c", FAKE_SNAKEMAKE], tmp_path)
    out, err = capsys.readouterr()
    error = "mtsar2sar: error in rule check_coregistration: a.tif: date 20240130 rejected: no valid pixel"
    assert rc == 1 and out == "dry-run table\n"
    assert err.splitlines()[-1] == f"{error} (log: results/a/logs/check_coregistration.log)"
    assert err.splitlines()[:3] == ["Building DAG of jobs...", error, "RuleException:"]  # copied in its place too
    assert "At least one job did not complete successfully.\n" in err and "Traceback" not in err
    # an error that is already the last line (the workflow's checks when it is read): not repeated
    script = "import sys; print('mtsar2sar: error: invalid configuration:\\n  config: x: unknown key', file=sys.stderr);" \
             " sys.exit(1)"
    assert snakemake_process.run_snakemake([sys.executable, "-c", script], tmp_path) == 1
    assert capsys.readouterr().err == "mtsar2sar: error: invalid configuration:\n  config: x: unknown key\n"
    assert snakemake_process.run_snakemake([sys.executable, "-c", "import os; os.kill(os.getpid(), 9)"], tmp_path) == 137


def test_run_interrupted_waits_for_snakemake_then_stops_it(tmp_path, monkeypatch, capsys):
    """Ctrl-C that Snakemake does not get (only the command's own process): Snakemake is given
    INTERRUPT_WAIT_S to stop, then terminated; one line, status 130; a lock left is named."""
    import signal
    import threading

    monkeypatch.setattr(snakemake_process, "INTERRUPT_WAIT_S", 0.5)
    handler = signal.getsignal(signal.SIGINT)  # Python's own, or SIG_IGN when the tests run in the background
    started = tmp_path / "started"
    child = f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); print('running', flush=True); time.sleep(60)"

    def interrupt() -> None:
        for _ in range(600):
            if started.exists():
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    for lock, message in [(False, "mtsar2sar: interrupted; run the same command again to resume"),
                          (True, (f"mtsar2sar: interrupted before Snakemake released its lock on {tmp_path}: run the"
                                 " same command with --unlock, then again without it to resume"))]:
        if lock:
            (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
            (tmp_path / ".snakemake" / "locks" / "0.input.lock").touch()
        started.unlink(missing_ok=True)
        thread = threading.Thread(target=interrupt)
        thread.start()
        t0 = time.perf_counter()
        rc = snakemake_process.run_snakemake([sys.executable, "-c", child], tmp_path)
        thread.join()
        out, err = capsys.readouterr()
        assert rc == 130 and out == "running\n" and err == message + "\n", (rc, out, err)
        assert time.perf_counter() - t0 < 20  # terminated, not waited for
    assert signal.getsignal(signal.SIGINT) is handler  # the handler of before the run back


@pytest.mark.slow
def test_run_ctrl_c_stops_cleanly_and_the_run_resumes(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) while a job runs: status 130, one line, no traceback,
    no Snakemake lock left (not a KeyboardInterrupt traceback from cli.py, nor a lock while Snakemake is still
    cleaning up after the command has exited); the same command then finishes the run. Dates of 256 x 256 px:
    the run lasts long enough to be interrupted."""
    import signal

    from conftest import utm_grid

    rng = np.random.default_rng(5)
    keys = ("20240106", "20240118", "20240130", "20240211", "20240223")
    write_dates(tmp_path / "stack", {k: rng.gamma(4, 0.25, (256, 256)).astype(np.float32) for k in keys},
                utm_grid(256, 256))
    work = tmp_path / "work"
    work.mkdir()
    log = work / "run.log"
    args = [CLI, "run", str(tmp_path / "stack" / "*.tif"), "--looks", "4", "--cores", "2"]
    with log.open("wb") as f:
        # Ctrl-C as in a terminal, even when the tests run with SIGINT ignored (in the background): the
        # command started with SIGINT's default disposition, which exec keeps
        restore = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
        default_sigint = [sys.executable, "-c", restore]
        proc = subprocess.Popen([*default_sigint, *args], cwd=work, stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            t0 = time.monotonic()
            while "jobid:" not in log.read_text() and proc.poll() is None and time.monotonic() - t0 < 120:
                time.sleep(0.05)  # the first job scheduled
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)  # the job running
            os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the command, Snakemake and its jobs
            rc = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    text = log.read_text()
    assert rc == 130, text[-3000:]
    assert text.splitlines()[-1] == "mtsar2sar: interrupted; run the same command again to resume"
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    assert not list((work / ".snakemake" / "locks").glob("*"))
    assert not (work / "results" / "stack" / "despeckled" / "20240223.tif").exists()  # stopped before the end
    res = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(list((work / "results" / "stack" / "despeckled").glob("*.tif"))) == 5


@pytest.mark.slow
def test_run_a_failing_job_ends_with_its_one_line_error(tmp_path):
    """A date without a valid pixel: the co-registration job refuses it; the last line of the output is that
    error with the job's log (formerly some 15 lines above the end, before Snakemake's own blocks)."""
    from conftest import utm_grid

    dates = four_dates()
    dates["20240130"][:] = np.nan
    write_dates(tmp_path / "stack", dates, utm_grid())
    res = run_cli("run", "stack/*.tif", "--looks", "4", "--cores", "1", cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    last = res.stderr.splitlines()[-1]
    assert re.fullmatch(r"mtsar2sar: error in rule check_coregistration: .*stack/S1_20240130\.tif: date 20240130"
                        r" rejected: no valid pixel .* \(log: results/stack/logs/check_coregistration\.log\)", last), last
    assert (tmp_path / "results" / "stack" / "logs" / "check_coregistration.log").exists()
    assert res.stderr.count(last.split(" (log: ")[0]) == 2  # in its place, and again at the end


def test_run_names_a_missing_weights_file_before_snakemake(tmp_path):
    """`mtsar2sar run CONFIG` checks network.weights with the configuration, before Snakemake starts."""
    cfg = {"aois": {"site": {"inputs": str(tmp_path / "*.tif"), "looks": 1}}, "network": {"weights": "nowhere/w.pt"}}
    with pytest.raises(InputError) as err:
        cli.check_inputs(cfg, tmp_path)
    assert str(err.value) == ("network.weights: 'nowhere/w.pt' is neither a published name (sar2sar-grd, sar2sar-s1,"
                              f" sar2sar-s1-ratio, sar2sar-ml) nor an existing file ({tmp_path / 'nowhere/w.pt'})")
