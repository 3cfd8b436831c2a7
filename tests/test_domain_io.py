"""Radiometric domains, validity masks, and GeoTIFF I/O (georeferencing kept, atomic writes)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from conftest import assert_cog, raster_meta, utm_grid

from mtsar2sar.domain import amplitude_to_intensity, intensity_to_amplitude, to_intensity
from mtsar2sar.errors import InputError
from mtsar2sar.io import atomic_directory, atomic_path, open_writer, read_intensity, read_product, write_float32


def test_domain_conversions():
    a = np.array([0.5, 2.0, 3.0])
    np.testing.assert_allclose(to_intensity(a, "amplitude"), a**2)
    np.testing.assert_allclose(to_intensity(a, "intensity"), a)
    z = np.array([3 + 4j, 1 - 1j], dtype=np.complex64)
    np.testing.assert_allclose(to_intensity(z, "complex"), [25.0, 2.0])
    np.testing.assert_allclose(amplitude_to_intensity(intensity_to_amplitude(a)), a)


def test_complex_declared_as_intensity_and_reverse():
    with pytest.raises(ValueError, match="complex"):
        to_intensity(np.array([1 + 1j]), "intensity")
    with pytest.raises(ValueError, match="real-valued"):
        to_intensity(np.array([1.0]), "complex")


def test_streamed_product_is_a_cog_with_overviews_tags_and_nodata(tmp_path):
    grid = utm_grid(1100, 1300)  # no nodata: NaN
    img = np.random.default_rng(1).gamma(1, 1, grid.shape).astype(np.float32)
    img[5:9, 700:710] = np.nan
    p = tmp_path / "big.tif"
    with open_writer(p, grid, "despeckled intensity", {"POLARIZATION": "VV", "units": "linear"}) as dst:
        for r0 in range(0, grid.height, 256):  # streamed by bands of rows, as the workflow does
            dst.write(img[r0:r0 + 256], r0)
    meta = raster_meta(p)
    assert_cog(meta)
    assert len(meta["overviews"]) >= 1 and meta["overviews"][0] == 2
    assert meta["crs"] == grid.crs and meta["transform"] == grid.transform and np.isnan(meta["nodata"])
    assert meta["description"] == "despeckled intensity"
    assert meta["tags"]["POLARIZATION"] == "VV" and meta["tags"]["units"] == "linear"
    back, _ = read_product(p)
    np.testing.assert_array_equal(back, img)  # lossless, NaN kept
    with rasterio.open(p, OVERVIEW_LEVEL=0) as ov:  # the first overview averages 2 x 2 pixels
        assert ov.shape == (550, 650)
        np.testing.assert_allclose(ov.read(1)[100, 100], img[200:202, 200:202].mean(), rtol=1e-5)
    assert not list(tmp_path.glob(".*"))


def test_write_keeps_georeferencing_and_is_tiled(tmp_path):
    grid = utm_grid(40, 70, nodata=-9999.0)
    img = np.random.default_rng(0).gamma(1, 1, grid.shape).astype(np.float32)
    img[3, 4] = np.nan
    p = tmp_path / "a.tif"
    write_float32(p, img, grid)
    meta = raster_meta(p)
    assert meta["crs"] == grid.crs and meta["transform"] == grid.transform and meta["shape"] == (40, 70)
    assert meta["nodata"] == -9999.0 and meta["dtype"] == "float32" and meta["tiled"] and meta["compress"] == "deflate"
    assert_cog(meta)
    assert not list(tmp_path.glob(".*"))  # neither temporary file (streamed GeoTIFF, COG copy) is left
    back, g = read_product(p)
    assert np.isnan(back[3, 4]) and np.array_equal(back[np.isfinite(back)], img[np.isfinite(img)])
    assert g.transform == grid.transform


def test_invalid_pixels_are_masked(tmp_path):
    grid = utm_grid(2, 4, nodata=-1.0)
    raw = np.array([[1.0, np.nan, np.inf, -2.0], [0.0, -1.0, 5.0, 3.0]], dtype=np.float32)
    p = tmp_path / "bad.tif"
    with rasterio.open(p, "w", driver="GTiff", height=2, width=4, count=1, dtype="float32",
                       crs=grid.crs, transform=grid.transform, nodata=-1.0) as ds:
        ds.write(raw, 1)
    w, _ = read_intensity(p, "intensity")
    assert np.array_equal(np.isfinite(w), np.array([[1, 0, 0, 0], [0, 0, 1, 1]], dtype=bool))
    a, _ = read_intensity(p, "amplitude")
    assert a[1, 2] == 25.0


def test_not_a_raster_is_a_clear_error(tmp_path):
    p = tmp_path / "notes.tif"
    p.write_text("this is not a GeoTIFF")
    with pytest.raises(InputError, match=r"notes\.tif: not a readable raster"):
        read_intensity(p, "intensity")


def test_multiband_needs_band(tmp_path):
    grid = utm_grid(8, 8)
    p = tmp_path / "two.tif"
    with rasterio.open(p, "w", driver="GTiff", height=8, width=8, count=2, dtype="float32",
                       crs=grid.crs, transform=grid.transform) as ds:
        ds.write(np.ones((2, 8, 8), dtype=np.float32))
    with pytest.raises(InputError, match=r"two\.tif: has 2 bands; set 'band'"):
        read_intensity(p, "intensity")
    img, _ = read_intensity(p, "intensity", band=2)
    assert img.shape == (8, 8)


def test_complex_int16_slc(tmp_path):
    grid = utm_grid(4, 4)
    p = tmp_path / "slc.tif"
    z = (np.arange(16).reshape(4, 4) + 1j * 2).astype(np.complex64)
    with rasterio.open(p, "w", driver="GTiff", height=4, width=4, count=1, dtype="complex_int16",
                       crs=grid.crs, transform=grid.transform) as ds:
        ds.write(z, 1)
    w, _ = read_intensity(p, "complex")
    zz = z.astype(np.complex128)
    np.testing.assert_allclose(w[np.isfinite(w)], (zz.real**2 + zz.imag**2)[np.abs(zz) > 0], rtol=1e-6)
    with pytest.raises(InputError, match=r"slc\.tif: .*complex"):
        read_intensity(p, "intensity")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.tif"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("crash in the middle")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="does not match the grid"):
        write_float32(target, np.ones((3, 3)), utm_grid(4, 4))
    assert list(tmp_path.iterdir()) == []


def test_an_atomic_folder_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "batch"
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a.tif").write_text("written")
        raise RuntimeError("crash in the middle")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".batch.part").mkdir()  # what a killed process leaves
    (tmp_path / ".batch.part" / "stale.tif").write_text("half")
    target.mkdir()  # and a folder of that name from an earlier run
    (target / "old.tif").write_text("old")
    with atomic_directory(target) as tmp:
        assert list(tmp.iterdir()) == []
        (tmp / "b.tif").write_text("new")
        assert not (target / "b.tif").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch"]
    assert [p.name for p in target.iterdir()] == ["b.tif"]


def test_stale_temporaries_of_a_killed_write_are_removed(tmp_path):
    target = tmp_path / "out.tif"
    stale = tmp_path / ".out.tif.abc123.part.tif"
    stale.write_text("left by a killed run")
    other = tmp_path / ".other.tif.abc123.part.tif"
    other.write_text("another product's: kept")
    write_float32(target, np.ones((4, 4)), utm_grid(4, 4))
    assert not stale.exists() and other.exists() and target.exists()


def test_a_geotiff_that_gdal_reads_as_a_vendor_product_is_read_as_a_geotiff(tmp_path, monkeypatch):
    """GDAL's SNAP_TIFF driver opens SNAP's GeoTIFF exports without their transform and CRS: open_raster
    reopens such a file with the GTiff driver."""
    import rasterio as rio

    from mtsar2sar import io

    g = utm_grid(8, 8)
    path = tmp_path / "snap_export.tif"
    io.write_float32(path, np.ones((8, 8), np.float32), g, "a date")
    real_open = rio.open
    drivers = []

    class AsSnap:
        driver = "SNAP_TIFF"

        def close(self) -> None:
            drivers.append("closed")

    def fake_open(p, *args, **kwargs):
        drivers.append(kwargs.get("driver"))
        return real_open(p, *args, **kwargs) if kwargs.get("driver") else AsSnap()

    monkeypatch.setattr(io.rasterio, "open", fake_open)
    assert io.read_grid(path).transform == g.transform
    assert drivers == [None, "closed", "GTiff"]
