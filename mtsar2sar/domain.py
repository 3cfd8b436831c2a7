"""Conversions between the radiometric domains of SAR pixels, and the validity mask.

The whole workflow works on linear intensity ``w = |z|^2 = A^2``; the network works on amplitude.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

Domain = Literal["intensity", "amplitude", "complex"]
DOMAINS: tuple[str, ...] = ("intensity", "amplitude", "complex")


def to_intensity(values: NDArray[np.generic], domain: str) -> NDArray[np.float64]:
    """Convert raw pixel values of ``domain`` to linear intensity (float64).

    intensity: unchanged; amplitude: ``A**2``; complex (SLC): ``|z|**2``.
    Invalid values (NaN, inf, negative for intensity/amplitude) are left for :func:`valid_mask`.
    """
    if domain == "complex":
        if not np.iscomplexobj(values):
            raise ValueError("input_domain is 'complex' but the data are real-valued")
        z = values.astype(np.complex128)
        return z.real**2 + z.imag**2
    if np.iscomplexobj(values):
        raise ValueError(f"input_domain is '{domain}' but the data are complex (declare input_domain: complex)")
    x = values.astype(np.float64)
    if domain == "intensity":
        return x
    if domain == "amplitude":
        # a negative amplitude is invalid: keep its sign so that valid_mask rejects it
        return np.sign(x) * x * x
    raise ValueError(f"unknown input domain {domain!r}; expected one of {DOMAINS}")


def intensity_to_amplitude(intensity: NDArray[np.floating]) -> NDArray[np.floating]:
    """``A = sqrt(w)``."""
    return np.sqrt(intensity)


def amplitude_to_intensity(amplitude: NDArray[np.floating]) -> NDArray[np.floating]:
    """``w = A**2``."""
    return amplitude * amplitude


def valid_mask(intensity: NDArray[np.floating], nodata: float | None = None) -> NDArray[np.bool_]:
    """Pixels usable as speckled intensity: finite, strictly positive and not the nodata value."""
    valid = np.isfinite(intensity) & (intensity > 0)
    if nodata is not None and np.isfinite(nodata):
        valid &= intensity != nodata
    return valid
