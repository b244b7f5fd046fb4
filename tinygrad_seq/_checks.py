"""Arguments read as numbers (and token ids), in one place, so that every function takes the
same things: Python and NumPy numbers and 0-d arrays (a size from a config file, a rate from
NumPy), never a bool or a string, and says the same when it gets something else."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np


def as_int(value: Any, what: str, kind: str = "an int") -> int:
    """`value` as an int (a Python or NumPy integer, or a 0-d integer array; not a float,
    nor True), or a TypeError saying "`what` must be `kind`"."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be {kind}, got {type(value).__name__} {value!r}") from None


def as_float(value: Any, what: str, kind: str = "a number") -> float:
    """`value` as a float (a Python or NumPy number, a Fraction, a 0-d array; not a bool,
    a string or None), or a TypeError saying "`what` must be `kind`"."""
    try:
        if isinstance(value, bool | str | bytes) or value is None:
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be {kind}, got {type(value).__name__} {value!r}") from None


def as_bool(value: Any, what: str) -> bool:
    """`value` as a bool (True/False, a NumPy bool, or the ints 0 and 1), or a TypeError
    naming `what`: a string such as "no" would otherwise read as True."""
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_) or (isinstance(value, int | np.integer) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{what} must be True or False, got {type(value).__name__} {value!r}")


def wrap_hint(value: Any) -> str:
    """What to do with an array, a list or a number given where a Tensor is expected: the
    text to append to the TypeError that names it ("" for anything else)."""
    if value.__class__ is bool or isinstance(value, np.bool_):  # (a flag, not data)
        return ""
    if isinstance(value, list | int | float | np.ndarray | np.generic) or hasattr(
        value, "__cuda_array_interface__"
    ):
        return " (wrap it in a Tensor first: ts.Tensor(x))"
    return ""


def as_id_array(data: Any, ragged: str) -> Any:
    """Token ids as an array: an array as it is, a (nested) list read by NumPy; rows of
    different lengths are a ValueError saying `ragged` (not NumPy's "inhomogeneous shape")."""
    if hasattr(data, "dtype"):
        return data
    try:
        return np.asarray(data)
    except ValueError:
        raise ValueError(ragged) from None
