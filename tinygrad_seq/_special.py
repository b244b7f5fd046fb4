"""erf, erfc and the normal CDF Φ for float arrays (NumPy or CuPy), which NumPy lacks.

W. J. Cody's rational Chebyshev approximations, "Rational Chebyshev approximations for the
error function", Mathematics of Computation 23 (1969), 631–637, the basis of many C
libraries' erf and erfc. Three ranges of y = |x|, each a ratio of two polynomials whose
coefficients are the paper's, for 18 significant digits (below, highest power first):

    y ≤ 0.46875        erf y  = y · P(y²) / Q(y²)
    0.46875 < y ≤ 4    erfc y = e^(−y²) · P(y) / Q(y)
    y > 4              erfc y = e^(−y²) / y · (1/√π − z P(z) / Q(z)),  z = 1/y²

and erf y = 1 − erfc y, erf(−x) = −erf x, erfc(−x) = 2 − erfc x. Computed in float64 (a
float32 or float16 input is widened, and the result rounded back once): within a few units
in the last place of float64 over the whole line, ±0, ±inf and NaN included (checked
against Python's math.erf and math.erfc in tests/test_special.py).
"""

from __future__ import annotations

import math

import numpy as np

from .backend import array_module

_NEAR = 0.46875  # where Cody's first range ends
_MID = 4.0  # where the second ends
_FAR = 30.0  # erfc underflows to 0 well before 30 (past ~27.3): larger y (inf too) read as 30

# erf y = y · P(y²) / Q(y²), y ≤ 0.46875
_NEAR_P = (
    1.85777706184603153e-1,
    3.16112374387056560e0,
    1.13864154151050156e2,
    3.77485237685302021e2,
    3.20937758913846947e3,
)
_NEAR_Q = (
    1.0,
    2.36012909523441209e1,
    2.44024637934444173e2,
    1.28261652607737228e3,
    2.84423683343917062e3,
)

# erfc y = e^(−y²) · P(y) / Q(y), 0.46875 < y ≤ 4
_MID_P = (
    2.15311535474403846e-8,
    5.64188496988670089e-1,
    8.88314979438837594e0,
    6.61191906371416295e1,
    2.98635138197400131e2,
    8.81952221241769090e2,
    1.71204761263407058e3,
    2.05107837782607147e3,
    1.23033935479799725e3,
)
_MID_Q = (
    1.0,
    1.57449261107098347e1,
    1.17693950891312499e2,
    5.37181101862009858e2,
    1.62138957456669019e3,
    3.29079923573345963e3,
    4.36261909014324716e3,
    3.43936767414372164e3,
    1.23033935480374942e3,
)

# erfc y = e^(−y²) / y · (1/√π − z P(z) / Q(z)), z = 1/y², y > 4
_FAR_P = (
    1.63153871373020978e-2,
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
)
_FAR_Q = (
    1.0,
    2.56852019228982242e0,
    1.87295284992346047e0,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
_INV_SQRT_PI = 1 / math.sqrt(math.pi)
_SQRT_HALF = math.sqrt(0.5)


def erf(x):
    """erf x = (2/√π) ∫₀ˣ e^(−t²) dt, elementwise, in x's float dtype (float64 for others)."""
    return _in_float64(_erf, x)


def erfc(x):
    """erfc x = 1 − erf x, elementwise, without 1 − erf's cancellation where x is large."""
    return _in_float64(_erfc, x)


def normal_cdf(x):
    """Φ(x) = ½ erfc(−x/√2), the standard normal's CDF, elementwise; exact in the left tail,
    where ½ (1 + erf(x/√2)) would cancel to 0 (x below ~−8.3 in float64)."""
    return _in_float64(lambda x: _erfc(x * -_SQRT_HALF) * 0.5, x)


def _in_float64(f, x):
    """f(x) computed in float64 and given back in x's float dtype (float64 for integers)."""
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    shape = x.shape
    if not shape:  # 0-d: as one element, since NumPy gives 0-d results as scalars, and
        x = x.reshape(1)  # the ranges are written into arrays
    out = f(x.astype(np.float64, copy=False))
    return out.astype(dtype, copy=False).reshape(shape)


def _erf(x):  # float64 x
    xp = array_module(x)
    y = abs(x)
    near = y <= _NEAR
    if xp is np and near.all():  # (small inputs: one range, nothing to merge)
        return _erf_near(x)
    # Each range's formula over the whole array, merged by `where`: selecting each
    # range's elements first (x[near]) costs more, 7 ms a selection for 10⁶ normal draws
    out = (0.5 - _erfc_positive(y)) + 0.5  # erf y = 1 − erfc y (NaN stays NaN)
    xp.copysign(out, x, out=out)  # erf(−x) = −erf x
    if _may_hold(near):
        out = xp.where(near, _erf_near(_within_near(x)), out)
    return out


def _erfc(x):  # float64 x
    xp = array_module(x)
    y = abs(x)
    near = y <= _NEAR
    tail = _erfc_positive(y)
    out = xp.where(x < 0, 2 - tail, tail)  # erfc(−y) = 2 − erfc y
    if _may_hold(near):
        out = xp.where(near, 1 - _erf_near(_within_near(x)), out)
    return out


def _may_hold(mask) -> bool:
    """Whether `mask` may hold a True: asked of a NumPy array (to skip a range's work), always
    yes for a GPU array, where asking would wait for the device (a host sync per call)."""
    return array_module(mask) is not np or bool(mask.any())


def _within_near(x):
    """x limited to ±0.46875, where the first range's formula is meant (and cannot overflow)."""
    xp = array_module(x)
    return xp.maximum(xp.minimum(x, _NEAR), -_NEAR)


def _erf_near(x):
    """erf x for |x| ≤ 0.46875: x · P(x²) / Q(x²)."""
    z = x * x
    return x * _polynomial(_NEAR_P, z) / _polynomial(_NEAR_Q, z)


def _erfc_positive(y):
    """erfc y for y ≥ 0 (inf and NaN too), by Cody's second and third ranges (each a ratio
    of polynomials times e^(−y²)); right for y > 0.46875, finite and unused below."""
    xp = array_module(y)
    y = xp.minimum(y, _FAR)  # (NaN stays NaN)
    ratio = _polynomial(_MID_P, y) / _polynomial(_MID_Q, y)
    far = y > _MID
    if xp is not np:  # on a GPU every element through both ranges, merged by where: a
        y_far = xp.maximum(y, _MID)  # selection would wait for the device (y < 4: unused)
        z = 1 / (y_far * y_far)
        far_ratio = (_INV_SQRT_PI - z * _polynomial(_FAR_P, z) / _polynomial(_FAR_Q, z)) / y_far
        ratio = xp.where(far, far_ratio, ratio)
    elif far.any():  # (few where inputs are O(1): selected, not computed for all)
        y_far = y[far]
        z = 1 / (y_far * y_far)
        ratio[far] = (_INV_SQRT_PI - z * _polynomial(_FAR_P, z) / _polynomial(_FAR_Q, z)) / y_far
    ratio *= _exp_minus_square(y)
    return ratio


def _exp_minus_square(y):
    """e^(−y²) for 0 ≤ y ≤ 30 as e^(−ŷ²) · e^(−(y − ŷ)(y + ŷ)), ŷ = y cut to sixteenths.

    y² is rounded, and e^(−y²) magnifies that rounding y² times (700 units in the last place
    at y = 26); ŷ² is exact and (y − ŷ)(y + ŷ) < y/8 small, so the rounding stays small
    (Cody's device)."""
    xp = array_module(y)
    y_cut = xp.trunc(y * 16) / 16
    out = xp.exp(-(y_cut * y_cut))
    out *= xp.exp(-((y - y_cut) * (y + y_cut)))
    return out


def _polynomial(coefficients, z):
    """c₀ zⁿ + c₁ zⁿ⁻¹ + … + cₙ by Horner's rule, in one new array."""
    out = coefficients[0] * z
    for c in coefficients[1:-1]:
        out += c
        out *= z
    out += coefficients[-1]
    return out
