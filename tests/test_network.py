"""The SAR2SAR U-Net: published weights, safe loading, tiled = whole inference."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import NATIVE_BF16

from mtsar2sar.despeckle import NetworkDenoiser, denormalize_to_intensity, normalize_log_amplitude
from mtsar2sar.errors import InputError
from mtsar2sar.network import (
    SAR2SARUNet,
    SelfEnsemble,
    _Autocast,
    load_network,
    published_weights_path,
    select_precision,
    with_precision,
)
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.tiling import tiled_apply, whole_apply


@pytest.fixture(scope="module")
def published() -> SAR2SARUNet:
    torch.set_num_threads(2)
    return load_network("sar2sar-grd")


def test_published_weights_load_strictly(published):
    assert published_weights_path("sar2sar-grd").name == "sar2sar.pth"
    n = sum(p.numel() for p in published.parameters())
    assert n == 988_609
    # the published network removes speckle: a flat 4-look patch at the S1 level gets smoother
    rng = np.random.default_rng(0)
    w = 1e4 * rng.gamma(4, 1 / 4, (128, 128))
    out = denormalize_to_intensity(whole_apply(published, normalize_log_amplitude(w)))
    assert out.std() / out.mean() < 0.5 * w.std() / w.mean()


def test_normalization_round_trip():
    w = np.array([1e-3, 1.0, 900.0, 1e6])
    # exact up to the 1e-6 added to the amplitude before the log (relative 3e-5 at A = 0.03)
    np.testing.assert_allclose(denormalize_to_intensity(normalize_log_amplitude(w)), w, rtol=1e-4)


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_carrying_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pth"
    torch.save({"model_state_dict": {"enc0.weight": _Evil(marker)}}, bad)
    with pytest.raises(InputError, match=r"evil\.pth: cannot be loaded safely as weights") as err:
        load_network(bad)
    assert not marker.exists()
    assert "weights_only" not in str(err.value) and "Re-running" not in str(err.value)  # no advice of an unsafe load


def test_weights_of_another_architecture(tmp_path):
    p = tmp_path / "other.pt"
    torch.save(torch.nn.Conv2d(1, 8, 3).state_dict(), p)
    with pytest.raises(InputError, match=r"other\.pt: not weights of the SAR2SAR U-Net"):
        load_network(p)


def test_truncated_weights_file(tmp_path):
    p = tmp_path / "cut.pt"
    src = published_weights_path("sar2sar-grd").read_bytes()
    p.write_bytes(src[: len(src) // 2])
    with pytest.raises(InputError, match=r"cut\.pt: cannot be loaded safely as weights"):
        load_network(p)


def test_unknown_weights_name():
    with pytest.raises(InputError, match=r"network.weights: 'sar2sar-slc' is neither a published name"):
        load_network("sar2sar-slc")


def test_tiled_equals_whole_away_from_border(published):
    cfg = SimulationConfig(seed=4, height=330, width=450, dates=2, looks=1)
    _, _, noisy, _ = simulate_stack(cfg)
    w = noisy[0] * 1e4 / np.exp(np.mean(np.log(noisy[0])))
    x = normalize_log_amplitude(w)
    whole = denormalize_to_intensity(whole_apply(published, x))
    tiled = denormalize_to_intensity(tiled_apply(published, x, tile=384, overlap=256, batch=2))
    rel = np.abs(tiled - whole) / whole
    assert rel[32:-32, 32:-32].max() < 1e-3
    # and a small overlap is measurably worse: the test can fail
    coarse = denormalize_to_intensity(tiled_apply(published, x, tile=128, overlap=32, batch=4))
    assert (np.abs(coarse - whole) / whole)[32:-32, 32:-32].max() > 1e-2


@pytest.mark.parametrize("shape", [(1, 1), (17, 45), (64, 31), (100, 257)])
def test_any_image_size(shape):
    net = torch.nn.Identity()
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    np.testing.assert_allclose(tiled_apply(net, x, tile=64, overlap=32, batch=3), x, rtol=1e-6)


def test_fitted_tiles_cover_with_the_fewest_pixels():
    from mtsar2sar.tiling import fitted_tile, tile_starts

    assert fitted_tile(2048, 1024, 256) == 864  # 3 tiles of 864 instead of 3 of 1024
    assert fitted_tile(512, 768, 256) == 512 and fitted_tile(4096, 768, 256) == 736
    for size, tile, overlap in [(2048, 1024, 256), (1000 // 32 * 32, 768, 256), (4096, 768, 256), (1600, 512, 128)]:
        th = fitted_tile(size, tile, overlap)
        starts = tile_starts(size, th, th - overlap)
        assert th % 32 == 0 and th <= tile and starts[-1] + th == size
        assert len(starts) == len(tile_starts(size, tile, tile - overlap))  # no more tiles than before
        assert all(b - a <= th - overlap for a, b in itertools.pairwise(starts))  # overlaps never below `overlap`


def test_self_ensemble_is_equivariant_and_averages(published):
    rng = np.random.default_rng(3)
    x = torch.from_numpy(normalize_log_amplitude(1e4 * rng.gamma(4, 1 / 4, (64, 96)))).reshape(1, 1, 64, 96)
    with torch.no_grad():
        plain = published(x)
        assert torch.equal(SelfEnsemble(published, 1)(x), plain)
        # the network alone is not equivariant, the 8-fold ensemble is (up to float rounding)
        assert (published(x.flip(-1)).flip(-1) - plain).abs().max() > 1e-3
        ens = SelfEnsemble(published, 8)
        out = ens(x)
        for rot, flip in itertools.product(range(4), (False, True)):
            t = torch.rot90(x.flip(-1) if flip else x, rot, (-2, -1))
            back = torch.rot90(ens(t), -rot, (-2, -1))
            torch.testing.assert_close(back.flip(-1) if flip else back, out, atol=2e-6, rtol=0)
        # 2: the mean of the plain and the mirrored passes
        torch.testing.assert_close(SelfEnsemble(published, 2)(x), (plain + published(x.flip(-1)).flip(-1)) / 2)
    with pytest.raises(InputError, match="self-ensemble size 3 is not one of"):
        SelfEnsemble(published, 3)


@NATIVE_BF16
def test_bfloat16_keeps_the_products_within_hundredths_of_a_db_and_float32_is_untouched():
    rng = np.random.default_rng(5)
    x = torch.from_numpy(normalize_log_amplitude(1e4 * rng.gamma(4, 1 / 4, (128, 128)))).reshape(1, 1, 128, 128)
    net = load_network("sar2sar-ml")
    keys = set(net.state_dict())
    with torch.inference_mode():
        ref = net(x)
        assert with_precision(net, "float32") is net and torch.equal(net(x), ref)
        whole = _Autocast(load_network("sar2sar-ml"))(x)
        low = with_precision(net, "bfloat16")(x)
        again = net(x)
    assert set(net.state_dict()) == keys  # the weights file's layout is unchanged
    assert low.dtype == torch.float32 and torch.equal(low, again)  # deterministic

    def db(y: torch.Tensor) -> np.ndarray:
        return 10 * np.log10(denormalize_to_intensity(y.numpy()[0, 0]))

    ours, naive = np.abs(db(low) - db(ref)), np.abs(db(whole) - db(ref))
    # the input's skip and the first and last layers in float32: about 0.01 dB per pixel (0.05 at most);
    # the whole network under autocast (the input rounded to 8 bits of mantissa) is 9 times worse
    assert np.median(ours) < 0.02 and np.quantile(ours, 0.999) < 0.1
    assert np.median(naive) > 5 * np.median(ours)
    with pytest.raises(InputError, match="network precision 'float16' is not one of"):
        with_precision(net, "float16")


def test_precision_auto_is_bfloat16_only_where_the_hardware_computes_it(monkeypatch, tmp_path, caplog):
    from mtsar2sar import network

    cpu = torch.device("cpu")
    for flags, expected in (("fpu sse2 avx2 avx512f", "float32"), ("fpu avx512f avx512_bf16", "bfloat16"),
                            ("fpu amx_bf16 amx_tile", "bfloat16")):
        (tmp_path / "cpuinfo").write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(network, "CPUINFO", tmp_path / "cpuinfo")
        assert select_precision("auto", cpu) == expected, flags
    monkeypatch.setattr(network, "CPUINFO", tmp_path / "missing")  # not Linux: float32
    assert select_precision("auto", cpu) == "float32"
    with caplog.at_level("WARNING", logger="mtsar2sar"):  # bfloat16 given where it is emulated: a warning
        assert NetworkDenoiser(SAR2SARUNet(), precision="bfloat16").precision == "bfloat16"
    assert "bfloat16 on a CPU without bfloat16 units is emulated, about 100x slower" in caplog.text
    assert select_precision("bfloat16", cpu) == "bfloat16" and select_precision("float32", cpu) == "float32"
    assert select_precision("auto", torch.device("cuda")) == "float32"  # GPUs: TF32 convolutions, bfloat16 given only
    with pytest.raises(InputError, match="network.precision: 'half' is not one of auto, float32, bfloat16"):
        select_precision("half", cpu)
