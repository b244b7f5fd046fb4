"""train_pairs and run_reversal in detail, on tiny models and a few steps: the modes they
train and leave a model in, the learning rate, clipping norm and seed they are given, the
padding the loss ignores, reproducible runs, a test set apart from the training set, and
the summary numbers of a PairResult."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import spy_on_clipping, watch_modes
from tinygrad_seq import functional as F
from tinygrad_seq import train_seq2seq as s2s_module
from tinygrad_seq.data import PAD, reverse_task
from tinygrad_seq.nn import Seq2Seq, Transformer
from tinygrad_seq.train_seq2seq import PairResult, batches, run_reversal, train_pairs

pytestmark = pytest.mark.numpy_only  # training is the same math on every backend

# run_reversal at a size that trains in a blink
SMALL = dict(min_len=2, max_len=4, num_symbols=4, emb=4, hidden=8, batch=8)


def _data_and_model(seed: int = 0):
    data = reverse_task(12, 2, 4, 6, seed=0)
    ts.manual_seed(seed)  # the same weights every time
    return data, Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), 4, 8, "gru")


# ------------------------------------------------------------------ train_pairs
def test_train_pairs_leaves_the_model_in_eval_mode():
    data, model = _data_and_model()
    model.train()
    train_pairs(model, data, steps=2, batch_size=4)
    assert not model.training and not any(m.training for m in model.modules())


def test_every_train_pairs_call_trains_in_train_mode():
    data, model = _data_and_model()
    modes = watch_modes(model)
    model.eval()  # as a first call leaves it
    train_pairs(model, data, steps=2, batch_size=4)
    assert modes == [True, True] and not model.training
    train_pairs(model, data, steps=2, batch_size=4)  # again, after the first left it in eval
    assert modes == [True] * 4 and not model.training


@pytest.mark.parametrize(("max_norm", "calls"), [(0.25, 3), (None, 0)])
def test_gradients_are_clipped_to_max_norm_every_step(monkeypatch, max_norm, calls):
    data, model = _data_and_model()
    norms = spy_on_clipping(monkeypatch, s2s_module, model)
    train_pairs(model, data, steps=3, batch_size=4, max_norm=max_norm)
    assert norms == [max_norm] * calls


def test_the_learning_rate_sets_the_size_of_the_steps():
    """Adam's first step moves every parameter by at most lr (lr·g/(|g| + ε))."""
    for lr in (1e-4, 3e-2):
        data, model = _data_and_model()
        before = {name: w.copy() for name, w in model.state_dict().items()}
        train_pairs(model, data, steps=1, batch_size=4, lr=lr)
        moved = max(np.abs(w - before[n]).max() for n, w in model.state_dict().items())
        assert 0.5 * lr < moved <= 1.01 * lr  # (float32 rounding: ~1e-7)


def test_train_step_is_one_step_of_train_pairs():
    """The same batches through train_step give train_pairs' losses and weights: the step
    the bottleneck demo times is the one that trains."""
    data, model = _data_and_model()
    losses = train_pairs(model, data, steps=3, batch_size=4, lr=0.02, seed=5)
    data, again = _data_and_model()
    opt = ts.optim.Adam(again.parameters(), lr=0.02)
    again.train()
    stream = batches(data, 4, np.random.default_rng(5))
    stepped = [s2s_module.train_step(again, next(stream), opt) for _ in range(3)]
    assert stepped == losses
    for name, w in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[name], w, err_msg=name)


def test_train_step_clips_as_train_pairs_by_default_and_starts_from_fresh_gradients(monkeypatch):
    data, model = _data_and_model()
    norms = spy_on_clipping(monkeypatch, s2s_module, model)
    opt = ts.optim.Adam(model.parameters(), lr=0.02)
    batch = next(batches(data, 4, np.random.default_rng(0)))
    s2s_module.train_step(model, batch, opt)
    assert norms == [1.0]  # train_pairs' max_norm
    # a second step's gradients are those of the loss at the weights it starts from alone,
    # not added to the first step's
    _, twin = _data_and_model()
    twin.load_state_dict(model.state_dict())
    twin.train()
    s2s_module.teacher_forced_loss(twin, batch).backward()
    s2s_module.train_step(model, batch, opt, max_norm=None)
    for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-6, atol=1e-7, err_msg=name)


def test_the_teacher_forced_loss_is_the_mean_over_real_target_tokens():
    data, model = _data_and_model()
    batch = next(batches(data, 5, 0))
    logits = model(batch.src, batch.tgt_in, src_lengths=batch.src_lengths).numpy()
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    real = batch.tgt_out != PAD
    picked = np.take_along_axis(p, batch.tgt_out[..., None], -1)[..., 0]
    expected = -np.log(picked[real]).mean()
    loss = s2s_module.teacher_forced_loss(model, batch)
    assert loss.shape == () and loss.item() == pytest.approx(expected, rel=1e-5)


def test_the_seed_orders_the_batches_and_the_same_seed_repeats_the_run():
    def losses(seed):
        data, model = _data_and_model()
        return train_pairs(model, data, steps=3, batch_size=4, seed=seed)

    first = losses(0)
    assert losses(0) == first
    assert losses(1) != first


def test_progress_hears_every_step_counted_from_zero_with_its_loss():
    data, model = _data_and_model()
    heard = []
    losses = train_pairs(model, data, steps=3, batch_size=4, progress=lambda *a: heard.append(a))
    assert heard == list(enumerate(losses)) and len(heard) == 3


def test_the_loss_ignores_the_padding_of_the_targets():
    data, model = _data_and_model()
    batch = next(batches(data, 8, 0))  # train_pairs' first batch, with seed 0
    assert (batch.tgt_out == PAD).any()  # (else there were nothing to ignore)
    with ts.no_grad():
        logits = model(batch.src, batch.tgt_in, src_lengths=batch.src_lengths)
        ignoring = F.cross_entropy(logits, batch.tgt_out, ignore_index=PAD).item()
        counting = F.cross_entropy(logits, batch.tgt_out).item()
    assert abs(ignoring - counting) > 1e-3
    losses = train_pairs(model, data, steps=1, batch_size=8, seed=0)
    assert losses[0] == pytest.approx(ignoring, rel=1e-6)


# ------------------------------------------------------------------ run_reversal
def test_run_reversal_is_reproducible_for_a_seed():
    a = run_reversal(None, "gru", seed=0, steps=2, **SMALL)
    b = run_reversal(None, "gru", seed=0, steps=2, **SMALL)  # the global generator moved on
    assert len(a.losses) == 2 and a.losses == b.losses
    for name, w in a.model.state_dict().items():
        np.testing.assert_array_equal(w, b.model.state_dict()[name])


def test_run_reversal_tests_on_pairs_apart_from_its_training_pairs(monkeypatch):
    seen = {}

    def keep_train(model, data, *args, **kwargs):
        seen["train"] = data
        return []

    def keep_test(model, data, *args, **kwargs):
        seen["test"] = data
        return {}, float("nan")

    monkeypatch.setattr(s2s_module, "train_pairs", keep_train)
    monkeypatch.setattr(s2s_module, "accuracy_by_length", keep_test)
    run_reversal(None, "gru", quick=True, seed=0)  # quick: lengths 2 to 10 of 8 symbols
    train, test = seen["train"], seen["test"]
    assert test is not train and len(test) == 40 * 9 and len(train) == 2000

    def sources(d):
        return [tuple(row[:n]) for row, n in zip(d.src, d.src_lengths, strict=True)]

    in_train = set(sources(train))
    # lengths of 5 and more (8^5 strings and up) are almost never drawn twice
    assert np.mean([s in in_train for s in sources(test)]) < 0.6


def test_zero_steps_is_the_untrained_model_not_the_default():
    result = run_reversal(None, "gru", seed=0, steps=0, **SMALL)
    assert result.losses == [] and result.config["steps"] == 0


def test_sizes_left_as_none_keep_the_defaults_and_unknown_ones_are_refused():
    result = run_reversal(None, "gru", seed=0, steps=0, **{**SMALL, "hidden": None})
    assert result.config["hidden"] == s2s_module.QUICK["hidden"] == result.model.hidden
    assert result.config["emb"] == SMALL["emb"] == result.model.emb
    with pytest.raises(ValueError, match=r"unknown sizes \['hiden'\]; known: \[.*'hidden'"):
        run_reversal(None, "gru", seed=0, steps=0, hiden=8)


def test_the_config_records_the_run_and_model_picks_the_architecture():
    result = run_reversal("dot", "rnn", seed=3, steps=0, **SMALL)
    assert isinstance(result.model, Seq2Seq) and result.model.cell == "rnn"
    picked = {k: result.config[k] for k in ("cell", "attention", "model", "seed")}
    assert picked == {"cell": "rnn", "attention": "dot", "model": "seq2seq", "seed": 3}
    result = run_reversal(None, seed=0, steps=0, model="transformer", **SMALL)
    assert isinstance(result.model, Transformer) and result.model.d_model == SMALL["hidden"]
    assert result.config["model"] == "transformer" and result.antidiagonal is None


def test_run_reversal_measures_the_antidiagonal_and_the_position_after_it(monkeypatch):
    calls = []
    measure = s2s_module.antidiagonal_weight

    def spy(model, data, offset=0):
        calls.append((data, offset))
        return measure(model, data, offset)

    monkeypatch.setattr(s2s_module, "antidiagonal_weight", spy)
    result = run_reversal("dot", "gru", seed=0, steps=0, **SMALL)
    assert [offset for _, offset in calls] == [0, 1]
    test = calls[0][0]
    assert result.antidiagonal == measure(result.model, test, 0)
    assert result.after_antidiagonal == measure(result.model, test, 1)
    assert result.antidiagonal != result.after_antidiagonal


def test_token_accuracy_is_the_mean_of_the_accuracies_per_length():
    result = PairResult(None, [], {2: 1.0, 4: 0.5}, sequence_accuracy=0.5)
    assert result.token_accuracy == pytest.approx(0.75)
