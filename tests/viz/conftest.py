"""Fixtures shared by the figure tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def figures(monkeypatch):
    """The Figure each plot function saves, by file name."""
    from pathlib import Path

    from tinygrad_seq.viz import plots

    saved = {}
    real = plots.save

    def keep(fig, path, *args, **kwargs):
        saved[Path(path).name] = fig
        return real(fig, path, *args, **kwargs)

    monkeypatch.setattr(plots, "save", keep)
    return saved
