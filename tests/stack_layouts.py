"""Small stacks written as the common sources publish them (for the tests of mtsar2sar.dates and layouts).

- OPERA RTC-S1 (opera-adt/RTC, h5_prep: the GeoTIFF's tags are the HDF5 metadata's names, upper-cased, with
  upper-cased text values): OPERA_L2_RTC-S1_<burst>_<acquired>Z_<processed>Z_<S1A>_30_v1.0_<pol>.tif, with
  its _mask.tif; tags ZERO_DOPPLER_START_TIME, PROCESSING_DATETIME (a later day), PLATFORM...
- ASF HyP3 RTC (hyp3-docs, RTC product guide): <product>/<product>_<pol>.tif, _ls_map.tif, README; no tags.
- ESA SNAP BEAM-DIMAP: <product>.dim and <product>.data/<band>.img (ENVI); a co-registered stack's bands
  named <band>_mst_06Jan2024 / <band>_slv1_18Jan2024; the .dim holds PRODUCT_SCENE_RASTER_START_TIME and the
  abstracted metadata (first_line_time, azimuth_looks, range_looks). A SNAP GeoTIFF holds the same XML in
  TIFF tag 65000.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import rasterio

from mtsar2sar.io import Grid

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def when(key: str) -> datetime:
    """The acquisition time of a date key (YYYYMMDD) in these stacks: 05:50:00.123456."""
    return datetime.strptime(key, "%Y%m%d") + timedelta(hours=5, minutes=50, microseconds=123456)


def snap_time(t: datetime) -> str:
    """SNAP's UTC text: 06-JAN-2024 05:50:00.123456."""
    return f"{t.day:02d}-{MONTHS[t.month - 1]}-{t.year} {t:%H:%M:%S}.{t.microsecond:06d}"


def write_raster(path: Path, array: np.ndarray, grid: Grid, tags: dict[str, str] | None = None,
                 driver: str = "GTiff", dtype: str = "float32") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver=driver, width=grid.width, height=grid.height, count=1, dtype=dtype,
                       crs=grid.crs, transform=grid.transform) as dst:
        dst.write(array.astype(dtype), 1)
        if tags:
            dst.update_tags(**tags)
    return path


def opera_stack(folder: Path, dates: dict[str, np.ndarray], grid: Grid, pol: str = "VV") -> dict[str, Path]:
    out = {}
    for key, img in dates.items():
        t = when(key)
        processed = t + timedelta(days=3, hours=2)
        name = f"OPERA_L2_RTC-S1_T069-147170-IW1_{t:%Y%m%dT%H%M%S}Z_{processed:%Y%m%dT%H%M%S}Z_S1A_30_v1.0"
        tags = {"ZERO_DOPPLER_START_TIME": f"{t:%Y-%m-%dT%H:%M:%S.%f}Z",
                "ZERO_DOPPLER_END_TIME": f"{t + timedelta(seconds=3):%Y-%m-%dT%H:%M:%S.%f}Z",
                "PROCESSING_DATETIME": f"{processed:%Y-%m-%dT%H:%M:%S.%f}Z", "PLATFORM": "SENTINEL-1A",
                "TRACK_NUMBER": "69", "BURST_ID": "T069-147170-IW1", "PRODUCT_TYPE": "RTC_S1", "PROJECT": "OPERA",
                "ORBIT_PASS_DIRECTION": "ASCENDING", "PRODUCT_VERSION": "1.0"}
        for p in (pol, "VH" if pol == "VV" else "VV"):
            f = write_raster(folder / f"{name}_{p}.tif", img if p == pol else img * 0.2, grid, tags)
            if p == pol:
                out[key] = f
        write_raster(folder / f"{name}_mask.tif", np.zeros(grid.shape), grid, tags, dtype="uint8")
    return out


def hyp3_stack(folder: Path, dates: dict[str, np.ndarray], grid: Grid, pol: str = "VV", resolution: int = 10,
               scale: str = "p") -> dict[str, Path]:
    out = {}
    for i, (key, img) in enumerate(dates.items()):
        product = f"S1A_IW_{when(key):%Y%m%dT%H%M%S}_DVP_RTC{resolution}_G_g{scale}uned_{0xA0B0 + i:04X}"
        d = folder / product
        values = np.sqrt(img) if scale == "a" else img
        out[key] = write_raster(d / f"{product}_{pol}.tif", values, grid, {"AREA_OR_POINT": "Area"})
        write_raster(d / f"{product}_VH.tif", values * 0.2, grid, {"AREA_OR_POINT": "Area"})
        write_raster(d / f"{product}_ls_map.tif", np.ones(grid.shape), grid, dtype="uint8")
        (d / f"{product}.README.md.txt").write_text("ASF RTC Data Package (GAMMA)\n")
    return out


def dimap_xml(name: str, start: datetime, azimuth_looks: float = 1.0, range_looks: float = 5.0,
              bands: tuple[str, ...] = ("Sigma0_VV",)) -> str:
    """A BEAM-DIMAP document as SNAP writes it (the parts read: Production, Abstracted_Metadata)."""
    band_info = "".join(f"""
        <Spectral_Band_Info>
            <BAND_INDEX>{i}</BAND_INDEX>
            <BAND_NAME>{b}</BAND_NAME>
            <DATA_TYPE>float32</DATA_TYPE>
            <PHYSICAL_UNIT>intensity</PHYSICAL_UNIT>
            <NO_DATA_VALUE_USED>true</NO_DATA_VALUE_USED>
            <NO_DATA_VALUE>0.0</NO_DATA_VALUE>
        </Spectral_Band_Info>""" for i, b in enumerate(bands))
    return f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<Dimap_Document name="{name}.dim">
    <Metadata_Id>
        <METADATA_FORMAT version="2.12.1">DIMAP</METADATA_FORMAT>
    </Metadata_Id>
    <Dataset_Id>
        <DATASET_SERIES>BEAM-PRODUCT</DATASET_SERIES>
        <DATASET_NAME>{name}</DATASET_NAME>
    </Dataset_Id>
    <Production>
        <DATASET_PRODUCER_NAME />
        <PRODUCT_TYPE>GRD</PRODUCT_TYPE>
        <PRODUCT_SCENE_RASTER_START_TIME>{snap_time(start)}</PRODUCT_SCENE_RASTER_START_TIME>
        <PRODUCT_SCENE_RASTER_STOP_TIME>{snap_time(start + timedelta(seconds=25))}</PRODUCT_SCENE_RASTER_STOP_TIME>
    </Production>
    <Image_Interpretation>{band_info}
    </Image_Interpretation>
    <Dataset_Sources>
        <MDElem name="metadata">
            <MDElem name="Abstracted_Metadata">
                <MDATTR name="PRODUCT" type="ascii">{name}</MDATTR>
                <MDATTR name="MISSION" type="ascii">SENTINEL-1A</MDATTR>
                <MDATTR name="first_line_time" type="utc" unit="utc">{snap_time(start)}</MDATTR>
                <MDATTR name="last_line_time" type="utc" unit="utc">{snap_time(start + timedelta(seconds=25))}</MDATTR>
                <MDATTR name="range_looks" type="float64">{range_looks}</MDATTR>
                <MDATTR name="azimuth_looks" type="float64">{azimuth_looks}</MDATTR>
            </MDElem>
        </MDElem>
    </Dataset_Sources>
</Dimap_Document>
"""


def snap_name(key: str) -> str:
    t = when(key)
    return (f"S1A_IW_GRDH_1SDV_{t:%Y%m%dT%H%M%S}_{t + timedelta(seconds=25):%Y%m%dT%H%M%S}_051960_0646A8_1234"
            "_Orb_Cal_TC")


def snap_products(folder: Path, dates: dict[str, np.ndarray], grid: Grid) -> dict[str, Path]:
    """A BEAM-DIMAP product per date: <name>.dim, <name>.data/Sigma0_VV.img (+ .hdr) and Sigma0_VH.img."""
    out = {}
    for key, img in dates.items():
        name = snap_name(key)
        (folder / f"{name}.dim").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.dim").write_text(dimap_xml(name, when(key), bands=("Sigma0_VV", "Sigma0_VH")))
        out[key] = write_raster(folder / f"{name}.data" / "Sigma0_VV.img", img, grid, driver="ENVI")
        write_raster(folder / f"{name}.data" / "Sigma0_VH.img", img * 0.2, grid, driver="ENVI")
        (folder / f"{name}.data" / "vector_data").mkdir()
    return out


def snap_stack(folder: Path, dates: dict[str, np.ndarray], grid: Grid) -> dict[str, Path]:
    """A co-registered SNAP stack: stack.dim (the master's time) and stack.data/Sigma0_VV_mst_06Jan2024.img,
    Sigma0_VV_slv1_18Jan2024.img, ..."""
    out = {}
    bands = []
    for i, (key, img) in enumerate(dates.items()):
        role = "mst" if i == 0 else f"slv{i}"
        band = f"Sigma0_VV_{role}_{when(key):%d%b%Y}"
        bands.append(band)
        out[key] = write_raster(folder / "stack.data" / f"{band}.img", img, grid, driver="ENVI")
    first = when(next(iter(dates)))
    (folder / "stack.dim").write_text(dimap_xml("stack", first, bands=tuple(bands)))
    return out


def snap_geotiff(path: Path, img: np.ndarray, grid: Grid, xml: str) -> Path:
    """A GeoTIFF with SNAP's DIMAP XML in TIFF tag 65000 (SNAP's GeoTIFF writer), georeferenced by the
    GeoTIFF tags of ``grid`` (a UTM CRS given by its EPSG code); ``img`` of (bands, height, width): a band each."""
    import tifffile

    t = grid.transform
    epsg = grid.crs.to_epsg()
    geokeys = (1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, epsg, 3076, 0, 1, 9001)
    extratags = [(33550, "d", 3, (t.a, -t.e, 0.0)), (33922, "d", 6, (0.0, 0.0, 0.0, t.c, t.f, 0.0)),
                 (34735, "H", len(geokeys), geokeys), (65000, "s", 0, xml)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, img.astype("float32"), extratags=extratags, photometric="minisblack",
                     **({"planarconfig": "separate"} if img.ndim == 3 else {}))
    return path


def undated_tagged(folder: Path, dates: dict[str, np.ndarray], grid: Grid, tag: str = "ACQUISITION_START_TIME",
                   prefix: str = "img_") -> dict[str, Path]:
    """Files named img_01.tif, img_02.tif... (no date), each date in the tag ``tag``."""
    out = {}
    for i, (key, img) in enumerate(dates.items()):
        t = when(key)
        value = f"{t:%Y:%m:%d %H:%M:%S}" if tag == "TIFFTAG_DATETIME" else f"{t:%Y-%m-%dT%H:%M:%S.%f}Z"
        out[key] = write_raster(folder / f"{prefix}{i + 1:02d}.tif", img, grid, {tag: value})
    return out


def multiband(path: Path, dates: dict[str, np.ndarray], grid: Grid, descriptions: list[str] | None = None,
              band_tags: list[dict[str, str]] | None = None, driver: str = "GTiff") -> Path:
    """One raster of a band per date (in the order of ``dates``): band descriptions and band-level tags as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver=driver, width=grid.width, height=grid.height, count=len(dates),
                       dtype="float32", crs=grid.crs, transform=grid.transform, nodata=grid.nodata) as dst:
        for b, img in enumerate(dates.values(), start=1):
            dst.write(img.astype("float32"), b)
            if descriptions:
                dst.set_band_description(b, descriptions[b - 1])
            if band_tags:
                dst.update_tags(b, **band_tags[b - 1])
    return path


def snap_band(key: str, role: str = "VV") -> str:
    """A SNAP stack's band name: Sigma0_VV_06Jan2024."""
    return f"Sigma0_{role}_{when(key):%d%b%Y}"


def vrt_stack(path: Path, files: list[Path], descriptions: list[str] | None = None) -> Path:
    """A VRT of a band per file (as gdalbuildvrt -separate writes), with band descriptions as given."""
    with rasterio.open(files[0]) as ds:
        h, w, crs, gt = ds.height, ds.width, ds.crs, ds.transform.to_gdal()
    bands = "".join(f"""
  <VRTRasterBand dataType="Float32" band="{b}">{f'''
    <Description>{descriptions[b - 1]}</Description>''' if descriptions else ''}
    <SimpleSource>
      <SourceFilename relativeToVRT="1">{f.name}</SourceFilename>
      <SourceBand>1</SourceBand>
    </SimpleSource>
  </VRTRasterBand>""" for b, f in enumerate(files, start=1))
    path.write_text(f"""<VRTDataset rasterXSize="{w}" rasterYSize="{h}">
  <SRS>{crs.to_wkt()}</SRS>
  <GeoTransform>{', '.join(repr(float(v)) for v in gt)}</GeoTransform>{bands}
</VRTDataset>
""")
    return path


def snap_geotiff_stack(path: Path, dates: dict[str, np.ndarray], grid: Grid) -> Path:
    """SNAP's GeoTIFF export of a co-registered stack: a band per date, no band description, the bands' names
    (Sigma0_VV_mst_06Jan2024, ..._slv1_18Jan2024) in the DIMAP XML of TIFF tag 65000."""
    keys = list(dates)
    bands = tuple(f"Sigma0_VV_{'mst' if i == 0 else f'slv{i}'}_{when(k):%d%b%Y}" for i, k in enumerate(keys))
    data = np.stack([dates[k] for k in keys])
    return snap_geotiff(path, data, grid, dimap_xml("stack", when(keys[0]), bands=bands))
