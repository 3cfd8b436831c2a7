"""STAC metadata of the products (rule `stac`, mtsar2sar.stac): one end-to-end run of the tiny AOI (the
default target makes the collection), its items and collection validated against the STAC JSON schemas
offline, and their values checked against the rasters, their tags and the AOI's reports."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio
from conftest import REPO, tiny_config
from jsonschema import Draft7Validator
from rasterio.warp import transform as warp_transform
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7
from test_workflow import run_workflow
from test_workflow import tiny_config as workflow_config

from mtsar2sar.errors import InputError
from mtsar2sar.io import write_float32
from mtsar2sar.provenance import software_version
from mtsar2sar.simulate import simulate_stack
from mtsar2sar.stac import PROCESSING_SCHEMA_URI, Product, SarFields, aoi_products, product_item, stac_for_aoi

# The core STAC schemas (item, collection, GeoJSON) ship inside pystac. The extensions' schemas do not
# (no installed package has them): put `<extension>/<version>/schema.json` (e.g. sar/v1.0.0/schema.json,
# from https://stac-extensions.github.io/<extension>/<version>/schema.json) in this folder, or name
# another with MTSAR2SAR_STAC_SCHEMAS, and test_extension_schemas validates against them too.
SCHEMAS = Path(os.environ.get("MTSAR2SAR_STAC_SCHEMAS", REPO / "tests" / "data" / "stac-schemas"))
EXTENSION_URI = re.compile(r"^https://stac-extensions\.github\.io/([^/]+)/(v[^/]+)/schema\.json$")
SAR_TAGS = {"POLARIZATION": "VV", "INSTRUMENT_MODE": "IW", "FREQUENCY_BAND": "C"}
SAR_URI = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"
PROJ_URI = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"


def _no_network(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)  # never fetched: every schema is local or the validation fails


def schema_registry() -> Registry:
    """The STAC core schemas shipped by pystac and the extension schemas of SCHEMAS, by their URLs."""
    from pystac.validation.local_validator import get_local_schema_cache

    schemas = dict(get_local_schema_cache())
    for path in sorted(SCHEMAS.glob("*/v*/schema.json")):
        schemas[f"https://stac-extensions.github.io/{path.parent.parent.name}/{path.parent.name}/schema.json"] = (
            json.loads(path.read_text()))
    resources = [(uri, Resource.from_contents(s, default_specification=DRAFT7)) for uri, s in schemas.items()]
    return Registry(retrieve=_no_network).with_resources(resources)  # type: ignore[call-arg]


REGISTRY = schema_registry()
CORE = {
    "Feature": "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json",
    "Collection": "https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json",
}


def validate(obj: dict[str, Any], uri: str) -> None:
    schema = REGISTRY.contents(uri)
    validator = Draft7Validator(schema, registry=REGISTRY, format_checker=Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(obj), key=str)
    assert not errors, f"{obj.get('id')} against {uri}:\n" + "\n".join(
        f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def strict_json(path: Path) -> dict[str, Any]:
    def refuse(name: str) -> None:
        raise AssertionError(f"{path}: {name} in JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def aoi(tmp_path_factory) -> dict[str, Any]:
    """The tiny stack (conftest's, 5 dates of 80 x 96) with SAR tags on its dates, through the default
    target of the workflow: one run for the module."""
    root = tmp_path_factory.mktemp("stac")
    cfg = tiny_config()
    dates, _, noisy, _ = simulate_stack(cfg)
    (root / "stack").mkdir()
    files = {}
    for d, img in zip(dates, noisy, strict=True):
        files[d] = root / "stack" / f"S1_{d}.tif"
        write_float32(files[d], img, cfg.grid(), tags=SAR_TAGS)
    work = root / "work"
    work.mkdir()
    res = run_workflow(work, workflow_config(root / "stack"))
    assert res.returncode == 0, res.stderr[-3000:]
    out = work / "results" / "tiny"
    stac = out / "stac"
    items = {p.stem: strict_json(p) for p in sorted(stac.glob("*.json")) if p.name != "collection.json"}
    return {"root": root, "work": work, "out": out, "stac": stac, "dates": list(files), "files": files,
            "collection": strict_json(stac / "collection.json"), "items": items}


def raster(path: Path) -> dict[str, Any]:
    with rasterio.open(path) as ds:
        return {"crs": ds.crs, "transform": ds.transform, "shape": (ds.height, ds.width), "tags": ds.tags()}


def test_the_default_target_makes_one_item_per_product(aoi):
    out, items = aoi["out"], aoi["items"]
    expected = {f"tiny_{d}" for d in aoi["dates"]} | {"tiny_super_image", "tiny_super_image_filtered"}
    assert set(items) == expected
    links = {(link["rel"], link["href"]) for link in aoi["collection"]["links"]}
    assert {("item", f"./{i}.json") for i in expected} <= links and ("root", "./collection.json") in links
    assert not any(link["rel"] == "self" for link in aoi["collection"]["links"])  # self-contained: movable
    assert "rule stac done" in (out / "logs" / "stac.log").read_text()
    assert (out / "benchmarks" / "stac.tsv").exists()
    assert not list(aoi["stac"].glob("*.part*")) and not list(aoi["stac"].glob(".*"))


def test_items_and_collection_validate_against_the_core_schemas(aoi):
    for item in aoi["items"].values():
        validate(item, CORE["Feature"])
    validate(aoi["collection"], CORE["Collection"])
    # the validation can fail: a datetime that is not RFC 3339
    bad = json.loads(json.dumps(aoi["items"][f"tiny_{aoi['dates'][0]}"]))
    bad["properties"]["datetime"] = "2024-01-06"
    with pytest.raises(AssertionError, match="datetime"):
        validate(bad, CORE["Feature"])


def test_extension_schemas(aoi):
    """Each extension an item declares, validated against its schema when SCHEMAS has it (see above)."""
    used = sorted({uri for item in aoi["items"].values() for uri in item.get("stac_extensions", [])})
    assert used == sorted([PROJ_URI, SAR_URI, PROCESSING_SCHEMA_URI])
    missing = []
    for uri in used:
        name, version = EXTENSION_URI.match(uri).groups()
        if not (SCHEMAS / name / version / "schema.json").exists():
            missing.append(f"{name}/{version}")
            continue
        for item in aoi["items"].values():
            if uri in item["stac_extensions"]:
                validate(item, uri)
    if missing:
        pytest.skip(f"no local schema for {', '.join(missing)} under {SCHEMAS} (no network to fetch them)")


def test_date_items_hold_the_values_of_their_products(aoi):
    enl = json.loads((aoi["out"] / "super_image_enl.json").read_text())["enl"]
    version = software_version().split()[-1]
    for d in aoi["dates"]:
        item = aoi["items"][f"tiny_{d}"]
        props = item["properties"]
        tif = aoi["out"] / "despeckled" / f"{d}.tif"
        meta = raster(tif)
        assert props["datetime"] == f"{d[:4]}-{d[4:6]}-{d[6:]}T00:00:00Z"
        # the bbox holds the raster's corners, in lon/lat, and the footprint closes
        h, w = meta["shape"]
        xs, ys = zip(*(meta["transform"] @ c for c in [(0, 0), (w, 0), (w, h), (0, h)]), strict=True)
        lons, lats = warp_transform(meta["crs"], "EPSG:4326", list(xs), list(ys))
        west, south, east, north = item["bbox"]
        assert all(west <= x <= east for x in lons) and all(south <= y <= north for y in lats)
        assert east - west < 0.05 and north - south < 0.05  # 960 m x 800 m, not the world
        ring = item["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) > 5
        assert min(p[0] for p in ring) == west and max(p[1] for p in ring) == north
        # projection: the raster's own grid
        assert props["proj:code"] == f"EPSG:{meta['crs'].to_epsg()}" == "EPSG:32631"
        assert props["proj:shape"] == [80, 96]
        assert props["proj:transform"] == list(meta["transform"])[:6]
        # the tags of the product: weights, their sha256, the super-image's ENL, the software
        tags = meta["tags"]
        assert props["mtsar2sar:weights_sha256"] == tags["weights_sha256"] and len(tags["weights_sha256"]) == 64
        assert props["mtsar2sar:weights"] == tags["weights"] == "sar2sar-s1"
        assert props["mtsar2sar:super_image_enl"] == pytest.approx(enl) == float(tags["super_image_enl"])
        assert props["processing:software"] == {"mtsar2sar": version}
        lineage = props["processing:lineage"]
        assert "SAR2SAR" in lineage and "sar2sar-s1" in lineage and tags["weights_sha256"] in lineage
        assert Path(tags["source"]).name in lineage
        # SAR facts from the input's tags; the product's own ENL is not known (the ENL is the super-image's)
        assert props["sar:polarizations"] == ["VV"] and props["sar:instrument_mode"] == "IW"
        assert props["sar:frequency_band"] == "C"
        assert "sar:looks_equivalent_number" not in props and "sar:product_type" not in props
        # assets: relative hrefs to the product and its quicklook
        data = item["assets"]["data"]
        assert data["href"] == f"../despeckled/{d}.tif"
        assert data["type"] == pystac.MediaType.COG and data["roles"] == ["data"]
        assert (aoi["stac"] / data["href"]).resolve() == tif.resolve()
        ql = item["assets"]["overview"]
        assert ql["roles"] == ["overview"] and (aoi["stac"] / ql["href"]).resolve().is_file()


def test_super_image_items(aoi):
    enl = json.loads((aoi["out"] / "super_image_enl.json").read_text())["enl"]
    first, last = aoi["dates"][0], aoi["dates"][-1]
    for name in ("super_image", "super_image_filtered"):
        item = aoi["items"][f"tiny_{name}"]
        props = item["properties"]
        assert props["datetime"] is None
        assert props["start_datetime"].startswith(f"{first[:4]}-{first[4:6]}-{first[6:]}")
        assert props["end_datetime"].startswith(f"{last[:4]}-{last[4:6]}-{last[6:]}")
        assert (aoi["stac"] / item["assets"]["data"]["href"]).resolve() == (aoi["out"] / f"{name}.tif").resolve()
        assert props["sar:polarizations"] == ["VV"]  # what every date shares
    # the ENL is the super-image's own; the filtered one's is not known
    assert aoi["items"]["tiny_super_image"]["properties"]["sar:looks_equivalent_number"] == pytest.approx(enl)
    assert "sar:looks_equivalent_number" not in aoi["items"]["tiny_super_image_filtered"]["properties"]
    assert "mulog" in aoi["items"]["tiny_super_image_filtered"]["properties"]["processing:lineage"]


def test_the_collection_extent_covers_every_item(aoi):
    extent = aoi["collection"]["extent"]
    (west, south, east, north), = extent["spatial"]["bbox"]
    (start, end), = extent["temporal"]["interval"]
    for item in aoi["items"].values():
        w, s, e, n = item["bbox"]
        assert west <= w and south <= s and e <= east and n <= north
        p = item["properties"]
        assert start <= (p["datetime"] or p["start_datetime"]) and (p["datetime"] or p["end_datetime"]) <= end
    assert start.startswith(f"{aoi['dates'][0][:4]}-") and aoi["collection"]["license"]


def test_the_collection_names_its_processor_and_summarises_its_items(aoi):
    collection = aoi["collection"]
    (provider,) = collection["providers"]
    assert provider["name"] == "mtsar2sar" and provider["roles"] == ["processor"]
    assert "mtsar2sar " in provider["description"]
    summaries = collection["summaries"]
    assert summaries["sar:polarizations"] == ["VV"]
    dated = [i for n, i in aoi["items"].items() if n.removeprefix("tiny_") in aoi["dates"]]
    assert summaries["mtsar2sar:weights"] == sorted({i["properties"]["mtsar2sar:weights"] for i in dated})
    assert summaries["mtsar2sar:quality"] == sorted({i["properties"]["mtsar2sar:quality"] for i in dated})
    assert summaries["proj:code"] == [dated[0]["properties"]["proj:code"]]


def test_the_folder_can_be_moved(aoi, tmp_path):
    moved = tmp_path / "elsewhere" / "tiny"
    shutil.copytree(aoi["out"], moved, ignore=shutil.ignore_patterns("logs", "benchmarks"))
    collection = pystac.Collection.from_file(str(moved / "stac" / "collection.json"))
    items = list(collection.get_items())
    assert len(items) == len(aoi["dates"]) + 2
    for item in items:
        href = Path(item.assets["data"].get_absolute_href())
        assert href.is_file() and moved in href.parents, href
        assert item.get_collection() is not None and item.get_collection().id == "tiny"


def test_unknown_sar_facts_are_left_out(aoi, tmp_path):
    """Without instrument mode and frequency band (required by the SAR extension) no sar: field is written;
    polarizations and bands are read as the spec spells them, anything else is unknown."""
    assert SarFields.from_tags({"polarisation": "vv+vh"}).polarizations == ("VV", "VH")
    assert SarFields.from_tags({"POLARIZATION": "XX"}).polarizations is None
    assert SarFields.from_tags({"radar_band": "ku"}).frequency_band == "Ku"
    assert SarFields.from_tags({"FREQUENCY_BAND": "Q"}).frequency_band is None
    partial = SarFields.from_tags({"POLARIZATION": "VV"})
    assert not partial.complete and SarFields.from_tags(SAR_TAGS).complete
    tif = aoi["out"] / "super_image_filtered.tif"
    item = product_item(Product(path=tif, item_id="x", title="x", lineage="x", start=pystac.utils.str_to_datetime(
        "2024-01-06T00:00:00Z"), end=pystac.utils.str_to_datetime("2024-02-06T00:00:00Z"), sar=partial, enl=3.0),
        {"mtsar2sar": "0"}).to_dict()
    assert not [k for k in item["properties"] if k.startswith("sar:")] and SAR_URI not in item["stac_extensions"]


def test_a_date_key_that_is_no_date_fails_clearly(aoi):
    tif = aoi["out"] / "despeckled" / f"{aoi['dates'][0]}.tif"
    with pytest.raises(InputError, match="'week_3'.*not an ISO 8601 date"):
        aoi_products("tiny", {"week_3": tif}, aoi["out"] / "super_image.tif", aoi["out"] / "super_image_filtered.tif")


@pytest.mark.parametrize("key, expected", [
    ("20240106_VV", "2024-01-06T00:00:00Z"), ("2024-01-06T05:28:12_asc", "2024-01-06T05:28:12Z"),
    ("20240106T052812_x", "2024-01-06T05:28:12Z"), ("2024-01-06", "2024-01-06T00:00:00Z"),
])
def test_a_date_key_with_a_suffix_dates_its_item(aoi, key, expected):
    """Keys that start with the date, year first, as the README allows (e.g. 20240106_VV): the item's
    datetime is that date (the whole key is no ISO 8601 date)."""
    tif = aoi["out"] / "despeckled" / f"{aoi['dates'][0]}.tif"
    products, _ = aoi_products("tiny", {key: tif}, aoi["out"] / "super_image.tif", aoi["out"] / "super_image_filtered.tif")
    assert products[0].acquired == pystac.utils.str_to_datetime(expected)


def test_a_rerun_removes_the_items_of_products_gone(aoi, tmp_path):
    """A date since dropped: its item goes, the collection lists the rest (written atomically, strict JSON)."""
    out = tmp_path / "tiny"
    shutil.copytree(aoi["out"], out, ignore=shutil.ignore_patterns("logs", "benchmarks"))
    kept = {d: out / "despeckled" / f"{d}.tif" for d in aoi["dates"][1:]}
    enl = json.loads((out / "super_image_enl.json").read_text())
    stac_for_aoi("tiny", kept, out / "super_image.tif", out / "super_image_filtered.tif", enl,
                 out / "stac" / "collection.json", {d: out / "quicklooks" / f"{d}.jpg" for d in kept},
                 json.loads((out / "quality.json").read_text()))  # the run's quality scores, on the items
    names = sorted(p.name for p in (out / "stac").iterdir())
    assert names == sorted(["collection.json", *(f"tiny_{d}.json" for d in kept),
                            "tiny_super_image.json", "tiny_super_image_filtered.json"])
    collection = strict_json(out / "stac" / "collection.json")
    assert sum(link["rel"] == "item" for link in collection["links"]) == len(kept) + 2
    # unchanged inputs give the same bytes (no time stamp in the metadata)
    first = (out / "stac" / f"tiny_{aoi['dates'][1]}.json").read_bytes()
    assert first == (aoi["stac"] / f"tiny_{aoi['dates'][1]}.json").read_bytes()
    assert np.isfinite(collection["extent"]["spatial"]["bbox"][0]).all()


def test_products_without_a_crs_give_a_valid_collection(tmp_path):
    """Dates without a CRS: formerly the collection's extent was [[null, null, null, null]] (invalid STAC;
    hostile-input review). The items have no geometry; the collection's extent is the whole Earth."""
    from affine import Affine

    from mtsar2sar.io import Grid
    from mtsar2sar.stac import aoi_collection

    grid = Grid(32, 32, None, Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 5000.0), None)  # a transform, no CRS
    start = datetime(2024, 1, 1, tzinfo=UTC)
    products = []
    for i in range(2):
        p = tmp_path / f"2024010{i + 1}.tif"
        write_float32(p, np.ones((32, 32)), grid)
        products.append(Product(p, f"2024010{i + 1}", "a date", "despeckled", acquired=start + timedelta(days=12 * i)))
    collection = aoi_collection("nocrs", products, {})
    collection.normalize_hrefs(str(tmp_path / "stac"))
    d = collection.to_dict(include_self_link=False)
    assert d["extent"]["spatial"]["bbox"] == [[-180.0, -90.0, 180.0, 90.0]]
    validate(d, CORE["Collection"])
    for item in collection.get_items():
        assert item.geometry is None and item.bbox is None
        validate(item.to_dict(include_self_link=False), CORE["Feature"])


def dated_products(folder: Path) -> list[Product]:
    from conftest import utm_grid

    start = datetime(2024, 1, 6, tzinfo=UTC)
    products = []
    for i in range(2):
        p = folder / f"2024010{i + 6}.tif"
        write_float32(p, np.ones((32, 32)), utm_grid(32, 32))
        products.append(Product(p, f"site_{i}", "a date", "despeckled", acquired=start + timedelta(days=12 * i)))
    return products


def test_the_collection_license_and_its_link(tmp_path):
    """outputs.stac_license (an SPDX identifier, default other: the input data's) and outputs.stac_license_url (a
    link rel license): in the collection as written, which validates against the core schema."""
    from mtsar2sar.stac import aoi_collection, write_collection

    products = dated_products(tmp_path)
    default = aoi_collection("site", products, {}).to_dict(include_self_link=False)
    assert default["license"] == "other" and not [link for link in default["links"] if link["rel"] == "license"]
    assert default["description"].endswith("License: that of the input data.")
    collection = aoi_collection("site", products, {}, "CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/")
    write_collection(collection, tmp_path / "stac" / "collection.json")
    written = strict_json(tmp_path / "stac" / "collection.json")
    validate(written, CORE["Collection"])
    assert written["license"] == "CC-BY-4.0"
    assert [link for link in written["links"] if link["rel"] == "license"] == [
        {"rel": "license", "href": "https://creativecommons.org/licenses/by/4.0/", "title": "license: CC-BY-4.0"}]
    assert written["description"].endswith("License: CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/).")
    other = aoi_collection("site", products, {}, "other", "https://example.org/data-terms").to_dict(include_self_link=False)
    assert other["license"] == "other" and other["description"].endswith(
        "License: that of the input data (https://example.org/data-terms).")


@pytest.mark.parametrize("license, url, message", [
    ("CC BY 4.0", None, ("outputs.stac_license: 'CC BY 4.0' is not a license identifier: give the SPDX identifier of"
                        " the input data's license (e.g. CC-BY-4.0), or other (with outputs.stac_license_url)")),
    ("", None, "outputs.stac_license: '' is not a license identifier"),
    ("other", "LICENSE.txt", "outputs.stac_license_url: 'LICENSE.txt' is not an http(s) URL of the license's text"),
])
def test_a_bad_license_setting_is_named(tmp_path, license, url, message):
    from mtsar2sar.stac import aoi_collection

    with pytest.raises(InputError, match=re.escape(message)):
        aoi_collection("site", dated_products(tmp_path), {}, license, url)
    with pytest.raises(InputError, match=re.escape(message)):  # before any product is read
        stac_for_aoi("site", {}, tmp_path / "none.tif", tmp_path / "none.tif", None, tmp_path / "c.json",
                     license=license, license_url=url)


def test_the_license_settings_in_the_schema():
    from mtsar2sar.config import config_errors, defaults, schema

    assert defaults("outputs")["stac_license"] == "other" and "stac_license_url" not in defaults("outputs")
    aois = {"x": {"inputs": "data/*.tif"}}
    good = {"stac_license": "CC-BY-4.0", "stac_license_url": "https://creativecommons.org/licenses/by/4.0/"}
    assert config_errors({"aois": aois, "outputs": good}, schema()) == []
    errors = config_errors({"aois": aois, "outputs": {"stac_license": "CC BY", "stac_license_url": "LICENSE"}}, schema())
    assert [e.split(":")[1].strip() for e in errors] == ["outputs.stac_license", "outputs.stac_license_url"], errors
