"""Tiled, batched inference of a fully convolutional network on images of any size.

Tiles of ``tile`` x ``tile`` pixels start on multiples of 32 (the network's pooling grid), overlap by
``overlap`` pixels, and are blended with weights that are zero near a tile's inner edges and ramp
linearly across the middle third of the overlap (weight 1 on the image border). SAR2SAR's U-Net has a
receptive field of hundreds of pixels, so the overlap sets how close tiling gets to whole-image
inference: measured with the published weights on a 330 x 450 single-look date, the largest
relative difference in intensity away from the image border is 1.2e-2 with tile 256 / overlap 192
and 3e-4 with tile 384 / overlap 256 (zero with tile 512: one tile).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from tqdm import tqdm

GRID = 32  # 2**5 poolings


def _ceil_to(n: int, k: int) -> int:
    return -(-n // k) * k


def tile_starts(size: int, tile: int, stride: int) -> list[int]:
    """Start offsets covering ``size`` with tiles of ``tile`` at ``stride`` (last one flush with the end)."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def fitted_tile(size: int, tile: int, overlap: int) -> int:
    """The smallest tile (multiple of 32, at most ``tile``) that covers ``size`` with as few tiles as
    ``tile`` itself needs at this ``overlap``: less computed in the overlaps (e.g. 2048 px with tile
    1024 / overlap 256: three tiles of 864 instead of three of 1024)."""
    if size <= tile:
        return size
    n = -(-(size - overlap) // (tile - overlap))
    return min(tile, max(_ceil_to(-(-(size + (n - 1) * overlap) // n), GRID), overlap + GRID))


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> NDArray[np.float32]:
    """Blending weights along one axis of a tile: 0 on the outer third of an inner overlap (where
    the network's zero padding is felt most), a linear ramp across its middle third, then 1."""
    w = np.ones(length, dtype=np.float32)
    if overlap > 0:
        q = overlap // 3
        r = np.clip((np.arange(overlap, dtype=np.float32) + 0.5 - q) / max(overlap - 2 * q, 1), 0.0, 1.0)
        if not at_start:
            w[:overlap] = np.minimum(w[:overlap], r)
        if not at_end:
            w[-overlap:] = np.minimum(w[-overlap:], r[::-1])
    return w


RowSource = Callable[[int, int], NDArray[np.floating]]  # rows [r0, r1) of the image, full width
RowSink = Callable[[int, int, NDArray[np.floating]], None]  # final rows [r0, r1) of the result
PadMode = Literal["reflect", "edge"]  # the image's padding to the pooling grid (np.pad's mode)


def _check(tile: int, overlap: int) -> None:
    if tile % GRID or tile <= 0:
        raise ValueError(f"tile must be a positive multiple of {GRID}, got {tile}")
    if overlap % GRID or not 0 <= overlap < tile:
        raise ValueError(f"overlap must be a multiple of {GRID} in [0, tile), got {overlap}")


def _padded_index(size: int, padded: int, mode: PadMode) -> NDArray[np.int64]:
    """Source index of each position of an axis padded from ``size`` to ``padded`` (as ``np.pad``)."""
    return np.pad(np.arange(size, dtype=np.int64), (0, padded - size), mode=mode)


def tiled_apply_rows(
    net: Callable[[torch.Tensor], torch.Tensor],
    source: RowSource,
    height: int,
    width: int,
    sink: RowSink,
    tile: int = 256,
    overlap: int = 64,
    batch: int = 4,
    device: torch.device | str = "cpu",
    progress: bool = False,
    channels_last: bool = False,
    accumulate_on_device: bool | None = None,
) -> None:
    """Apply ``net`` (N,1,h,w -> N,1,h,w) by overlapping tiles to an image read by bands of rows.

    The image is padded (reflect) to the pooling grid; tiles are processed one row of tiles at a
    time, and the rows that no later tile touches are handed to ``sink`` at once, so memory holds
    one row of tiles (``tile`` x ``width``), whatever the height. ``channels_last`` feeds the
    tiles in that memory format (give it a network converted the same way: faster convolutions on CPU).
    ``accumulate_on_device`` (default: when ``device`` is not the CPU) blends the tiles where the network
    ran, so only the input tiles and the finished rows cross between host and device; same result.
    """
    _check(tile, overlap)
    ph, pw = _ceil_to(height, GRID), _ceil_to(width, GRID)
    th, tw = fitted_tile(ph, tile, overlap), fitted_tile(pw, tile, overlap)
    rows, cols = tile_starts(ph, th, th - overlap), tile_starts(pw, tw, tw - overlap)
    pad_mode: PadMode = "reflect" if min(height, width) > 1 else "edge"
    row_index = _padded_index(height, ph, pad_mode)
    device = torch.device(device)
    acc = _Accumulator(pw, device, device.type != "cpu" if accumulate_on_device is None else accumulate_on_device)

    def load(r: int) -> NDArray[np.floating]:
        idx = row_index[r : r + th]
        lo = int(idx.min())
        band = source(lo, int(idx.max()) + 1)[idx - lo]
        return np.pad(band, ((0, 0), (0, pw - width)), mode=pad_mode)

    # I/O overlaps the network: the next band of rows is read, and finished rows are written, by two
    # single-thread pools (in order) while the current row of tiles runs.
    bar = tqdm(total=len(rows) * len(cols), desc="tiles", disable=not progress, mininterval=2.0)
    with ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(1) as writer, torch.inference_mode():
        written: list[Future[None]] = []
        sink_async: RowSink = lambda r0, r1, rows_: written.append(writer.submit(sink, r0, r1, np.ascontiguousarray(rows_[:, :width])))
        pending = reader.submit(load, rows[0])
        for k, r in enumerate(rows):
            acc.flush(min(r, height), sink_async)  # rows above r are final: no later tile reaches them
            band = pending.result()
            if k + 1 < len(rows):
                pending = reader.submit(load, rows[k + 1])
            acc.reserve(r + th)
            wr = _ramp(th, min(overlap, th), r == 0, r + th >= ph)
            for i in range(0, len(cols), batch):
                chunk = cols[i : i + batch]
                x = np.stack([band[:, c : c + tw] for c in chunk])[:, None]
                xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
                if channels_last:
                    xt = xt.contiguous(memory_format=torch.channels_last)
                y = net(xt).float()[:, 0]
                for c, yi in zip(chunk, acc.results(y)):
                    acc.add(r, c, yi, wr, _ramp(tw, min(overlap, tw), c == 0, c + tw >= pw))
                bar.update(len(chunk))
            for f in written:  # surface a failed write at once
                if f.done():
                    f.result()
        acc.flush(height, sink_async)
        for f in written:
            f.result()
    bar.close()


class _Accumulator:
    """The weighted sum of the tiles' outputs over the rows not yet handed out, and its weights (float64),
    in host memory or, for a network on a GPU, on its device (only finished rows are copied back)."""

    def __init__(self, width: int, device: torch.device, on_device: bool) -> None:
        self.width, self.device, self.on_device = width, device, on_device
        self.first = 0  # first row held
        self.out: Any  # (rows, width) float64: a numpy array, or a tensor on the device
        self.wsum: Any
        if on_device:
            self.out = torch.zeros((0, width), dtype=torch.float64, device=device)
            self.wsum = torch.zeros((0, width), dtype=torch.float64, device=device)
        else:
            self.out, self.wsum = np.zeros((0, width)), np.zeros((0, width))

    def reserve(self, upto: int) -> None:
        grow = upto - self.first - self.out.shape[0]
        if grow > 0:
            if self.on_device:
                z = torch.zeros((grow, self.width), dtype=torch.float64, device=self.device)
                self.out, self.wsum = torch.cat([self.out, z]), torch.cat([self.wsum, z])
            else:
                self.out = np.concatenate([self.out, np.zeros((grow, self.width))])
                self.wsum = np.concatenate([self.wsum, np.zeros((grow, self.width))])

    def results(self, y: torch.Tensor) -> list[Any]:
        return list(y) if self.on_device else list(y.cpu().numpy())

    def add(self, r: int, c: int, y: Any, wr: NDArray[np.float32], wc: NDArray[np.float32]) -> None:
        """Add tile output ``y`` at (``r``, ``c``) with the weights ``wr`` (rows) x ``wc`` (columns)."""
        o, th, tw = r - self.first, wr.size, wc.size
        wt: Any
        if self.on_device:
            wt = torch.from_numpy(wr).to(self.device)[:, None] * torch.from_numpy(wc).to(self.device)[None, :]
        else:
            wt = wr[:, None] * wc[None, :]
        self.out[o : o + th, c : c + tw] += y * wt  # float32 products summed in float64, as on the host
        self.wsum[o : o + th, c : c + tw] += wt

    def flush(self, upto: int, emit: RowSink) -> None:
        """Hand rows [first, upto) to ``emit`` (float32) and drop them."""
        n = upto - self.first
        if n > 0:
            rows = self.out[:n] / self.wsum[:n]
            if self.on_device:
                emit(self.first, upto, rows.float().cpu().numpy())
            else:
                emit(self.first, upto, rows.astype(np.float32))
            self.out, self.wsum, self.first = self.out[n:], self.wsum[n:], upto


def tiled_apply(
    net: Callable[[torch.Tensor], torch.Tensor],
    image: NDArray[np.float32],
    tile: int = 256,
    overlap: int = 64,
    batch: int = 4,
    device: torch.device | str = "cpu",
    progress: bool = False,
    channels_last: bool = False,
) -> NDArray[np.float32]:
    """Apply ``net`` (N,1,h,w -> N,1,h,w) to a 2-D float32 image in memory by overlapping tiles."""
    _check(tile, overlap)
    h, w = image.shape
    result = np.empty((h, w), dtype=np.float32)

    def sink(r0: int, r1: int, rows: NDArray[np.float32]) -> None:
        result[r0:r1] = rows

    tiled_apply_rows(net, lambda r0, r1: image[r0:r1], h, w, sink, tile, overlap, batch, device, progress, channels_last)
    return result


def whole_apply(net: Callable[[torch.Tensor], torch.Tensor], image: NDArray[np.float32]) -> NDArray[np.float32]:
    """Apply ``net`` to the whole image at once (padded to the pooling grid): the reference for tiling."""
    h, w = image.shape
    size = max(_ceil_to(h, GRID), _ceil_to(w, GRID))
    return tiled_apply(net, image, tile=size, overlap=0, batch=1)
