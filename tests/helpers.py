"""Small helpers shared by the tests."""

from __future__ import annotations

import numpy as np

import tinygrad_seq as ts


def f64(rng: np.random.Generator, *shape, requires_grad: bool = True, name=None) -> ts.Tensor:
    """A float64 tensor of standard normal values (for gradient checks)."""
    return ts.Tensor(rng.standard_normal(shape), requires_grad=requires_grad, name=name)


def np_of(x) -> np.ndarray:
    """A NumPy copy of a Tensor or backend array."""
    if isinstance(x, ts.Tensor):
        return x.numpy()
    return ts.backend.to_numpy(x)


def assert_padding_repeats_the_last_real_state(model, xs, lengths: list[int]) -> None:
    """Run a sequence model (LSTM or GRU) on `xs` (B, T, d) with a padding mask for
    `lengths`: each row's outputs match the row run alone up to its length, every padded
    step repeats its last real state, and the final h is that state."""
    T = xs.shape[1]
    mask = ts.functional.padding_mask(lengths, T)
    hs, final = model(xs, mask=mask)
    h_T = final[0] if isinstance(final, tuple) else final  # LSTM: (h_T, C_T)
    hs = np_of(hs.data)
    for b, n in enumerate(lengths):
        alone, _ = model(xs[b : b + 1, :n])
        np.testing.assert_allclose(hs[b, :n], np_of(alone.data)[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(hs[b, n:], np.repeat(hs[b, n - 1 : n], T - n, axis=0))
        np.testing.assert_array_equal(np_of(h_T.data)[b], hs[b, n - 1])


def watch_modes(model) -> list[bool]:
    """model.training at every forward from now on (the list fills as the model runs)."""
    modes: list[bool] = []
    forward = model.forward

    def watched(*args, **kwargs):
        modes.append(model.training)
        return forward(*args, **kwargs)

    model.forward = watched
    return modes


def spy_on_clipping(monkeypatch, module, model) -> list:
    """The max_norm of every clip_grad_norm call a training loop in `module` makes from now
    on, each checked to clip all of `model`'s parameters (the clipping itself still runs)."""
    norms: list = []
    real = module.clip_grad_norm

    def counted(params, max_norm):
        params = list(params)
        assert {id(p) for p in params} == {id(p) for p in model.parameters()}
        norms.append(max_norm)
        return real(params, max_norm)

    monkeypatch.setattr(module, "clip_grad_norm", counted)
    return norms


def assert_greedy_is_teacher_forced_argmax(model, src, out, eos: int) -> None:
    """Feeding greedy_decode's output `out` back in (teacher forcing on its own prefix), the
    argmax at every step is the next decoded token, up to each row's first EOS; after it
    the row is filled with EOS."""
    predicted = model(src, out[:, :-1]).numpy().argmax(-1)
    for row, pred in zip(out, predicted, strict=True):
        stop = np.flatnonzero(row[1:] == eos)
        n = stop[0] + 1 if stop.size else len(row) - 1
        np.testing.assert_array_equal(pred[:n], row[1 : n + 1])
        assert (row[n + 1 :] == eos).all()
