"""What `mtsar2sar init` and `mtsar2sar run INPUTS` find in a stack's files (mtsar2sar.inspection): the domain
guessed from the values, the looks from the tags or the data, the dates as the workflow finds them, and the
commented configuration; read-only, a multi-band stack included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from conftest import REPO, utm_grid, write_dates
from stack_layouts import multiband, snap_band

from mtsar2sar import cli, config
from mtsar2sar.enl import AMPLITUDE_EVIDENCE, amplitude_evidence
from mtsar2sar.errors import InputError
from mtsar2sar.inspection import (
    Found,
    aoi_name,
    band_source_kind,
    dates_of,
    estimated_looks,
    guess_domain,
    inspect_stack,
    looks_in_tags,
)

KEYS = ("20240106", "20240118", "20240130")


def gamma_images(looks: float, shape=(64, 64), keys=KEYS, seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.gamma(looks, 1 / looks, shape).astype(np.float32) for k in keys}


def write(path: Path, bands: list[np.ndarray], dtype: str) -> Path:
    g = utm_grid(*bands[0].shape)
    with rasterio.open(path, "w", driver="GTiff", width=g.width, height=g.height, count=len(bands), dtype=dtype,
                       crs=g.crs, transform=g.transform) as dst:
        for b, img in enumerate(bands, start=1):
            dst.write(img.astype(dtype), b)
    return path


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def test_aoi_name():
    assert aoi_name("site VV/2024") == "site_VV_2024"
    assert aoi_name("a-b_c") == "a-b_c"
    assert aoi_name("///") == "stack"


def test_guess_domain_by_the_values(tmp_path):
    pos = np.random.default_rng(0).gamma(4, 0.25, (16, 16))
    assert guess_domain(write(tmp_path / "i.tif", [pos], "float32")) == (
        "intensity", "guessed: positive real values (amplitude if they are |z|, not |z|^2)")
    assert guess_domain(write(tmp_path / "a.tif", [pos * 100], "uint16")) == (
        "amplitude", "guessed: uint16 values (digital numbers of an amplitude, as Sentinel-1 GRD's)")
    assert guess_domain(write(tmp_path / "c.tif", [pos + 1j * pos], "complex64")) == (
        "complex", "guessed: complex64 values (a single-look complex image)")
    db = write(tmp_path / "db.tif", [pos, 10 * np.log10(pos)], "float32")  # band 2 in dB
    assert guess_domain(db, band=1)[0] == "intensity"
    share = float(np.mean(10 * np.log10(pos) < 0))
    with pytest.raises(InputError, match=rf"db\.tif: {share:.0%} of its values are negative: the data look like dB;"
                                         r" convert them to linear units first \(10 \*\* \(dB / 10\)\)"):
        guess_domain(db, band=2)


def test_estimated_looks_of_a_band(tmp_path):
    one, eight = gamma_images(1, (128, 128))["20240106"], gamma_images(8, (128, 128), seed=1)["20240106"]
    path = write(tmp_path / "two.tif", [one, eight], "float32")
    single, multi = estimated_looks(path, "intensity", band=1), estimated_looks(path, "intensity", band=2)
    assert 1.0 <= single < 1.5 and 6 < multi < 10, (single, multi)
    with pytest.raises(InputError, match=r"two\.tif: has 2 bands; set 'band' for this AOI to choose one"):
        estimated_looks(path, "intensity")
    assert estimated_looks(write(tmp_path / "flat.tif", [np.zeros((64, 64))], "float32"), "intensity") == 1.0


def test_looks_in_tags_of_a_file_and_of_a_band(tmp_path):
    imgs = gamma_images(4)
    plain = multiband(tmp_path / "plain.tif", imgs, utm_grid())
    assert looks_in_tags(plain) is None and looks_in_tags(plain, band=2) is None
    tagged = multiband(tmp_path / "tagged.tif", imgs, utm_grid(), band_tags=[{"LOOKS": "4"}, {"NLOOKS": "5"}, {}])
    with rasterio.open(tagged, "r+") as ds:
        ds.update_tags(NUMBER_OF_LOOKS="3")
    assert looks_in_tags(tagged, band=1) == (4.0, "band 1 tag LOOKS = 4")
    # the dataset's tags with the band's own, in the order of LOOKS_TAGS (as the band's VRT carries them)
    assert looks_in_tags(tagged, band=2) == (3.0, "tag NUMBER_OF_LOOKS = 3")
    assert looks_in_tags(tagged, band=3) == (3.0, "tag NUMBER_OF_LOOKS = 3")
    assert looks_in_tags(tagged) == (3.0, "tag NUMBER_OF_LOOKS = 3")


def test_band_source_kind():
    assert band_source_kind("band 2 description 'Sigma0_VV_06Jan2024'") == "band description"
    assert band_source_kind("band 1 tag ACQUISITION_START_TIME = 2024-01-06T05:50:00Z") == \
        "band tag ACQUISITION_START_TIME"
    assert band_source_kind("band 3: dates (config) 2024-01-30") == "band dates (config)"
    assert band_source_kind("band 1 DIMAP BAND_NAME 'Sigma0_VV_mst_06Jan2024' (s.dim)") == "band DIMAP BAND_NAME"


def test_config_text_with_and_without_comments():
    found = Found("site", {"inputs": "data/*.tif", "looks": 4.0, "input_domain": "intensity",
                           "dates": {"data/a.tif": "YYYY-MM-DD"}},
                  notes={"looks": "from the tags", "dates": "write each date"}, summary=["2 dates"])
    assert found.config_text() == (
        "# 2 dates\naois:\n  site:\n    inputs: \"data/*.tif\"\n    looks: 4  # from the tags\n"
        "    input_domain: \"intensity\"\n    dates:  # write each date\n      \"data/a.tif\": \"YYYY-MM-DD\"\n")
    assert found.config_text(comments=False) == (
        "aois:\n  site:\n    inputs: \"data/*.tif\"\n    looks: 4\n    input_domain: \"intensity\"\n    dates:\n"
        "      \"data/a.tif\": \"YYYY-MM-DD\"\n")


def test_dates_of_a_multiband_file_are_its_bands_read_in_place(tmp_path):
    order = [KEYS[i] for i in (2, 0, 1)]
    imgs = gamma_images(4)
    src = multiband(tmp_path / "data" / "stack.tif", {k: imgs[k] for k in order}, utm_grid(),
                    descriptions=[snap_band(k) for k in order])
    before = files_under(tmp_path)
    found = dates_of("site", {"inputs": "data/stack.tif"}, tmp_path)
    assert found is not None
    assert found.files == {k: tmp_path / "data" / "stack.tif" for k in KEYS}
    assert found.bands == {"20240106": 2, "20240118": 3, "20240130": 1}
    assert found.sources["20240130"] == "band 1 description 'Sigma0_VV_30Jan2024'"
    assert files_under(tmp_path) == before and src.exists()  # no VRT written
    # no date in the names nor the tags: None (init then writes a table to fill in)
    multiband(tmp_path / "undated" / "img_01.tif", {"x": imgs[KEYS[0]]}, utm_grid())
    multiband(tmp_path / "undated" / "img_02.tif", {"x": imgs[KEYS[1]]}, utm_grid())
    assert dates_of("u", {"inputs": "undated/*.tif"}, tmp_path) is None


def test_inspect_stack_of_a_multiband_file(tmp_path):
    imgs = gamma_images(4)
    multiband(tmp_path / "site" / "stack.tif", imgs, utm_grid(), descriptions=[snap_band(k) for k in imgs],
              band_tags=[{"LOOKS": "4"}] * 3)
    found = inspect_stack("site", tmp_path)
    assert found.aoi == "site" and found.dates_found
    assert found.spec == {"inputs": "site/*.tif", "input_domain": "intensity", "looks": 4.0}
    assert found.notes["looks"] == "from the metadata of stack.tif: band 1 tag LOOKS = 4"
    assert found.summary[1:] == [
        "3 dates, from: band description:", "  20240106 20240118 20240130",
        ("one file of a band per date (stack.tif, bands 1, 2, 3 in date order); the run reads each band through a VRT"
        " of its own"),
        "grid of the first date: 64 x 64 px, EPSG:32631, 10 x 10 (CRS units); the run checks that every date is on it",
    ]
    assert not (tmp_path / "results").exists()


def test_init_on_a_multiband_geotiff_writes_only_its_configuration(tmp_path, monkeypatch, capsys):
    """`mtsar2sar init FOLDER` on a 3-band GeoTIFF (a band per date): the configuration, and no other file (the
    bands are read in place; the workflow writes their VRTs when it runs)."""
    imgs = gamma_images(4)
    multiband(tmp_path / "data" / "stack.tif", imgs, utm_grid(), descriptions=[snap_band(k) for k in imgs],
              band_tags=[{"LOOKS": "4"}] * 3)
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    assert cli.main(["init", "data", "-o", "mine.yaml"]) == 0
    assert files_under(tmp_path) == before | {Path("mine.yaml")}
    text = (tmp_path / "mine.yaml").read_text()
    assert "# 3 dates, from: band description:\n#   20240106 20240118 20240130\n" in text
    assert ('aois:\n  data:\n    inputs: "data/*.tif"\n    input_domain: "intensity"  # guessed: positive real values'
            ' (amplitude if they are |z|, not |z|^2)\n    looks: 4  # from the metadata of stack.tif: band 1 tag LOOKS'
            ' = 4\n') in text
    written = yaml.safe_load(text)
    assert config.config_errors(written, config.schema()) == []
    assert "mtsar2sar: wrote mine.yaml; run it with: mtsar2sar run mine.yaml" in capsys.readouterr().err
    # the workflow finds the same dates in it (and then writes the bands' VRTs, under results/)
    assert cli.check_inputs(written, tmp_path) is None
    assert sorted(p.name for p in (tmp_path / "results" / "data" / "bands").iterdir()) == [f"{k}.vrt" for k in KEYS]


@pytest.mark.parametrize("looks", [1, 2, 4])
def test_the_speckle_of_an_intensity_reads_as_an_intensity(looks):
    rng = np.random.default_rng(looks)
    evidence = [amplitude_evidence(rng.gamma(looks, 1 / looks, (256, 256))) for _ in range(5)]
    assert all(e is not None and -0.12 < e < 0.0 for e in evidence), evidence


@pytest.mark.parametrize(("looks", "low"), [(1, 0.12), (2, 0.05)])
def test_the_speckle_of_an_amplitude_reads_as_an_amplitude(looks, low):
    rng = np.random.default_rng(10 + looks)
    evidence = [amplitude_evidence(np.sqrt(rng.gamma(looks, 1 / looks, (256, 256)))) for _ in range(5)]
    assert all(e is not None and e > low for e in evidence), evidence
    assert looks > 1 or min(evidence) > AMPLITUDE_EVIDENCE


def test_amplitude_evidence_needs_enough_windows():
    rng = np.random.default_rng(0)
    assert amplitude_evidence(np.sqrt(rng.exponential(1.0, (60, 60)))) is None  # 16 windows of 15 x 15
    assert amplitude_evidence(np.ones((10, 10))) is None
    assert amplitude_evidence(np.ones((256, 256))) is None


def test_init_guesses_a_single_look_amplitude_and_real_intensities(tmp_path):
    """A 1-look amplitude stored as float is guessed amplitude, not an intensity of about 3 looks; the
    repository's real OPERA intensities (about 2 to 6 looks) stay intensity."""
    rng = np.random.default_rng(3)
    grid = utm_grid(128, 128)
    amp = write_dates(tmp_path, {"20240106": np.sqrt(rng.exponential(1.0, (128, 128)))}, grid)["20240106"]
    domain, why = guess_domain(amp)
    assert domain == "amplitude" and "amplitude |z|" in why, why
    for f in sorted((REPO / "data" / "opera_rtc_s1_10SGD").glob("*/*/*.tif"))[::22]:
        assert guess_domain(f)[0] == "intensity", f


def test_a_folder_of_tif_tiff_and_TIF_files_takes_them_all(tmp_path):
    """A folder's GeoTIFFs named .tif, .tiff and .TIF: one glob takes every date; refused, naming the files to
    rename, where that glob would take another file too (GDAL's .aux.xml)."""
    files = write_dates(tmp_path / "mixed", gamma_images(4), utm_grid())
    files["20240118"] = files["20240118"].rename(files["20240118"].with_suffix(".tiff"))
    files["20240130"] = files["20240130"].rename(files["20240130"].with_suffix(".TIF"))
    found = inspect_stack("mixed", tmp_path, looks=4)
    assert found.spec["inputs"] == "mixed/*.[tT][iI][fF]*"
    assert dates_of("mixed", found.spec, tmp_path).files == files
    write_dates(tmp_path / "upper", gamma_images(4), utm_grid())
    for f in (tmp_path / "upper").iterdir():
        f.rename(f.with_suffix(".TIFF" if f.name.endswith("06.tif") else ".TIF"))
    assert inspect_stack("upper", tmp_path, looks=4).spec["inputs"] == "upper/*.[tT][iI][fF]*"
    (tmp_path / "mixed" / "S1_20240106.tif.aux.xml").write_text("<PAMDataset/>")
    with pytest.raises(InputError) as err:
        inspect_stack("mixed", tmp_path, looks=4)
    assert str(err.value) == ("mixed: its GeoTIFFs end in .TIF, .tif, .tiff, and no glob pattern takes them all"
                              " without the folder's other files: rename S1_20240118.tiff, S1_20240130.TIF to .tif, or"
                              " give a glob pattern of the dates' files")


def test_a_linked_folder_is_named_as_given_not_as_its_target(tmp_path):
    """site1 -> p1/stack and site2 -> p2/stack: the AOIs site1 and site2 (results/site1, results/site2), not
    both `stack`, the second replacing the first's results."""
    for p in ("p1", "p2"):
        write_dates(tmp_path / p / "stack", gamma_images(4), utm_grid())
    (tmp_path / "links").mkdir()
    for site, p in (("site1", "p1"), ("site2", "p2")):
        (tmp_path / "links" / site).symlink_to(Path("..") / p / "stack")
        assert inspect_stack(f"links/{site}/", tmp_path, looks=4).aoi == site
        assert inspect_stack(f"links/{site}/*.tif", tmp_path, looks=4).aoi == site
    assert inspect_stack(str(tmp_path / "links" / "site2"), tmp_path, looks=4).aoi == "site2"


def test_init_on_a_multiband_file_without_dates_writes_a_list_of_its_bands(tmp_path, monkeypatch, capsys):
    """One 3-band GeoTIFF without a date in its band names or tags: the configuration with a list of the bands'
    dates to fill in, in band order; filled, the workflow takes it."""
    multiband(tmp_path / "mb" / "stack.tif", gamma_images(4), utm_grid())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init", "mb/stack.tif", "-o", "mb.yaml"]) == 0
    text = (tmp_path / "mb.yaml").read_text()
    assert ('aois:\n  mb:\n    inputs: "mb/stack.tif"\n    dates: ["YYYY-MM-DD", "YYYY-MM-DD", "YYYY-MM-DD"]  # NO DATE'
            " FOUND in the bands' descriptions or tags: write the date (YYYY-MM-DD) of each of the 3 bands, in band"
            " order\n") in text
    written = yaml.safe_load(text)
    assert config.config_errors(written, config.schema()) == []
    err = capsys.readouterr().err
    assert ("mtsar2sar: warning: no date found in the bands' descriptions or tags: write each band's date in mb.yaml"
            " (dates:, in band order)") in err and "mtsar2sar: wrote mb.yaml" in err
    written["aois"]["mb"]["dates"] = ["2024-01-06", "2024-01-18", "2024-01-30"]
    assert cli.check_inputs(written, tmp_path) is None
    assert sorted(p.name for p in (tmp_path / "results" / "mb" / "bands").iterdir()) == [f"{k}.vrt" for k in KEYS]


def test_init_on_names_with_iso_dates_writes_their_format(tmp_path, monkeypatch, capsys):
    write_dates(tmp_path / "iso", gamma_images(4, keys=("2024-01-06", "2024-01-18", "2024-01-30")), utm_grid())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init", "iso", "-o", "iso.yaml"]) == 0
    text = (tmp_path / "iso.yaml").read_text()
    assert ('    date_format: "%Y-%m-%d"  # the order of the dates in the file names\n'
            in text) and "#   20240106 20240118 20240130" in text
    assert cli.check_inputs(yaml.safe_load(text), tmp_path) is None
