"""STAC metadata of an AOI's products: one Item per product raster, one Collection per AOI.

``results/{aoi}/stac/collection.json`` and its items beside it (``{item id}.json``), every link and asset
href relative (a self-contained catalog: the AOI's folder can be moved or published as it is). Each value
comes from the products themselves (their tags, grid and description) or the AOI's reports; what is not
known (e.g. the SAR instrument mode of a stack whose files do not say it) is left out, never guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac
from affine import Affine
from dateutil.parser import isoparse
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.sar import FrequencyBand, Polarization, SarExtension
from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform

from mtsar2sar.errors import InputError
from mtsar2sar.io import open_raster, write_json
from mtsar2sar.logs import log

PROCESSING_SCHEMA_URI = "https://stac-extensions.github.io/processing/v1.1.0/schema.json"
PREFIX = "mtsar2sar:"  # this workflow's own fields (no STAC extension has them)
# The collection's license (outputs.stac_license): an SPDX identifier, or "other" (STAC 1.1's pattern of the field)
LICENSE = re.compile(r"^[\w\-.+]+$")
LICENSE_URL = re.compile(r"^https?://\S+$")

# Dataset tags of an input date (carried to its despeckled product) read for the SAR fields, by name in
# any case; the first one present wins. POLARIZATION is what e.g. the OPERA RTC-S1 files carry.
DATE_TAGS = ("ACQUISITION_DATETIME", "ACQUISITION_DATE")
POLARIZATION_TAGS = ("POLARIZATIONS", "POLARIZATION", "POLARISATIONS", "POLARISATION")
INSTRUMENT_MODE_TAGS = ("INSTRUMENT_MODE", "BEAM_MODE", "ACQUISITION_MODE")
FREQUENCY_BAND_TAGS = ("FREQUENCY_BAND", "RADAR_BAND")
PRODUCT_TYPE_TAGS = ("PRODUCT_TYPE",)


def _tag(tags: Mapping[str, str], names: Sequence[str]) -> str | None:
    upper = {k.upper(): v.strip() for k, v in tags.items()}
    return next((upper[n] for n in names if upper.get(n)), None)


def parse_datetime(text: str) -> datetime:
    """A date key or tag (``20240106``, ``2024-01-06``, ``20240106T052812``, ISO 8601) as a UTC datetime."""
    try:
        value = isoparse(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date (e.g. 20240106 or 2024-01-06)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class SarFields:
    """The SAR facts of a product known from its tags (None: unknown, left out)."""

    polarizations: tuple[str, ...] | None = None
    instrument_mode: str | None = None
    frequency_band: str | None = None
    product_type: str | None = None

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> SarFields:
        pols = _tag(tags, POLARIZATION_TAGS)
        pol_list = tuple(dict.fromkeys(p.upper() for p in re.split(r"[\s,;/+]+", pols) if p)) if pols else ()
        band = _tag(tags, FREQUENCY_BAND_TAGS)
        bands = {b.value.upper(): b.value for b in FrequencyBand}
        return cls(
            polarizations=pol_list if pol_list and all(p in Polarization.__members__ for p in pol_list) else None,
            instrument_mode=_tag(tags, INSTRUMENT_MODE_TAGS),
            frequency_band=bands.get(band.upper()) if band else None,
            product_type=_tag(tags, PRODUCT_TYPE_TAGS),
        )

    @classmethod
    def common(cls, fields: Iterable[SarFields]) -> SarFields:
        """The facts every one of ``fields`` shares (a super-image is of the dates' polarization...)."""
        fields = list(fields)

        def same(name: str) -> Any:
            values = {getattr(f, name) for f in fields}
            return values.pop() if len(values) == 1 else None

        return cls(*(same(n) for n in ("polarizations", "instrument_mode", "frequency_band", "product_type")))

    @property
    def complete(self) -> bool:
        """Whether the SAR extension can be declared: it requires instrument mode, frequency band and
        polarizations (sar v1.0.0); without them no ``sar:`` field is written."""
        return bool(self.polarizations and self.instrument_mode and self.frequency_band)


@dataclass(frozen=True)
class Product:
    """One product raster and what its item says besides what the raster itself holds."""

    path: Path
    item_id: str
    title: str
    lineage: str
    acquired: datetime | None = None  # the item's datetime; else start/end (a super-image of several dates)
    start: datetime | None = None
    end: datetime | None = None
    sar: SarFields = SarFields()
    enl: float | None = None  # the product's own equivalent number of looks, when known
    properties: Mapping[str, Any] | None = None
    overview: Path | None = None  # a JPEG quicklook, an asset with role "overview"


def footprint(crs: CRS, transform: Affine, height: int, width: int,
              points_per_side: int = 9) -> tuple[dict[str, Any], list[float]]:
    """A grid's outline in WGS84 (a GeoJSON Polygon, counterclockwise, its edges densified so that the
    curved outline of a projected grid is followed) and its bbox [west, south, east, north]."""
    n = points_per_side - 1
    # the outline in pixel corners (col, row): top-left, down the left side, along the bottom, up the right
    h, w = float(height), float(width)
    pixels = ([(0.0, h * i / n) for i in range(n)] + [(w * i / n, h) for i in range(n)]
              + [(w, h * (n - i) / n) for i in range(n)] + [(w * (n - i) / n, 0.0) for i in range(n)])
    t = transform
    xs = [t.a * c + t.b * r + t.c for c, r in pixels]
    ys = [t.d * c + t.e * r + t.f for c, r in pixels]
    lons, lats = warp_transform(crs, "EPSG:4326", xs, ys)
    ring = [[float(x), float(y)] for x, y in zip(lons, lats, strict=True)]
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))
    if area < 0:  # GeoJSON (RFC 7946): the exterior ring counterclockwise
        ring.reverse()
    ring.append(ring[0])
    bbox = [float(min(lons)), float(min(lats)), float(max(lons)), float(max(lats))]
    return {"type": "Polygon", "coordinates": [ring]}, bbox


def software_versions(tags: Mapping[str, str]) -> dict[str, str]:
    """``processing:software`` from a product's ``software`` tag (``mtsar2sar 0.1.0``), else this version."""
    text = tags.get("software")
    if not text:
        from mtsar2sar.provenance import software_version

        text = software_version()
    name, _, version = text.strip().rpartition(" ")
    return {name: version} if name else {text: "unknown"}


def product_item(product: Product, software: Mapping[str, str]) -> pystac.Item:
    """The STAC Item of one product: its footprint, datetime, projection, SAR and processing facts, and the
    raster (and its quicklook) as assets with absolute hrefs (made relative when written)."""
    with open_raster(product.path) as ds:
        crs, transform, h, w = ds.crs, ds.transform, ds.height, ds.width
    # a raster without a CRS has no footprint on the Earth: no geometry, no bbox (allowed by STAC)
    geometry, bbox = footprint(crs, transform, h, w) if crs is not None else (None, None)
    item = pystac.Item(
        id=product.item_id, geometry=geometry, bbox=bbox, datetime=product.acquired,
        start_datetime=product.start, end_datetime=product.end,
        properties={"title": product.title, **dict(product.properties or {})},
    )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    code = crs.to_epsg() if crs is not None else None
    proj.apply(code=f"EPSG:{code}" if code else None, wkt2=None if code or crs is None else crs.to_wkt(),
               shape=[h, w], transform=[float(v) for v in tuple(transform)[:6]])
    known = product.sar
    if known.instrument_mode and known.frequency_band and known.polarizations:  # known.complete
        sar = SarExtension.ext(item, add_if_missing=True)
        sar.instrument_mode = known.instrument_mode
        sar.frequency_band = FrequencyBand(known.frequency_band)
        sar.polarizations = [Polarization(p) for p in known.polarizations]
        if known.product_type:
            sar.product_type = known.product_type
        if product.enl is not None:
            sar.looks_equivalent_number = float(product.enl)
    item.stac_extensions.append(PROCESSING_SCHEMA_URI)
    item.properties["processing:software"] = dict(software)
    item.properties["processing:lineage"] = product.lineage
    item.add_asset("data", pystac.Asset(
        href=str(product.path.resolve()), title=product.title, media_type=pystac.MediaType.COG, roles=["data"]))
    if product.overview is not None:
        item.add_asset("overview", pystac.Asset(
            href=str(product.overview.resolve()), title="noisy and despeckled side by side, dB",
            media_type=pystac.MediaType.JPEG, roles=["overview"]))
    return item


def _tags_and_description(path: Path) -> tuple[dict[str, str], str]:
    with open_raster(path) as ds:
        return {str(k): str(v) for k, v in ds.tags().items()}, ds.descriptions[0] or ""


# The date (and time) a key starts with: ``20240106_VV``, ``2024-01-06T05:28:12_asc`` (mtsar2sar.stack)
KEY_DATETIME = re.compile(r"\d{4}(-?)\d{2}\1\d{2}(?:T\d{2}(:?)\d{2}(?:\2\d{2})?)?")


def _date_of(key: str, tags: Mapping[str, str], path: Path) -> datetime:
    tagged = _tag(tags, DATE_TAGS)
    leading = KEY_DATETIME.match(key)
    for text in ([tagged] if tagged else []) + [key] + ([leading.group(0)] if leading else []):
        try:
            return parse_datetime(text)
        except ValueError:
            continue
    raise InputError(f"{path}: no acquisition date for its STAC item: the date key {key!r} is not an ISO 8601"
                     f" date (e.g. 20240106; set date_regex to capture one) and it has no {DATE_TAGS[-1]} tag")


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


# The scores of a date's quality (mtsar2sar.quality) carried by its STAC item, as mtsar2sar:quality_<name>.
QUALITY_PROPERTIES = ("ratio_mean", "ratio_enl", "reference_looks", "m_index", "edge_correlation", "change_slope",
                      "invalid_fraction")


def quality_properties(quality: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Date key -> the STAC properties of its quality: the verdict's status and line, and the finite scores."""
    out: dict[str, dict[str, Any]] = {}
    for d in (quality or {}).get("dates", []):
        props: dict[str, Any] = {f"{PREFIX}quality": d["verdict"]["status"], f"{PREFIX}quality_line": d["verdict"]["line"]}
        for name in QUALITY_PROPERTIES:
            value = d.get(name)
            if isinstance(value, int | float) and math.isfinite(value):
                props[f"{PREFIX}quality_{name}"] = float(value)
        out[str(d["date"])] = props
    return out


def aoi_products(
    aoi: str,
    despeckled: Mapping[str, str | Path],
    super_image: str | Path,
    super_image_filtered: str | Path,
    enl_report: Mapping[str, Any] | None = None,
    quicklooks: Mapping[str, str | Path] | None = None,
    quality: Mapping[str, Any] | None = None,
) -> tuple[list[Product], dict[str, str]]:
    """The products of an AOI (date key -> despeckled file, the two super-images, the super-image's ENL
    report) as :class:`Product` s, and the software that made them. ``quality``: the AOI's quality report
    (``quality.json``), whose scores and verdict of each date become properties of its item."""
    quicklooks = quicklooks or {}
    scores = quality_properties(quality)
    products: list[Product] = []
    dated: dict[str, datetime] = {}
    sars: list[SarFields] = []
    software: dict[str, str] = {}
    super_tags, super_description = _tags_and_description(Path(super_image))
    mean_dates = [d for d in super_tags.get("dates", "").split(",") if d]
    for key, file in despeckled.items():
        path = Path(file)
        tags, description = _tags_and_description(path)
        sars.append(SarFields.from_tags(tags))
        software = software or software_versions(tags)
        dated[key] = _date_of(key, tags, path)
        weights, sha256 = tags.get("weights"), tags.get("weights_sha256")
        network = "the SAR2SAR network" + (f" (weights {weights}, sha256 {sha256})" if weights and sha256 else "")
        lineage = (
            f"{description or 'despeckled intensity'}: the ratio of the date"
            + (f" ({Path(tags['source']).name})" if tags.get("source") else "")
            + f" to the normalized filtered super-image (temporal mean of {len(mean_dates) or 'the'} dates"
            + (f", ENL {tags['super_image_enl']}" if tags.get("super_image_enl") else "")
            + f"), despeckled by {network}, times the normalized super-image"
            + (f"; {tags['units']}" if tags.get("units") else "")
        )
        properties = {
            f"{PREFIX}weights": weights,
            f"{PREFIX}weights_sha256": sha256,
            f"{PREFIX}super_image_enl": _float(tags.get("super_image_enl")),
            f"{PREFIX}input_looks": _float(tags.get("looks")),
            **scores.get(key, {}),
        }
        ql = quicklooks.get(key)
        products.append(Product(
            path=path, item_id=f"{aoi}_{key}", title=f"{aoi} {key} despeckled", lineage=lineage,
            acquired=dated[key], sar=sars[-1], properties={k: v for k, v in properties.items() if v is not None},
            overview=Path(ql) if ql else None,
        ))
    # the super-images span the dates of their mean (their tag; e.g. the reference period when monitoring)
    dates = [dated.get(d) or _date_of(d, {}, Path(super_image)) for d in mean_dates] or list(dated.values())
    start, end = (min(dates), max(dates)) if dates else (None, None)
    common = SarFields.common(sars) if sars else SarFields()
    enl = _float(str(enl_report["enl"])) if enl_report and enl_report.get("enl") is not None else None
    n = len(mean_dates) or len(products)
    products.append(Product(
        path=Path(super_image), item_id=f"{aoi}_super_image", title=f"{aoi} super-image",
        lineage=f"{super_description or 'temporal mean'} of {n} co-registered dates", start=start, end=end,
        sar=common, enl=enl,
        properties={f"{PREFIX}super_image_enl": enl} if enl is not None else {},
    ))
    _, filtered_description = _tags_and_description(Path(super_image_filtered))
    products.append(Product(
        path=Path(super_image_filtered), item_id=f"{aoi}_super_image_filtered", title=f"{aoi} filtered super-image",
        lineage=f"{filtered_description or 'super-image filtered'}: the super-image (temporal mean of {n} dates"
                + (f", ENL {enl:g}, the L of the filter)" if enl is not None else ")"),
        start=start, end=end, sar=common,
    ))
    return products, software or software_versions({})


def check_license(license: str, license_url: str | None = None) -> None:
    """``outputs.stac_license`` is an SPDX identifier or ``other``, ``outputs.stac_license_url`` an http(s) URL;
    else an error naming the setting."""
    if not isinstance(license, str) or not LICENSE.fullmatch(license):
        raise InputError(f"outputs.stac_license: {license!r} is not a license identifier: give the SPDX identifier of"
                         " the input data's license (e.g. CC-BY-4.0), or other (with outputs.stac_license_url)")
    if license_url is not None and (not isinstance(license_url, str) or not LICENSE_URL.fullmatch(license_url)):
        raise InputError(f"outputs.stac_license_url: {license_url!r} is not an http(s) URL of the license's text")


def aoi_collection(aoi: str, products: Sequence[Product], software: Mapping[str, str], license: str = "other",
                   license_url: str | None = None) -> pystac.Collection:
    """The AOI's Collection with one Item per product; its extent covers every item. ``license``: the
    collection's license (an SPDX identifier, or ``other``: that of the input data); ``license_url``: a link
    (rel ``license``) to its text."""
    check_license(license, license_url)
    items = [product_item(p, software) for p in products]
    extent = pystac.Extent.from_items(items)
    if not any(item.bbox for item in items):
        # rasters without a CRS have no footprint: the spatial extent (required) is the whole Earth, said so
        log.warning("STAC: the products of %s have no CRS: no footprint; the collection's extent is the whole Earth", aoi)
        extent = pystac.Extent(pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]), extent.temporal)
    collection = pystac.Collection(
        id=aoi,
        title=f"mtsar2sar products of {aoi}",
        description=(f"Multi-temporal despeckling of the SAR stack {aoi} (mtsar2sar): one despeckled intensity"
                     " per date, the super-image (temporal mean of the dates) and the filtered super-image."
                     " Cloud-Optimized GeoTIFFs on the input grid. License: "
                     + ("that of the input data" if license == "other" else license)
                     + (f" ({license_url})." if license_url else ".")),
        extent=extent,
        license=license,
        catalog_type=pystac.CatalogType.SELF_CONTAINED,
        providers=[pystac.Provider(
            name="mtsar2sar", roles=[pystac.ProviderRole.PROCESSOR],
            description=f"multi-temporal despeckling ({', '.join(f'{k} {v}' for k, v in software.items()) or 'mtsar2sar'})",
        )],
        summaries=collection_summaries(items),
    )
    if license_url:
        collection.add_link(pystac.Link(rel=pystac.RelType.LICENSE, target=license_url, title=f"license: {license}"))
    collection.add_items(items)
    return collection


# The item properties the collection summarises (the distinct values over its items), when they have any.
SUMMARISED = ("sar:instrument_mode", "sar:frequency_band", "sar:polarizations", "sar:product_type", "proj:code",
              f"{PREFIX}weights", f"{PREFIX}input_looks", f"{PREFIX}quality")


def collection_summaries(items: Sequence[pystac.Item]) -> pystac.Summaries:
    """The distinct values of :data:`SUMMARISED` over the items (a list each; polarizations flattened)."""
    summaries: dict[str, list[Any]] = {}
    for name in SUMMARISED:
        values: list[Any] = []
        for item in items:
            value = item.properties.get(name)
            for v in value if isinstance(value, list) else [value]:
                if v is not None and v not in values:
                    values.append(v)
        if values:
            summaries[name] = sorted(values, key=str)
    return pystac.Summaries(summaries)


def write_collection(collection: pystac.Collection, out: str | Path) -> list[Path]:
    """Write the collection to ``out`` and its items beside it (``{id}.json``), each atomically, items
    first (``out`` is the last written: its presence means a complete catalog), with relative hrefs; stale
    item files of an earlier run (e.g. a date since dropped) are removed. Returns the files written."""
    out = Path(out).resolve()
    folder = out.parent
    folder.mkdir(parents=True, exist_ok=True)
    collection.set_self_href(str(out))
    written = []
    for item in collection.get_items():
        item.set_self_href(str(folder / f"{item.id}.json"))
        item.make_asset_hrefs_relative()
        path = folder / f"{item.id}.json"
        write_json(path, item.to_dict(include_self_link=False, transform_hrefs=True))
        written.append(path)
    for stale in sorted(set(folder.glob("*.json")) - set(written) - {out}):
        log.warning("removed %s: not a product of this run", stale)
        stale.unlink()
    write_json(out, collection.to_dict(include_self_link=False, transform_hrefs=True))
    return [*written, out]


def stac_for_aoi(
    aoi: str,
    despeckled: Mapping[str, str | Path],
    super_image: str | Path,
    super_image_filtered: str | Path,
    enl_report: Mapping[str, Any] | None,
    out: str | Path,
    quicklooks: Mapping[str, str | Path] | None = None,
    quality: Mapping[str, Any] | None = None,
    license: str = "other",
    license_url: str | None = None,
) -> pystac.Collection:
    """Build and write the AOI's STAC collection (see :func:`aoi_products`, :func:`aoi_collection` for
    ``license`` and ``license_url``, :func:`write_collection`)."""
    check_license(license, license_url)  # before any product is read
    products, software = aoi_products(aoi, despeckled, super_image, super_image_filtered, enl_report, quicklooks,
                                      quality)
    collection = aoi_collection(aoi, products, software, license, license_url)
    files = write_collection(collection, out)
    log.info("STAC collection %s: %d items beside it", out, len(files) - 1)
    return collection
