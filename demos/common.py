"""What every command shares: --seed, --backend, --out, and a progress bar."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

import tinygrad_seq as ts

T = TypeVar("T")


def seed_option(f: Callable) -> Callable:
    return click.option(
        "--seed", type=int, default=0, show_default=True, help="Random seed (data and weights)."
    )(f)


def backend_option(f: Callable) -> Callable:
    return click.option(
        "--backend",
        type=click.Choice(["numpy", "cupy"]),
        default=lambda: os.environ.get("TINYGRAD_SEQ_BACKEND", "numpy"),
        show_default="numpy, or $TINYGRAD_SEQ_BACKEND",
        help="Array backend to run on.",
    )(f)


def out_option(default: str, help_: str = "Output folder.") -> Callable:
    def wrap(f: Callable) -> Callable:
        return click.option(
            "--out", type=click.Path(file_okay=False), default=default, show_default=True,
            help=help_,
        )(f)

    return wrap


def common_options(f: Callable) -> Callable:
    """--seed and --backend; the wrapped command gets them applied (seeded, backend set)."""

    @seed_option
    @backend_option
    @functools.wraps(f)
    def wrapper(*args: Any, seed: int, backend: str, **kwargs: Any) -> Any:
        setup(seed, backend)
        return f(*args, seed=seed, backend=backend, **kwargs)

    return wrapper


def setup(seed: int, backend: str) -> None:
    """Seed the engine and switch the backend (a clear error if it is unusable here)."""
    ts.backend.set_backend(backend)
    ts.manual_seed(seed)


def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=label, total=total, leave=False, dynamic_ncols=True,
                    disable=None)


def ensure_dir(path: str | os.PathLike) -> Path:
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON with NumPy numbers turned into Python ones."""

    def default(o: Any) -> Any:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    Path(path).write_text(json.dumps(data, indent=2, default=default) + "\n")
