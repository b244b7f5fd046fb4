"""The seed's two experiments, trained in quick mode (seconds, seeded, deterministic):

- order: "the cat sat on the dog" vs "the dog sat on the cat". A bag-of-words MLP is at
  exactly 50%; a recurrent model reads the order and gets it right.
- delay: recall the first of 4 symbols after 40 distractors. An LSTM learns it; a vanilla
  RNN, trained the same way, stays at chance (25%): its gradient vanishes over the delay.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of, spy_on_clipping
from tinygrad_seq import train as train_module
from tinygrad_seq.data import SequenceData, order_task
from tinygrad_seq.train import (
    BagOfWordsClassifier,
    SequenceClassifier,
    TrainResult,
    accuracy,
    run_delay_task,
    run_order_task,
    train_classifier,
)


def test_bag_of_words_mlp_stays_at_chance_on_the_order_task():
    result = run_order_task("bow", quick=True, seed=0)
    assert result.test_accuracy == 0.5  # exactly: each count vector has both labels
    # equally often
    assert result.train_accuracy == 0.5


@pytest.mark.parametrize("model", ["rnn", "lstm"])
def test_recurrent_models_solve_the_order_task(model):
    result = run_order_task(model, quick=True, seed=0)
    assert result.test_accuracy >= 0.95
    assert result.losses[-1] < 0.2 < result.losses[0]


@pytest.mark.numpy_only  # tiny matrices: a GPU adds launch overhead and no new check
def test_lstm_remembers_across_a_delay_where_the_rnn_cannot():
    lstm = run_delay_task("lstm", delay=40, quick=True, seed=0)
    rnn = run_delay_task("rnn", delay=40, quick=True, seed=0)
    assert lstm.test_accuracy >= 0.95
    assert rnn.test_accuracy <= 0.35  # chance is 0.25 (500 test examples)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_classifier_reads_h_T_without_a_stack_of_every_h_t(cell, monkeypatch):
    """The classifier asks its RNN for h_T alone: the stack of every h_t (and the LSTM's
    masked C_T), which nothing would use, would be copied in the forward and make every
    backward count the graph again (autograd's _recount). Its logits and gradients are
    those through the RNN's forward, bit for bit."""
    ids = np.array([[5, 6, 7, 2], [5, 6, 0, 0]])  # 0 is PAD
    labels = np.array([0, 2])
    model = SequenceClassifier(10, 3, embed_dim=4, hidden_size=5, cell=cell)

    def through_forward(mask):
        _, last = model.rnn(model.embed(ids), mask=mask)
        return model.head(last[0] if cell == "lstm" else last)  # (the LSTM's (h_T, C_T))

    def logits_and_grads(run, mask):
        model.zero_grad()
        logits = run(mask)
        ts.F.cross_entropy(logits, labels).backward()
        return [np_of(logits)] + [np_of(p.grad) for p in model.parameters()]

    recount = ts.autograd._recount

    def refused(waiting, push):  # (called at the end of every pass too, to push nothing)
        if recount(waiting, push):
            raise AssertionError("backward counted the graph again: a node went unused")
        return False

    # padding before a real token too (the LSTM's C_t kept at every such step but the last)
    gaps = np.array([[False, True, True, True], [True, True, False, True]])
    for mask in (ids != 0, None, gaps):
        want = logits_and_grads(through_forward, mask)
        with monkeypatch.context() as patched:
            patched.setattr(ts.autograd, "_recount", refused)
            got = logits_and_grads(lambda mask: model(ids, mask), mask)
        assert [a.tobytes() for a in got] == [a.tobytes() for a in want]


def test_training_is_deterministic_for_a_seed():
    a = run_order_task("gru", quick=True, seed=3, steps=4)
    b = run_order_task("gru", quick=True, seed=3, steps=4)
    c = run_order_task("gru", quick=True, seed=4, steps=4)
    assert a.losses == b.losses and a.losses != c.losses


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_padded_sentence_is_classified_as_the_sentence_alone(cell):
    """Padding and its mask change nothing: row 1 padded to 4 tokens gets the logits of
    its 2 tokens alone (the mask keeps h_T at the last real token)."""
    ids = np.array([[5, 6, 7, 2], [5, 6, 0, 0]])  # 0 is PAD
    mask = ids != 0
    model = SequenceClassifier(10, 3, cell=cell)
    logits = model(ids, mask)
    assert logits.shape == (2, 3)
    alone = model(ids[1:, :2], mask[1:, :2])
    np.testing.assert_allclose(logits.numpy()[1], alone.numpy()[0], rtol=1e-5, atol=1e-6)
    unmasked = model(ids, np.ones_like(mask))  # without the mask the PADs are words
    assert not np.allclose(unmasked.numpy()[1], alone.numpy()[0], rtol=1e-5, atol=1e-6)


def test_bag_of_words_counts_every_word_but_pad():
    model = BagOfWordsClassifier(10, 3)
    padded = model(np.array([[1, 5, 6, 0, 0]]))  # 1 is BOS: a word like the others
    np.testing.assert_allclose(padded.numpy(), model(np.array([[1, 5, 6]])).numpy(), rtol=1e-6)
    swapped = model(np.array([[6, 5, 1]]))  # order is invisible
    np.testing.assert_allclose(swapped.numpy(), padded.numpy(), rtol=1e-6)
    without_bos = model(np.array([[5, 6]]))
    assert not np.allclose(without_bos.numpy(), padded.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceClassifier(10, 3, cell="transformer")


def test_classifiers_take_ids_on_the_backend_as_they_take_numpy_ids():
    """BagOfWordsClassifier read raw ids with np.asarray, which a CuPy array refuses."""
    ids = np.array([[5, 6, 7, 0], [5, 6, 0, 0]])
    for model in (SequenceClassifier(10, 3, cell="gru"), BagOfWordsClassifier(10, 3)):
        on_backend = model(ts.backend.xp.asarray(ids))
        np.testing.assert_array_equal(on_backend.numpy(), model(ids).numpy())


def test_zero_steps_is_the_untrained_model_not_the_default():
    result = run_order_task("bow", quick=True, seed=0, steps=0)
    assert result.losses == []
    ts.manual_seed(0)
    fresh = train_module._make_model("bow", len(order_task(300, seed=0).vocab), 2, 8, 16)
    for name, w in result.model.state_dict().items():  # the weights as built
        np.testing.assert_array_equal(w, fresh.state_dict()[name])
    trained_once = run_order_task("bow", quick=True, seed=0, steps=1)
    assert len(trained_once.losses) == 1
    assert not np.array_equal(
        trained_once.model.state_dict()["mlp.layers.0.W"], fresh.state_dict()["mlp.layers.0.W"]
    )


def test_a_bad_batch_size_is_named_and_empty_data_scores_nan():
    data = order_task(20, seed=0)
    model = BagOfWordsClassifier(len(data.vocab), 2)
    with pytest.raises(ValueError, match="train_classifier: batch_size must be at least 1"):
        train_classifier(model, data, data, steps=5, batch_size=0)
    with pytest.raises(ValueError, match="accuracy: batch_size must be at least 1"):
        accuracy(model, data, batch_size=0)  # (range() refused its step of 0)
    with pytest.raises(ValueError, match="train_classifier: eval_limit must be at least 0"):
        train_classifier(model, data, data, steps=1, eval_limit=-1)  # dropped the last rows
    empty = SequenceData(data.ids[:0], data.mask[:0], data.labels[:0], data.vocab)
    assert np.isnan(accuracy(model, empty))
    with pytest.raises(ValueError, match="training data is empty"):
        train_classifier(model, empty, data, steps=5)


def test_accuracy_gives_each_submodule_its_own_mode_back():
    # model.train(was_training) after scoring set every submodule to the top's mode
    data = order_task(4, seed=0)
    model = SequenceClassifier(len(data.vocab), 2)
    model.train()
    model.rnn.eval()
    modes = []
    forward = model.forward

    def watched(*args, **kwargs):
        modes.append([m.training for m in model.modules()])
        return forward(*args, **kwargs)

    model.forward = watched
    accuracy(model, data)
    assert modes and not any(any(during) for during in modes)  # scored in eval mode
    assert model.training and not model.rnn.training


# ------------------------------------------------------------------ what the runs measure
@pytest.fixture
def order_run(monkeypatch):
    """run_order_task's training and test data, as it hands them to train_classifier."""
    seen = {}

    def keep(model, train, test, steps, *args, **kwargs):
        seen.update(model=model, train=train, test=test)
        return TrainResult(model, float("nan"), float("nan"))

    monkeypatch.setattr(train_module, "train_classifier", keep)
    run_order_task("bow", quick=True, seed=0, steps=0)
    return seen


def test_order_task_tests_on_sentences_never_seen_in_training(order_run):
    train, test = order_run["train"], order_run["test"]
    seen = {row.tobytes() for row in train.ids}
    assert len(test) > 0 and not any(row.tobytes() in seen for row in test.ids)
    # whole pairs are kept: each sentence next to its swapped twin, with the other label
    assert len(test) % 2 == 0 and (test.labels[0::2] != test.labels[1::2]).all()
    assert len(test) < 400  # the fresh draw of 200 pairs repeated some training pairs


@pytest.mark.parametrize(("clip", "calls"), [(0.5, 3), (None, 0)])
def test_gradients_are_clipped_every_step_when_clip_is_set(monkeypatch, clip, calls):
    data = order_task(20, seed=0)
    model = SequenceClassifier(len(data.vocab), 2, embed_dim=4, hidden_size=4, cell="gru")
    norms = spy_on_clipping(monkeypatch, train_module, model)
    train_classifier(model, data, data, steps=3, batch_size=8, clip=clip)
    assert norms == [clip] * calls


def test_train_accuracy_is_on_the_first_eval_limit_training_examples():
    train = order_task(40, seed=0)
    n = 30
    # the same sentences with the labels swapped: what a model gets right there, it gets
    # wrong here, so train and test accuracy cannot agree by chance
    test = SequenceData(train.ids[:n], train.mask[:n], 1 - train.labels[:n], train.vocab)
    model = SequenceClassifier(len(train.vocab), 2, embed_dim=4, hidden_size=8, cell="gru")
    result = train_classifier(model, train, test, steps=10, batch_size=16, eval_limit=n)
    sample = SequenceData(train.ids[:n], train.mask[:n], train.labels[:n], train.vocab)
    assert result.train_accuracy == accuracy(model, sample)
    assert result.test_accuracy == accuracy(model, test)
    assert result.test_accuracy == pytest.approx(1 - result.train_accuracy)
    assert result.train_accuracy != 0.5


def test_the_lstm_classifier_reads_h_T_not_C_T_and_starts_b_f_at_one():
    model = SequenceClassifier(10, 3, embed_dim=4, hidden_size=5, cell="lstm")
    np.testing.assert_array_equal(np_of(model.rnn.cell.b_f), np.ones(5))  # LSTMCell's default
    ids = np.array([[4, 5, 6], [7, 8, 9]])
    _, (h_T, C_T) = model.rnn(model.embed(ids))
    assert not np.allclose(np_of(h_T), np_of(C_T))
    want = np_of(h_T) @ np_of(model.head.W).T + np_of(model.head.b)  # y = h_T Wᵀ + b
    np.testing.assert_allclose(np_of(model(ids)), want, rtol=1e-5, atol=1e-6)


def test_each_epoch_draws_every_training_example_once():
    n, batch = 16, 8  # an epoch: two batches
    data = order_task(n // 2, seed=0)
    drawn = []

    class Recorder(SequenceClassifier):
        def forward(self, ids, mask=None):
            if self.training:  # the training batches, not the accuracy passes
                drawn.append([row.tobytes() for row in np.asarray(ids)])
            return super().forward(ids, mask)

    model = Recorder(len(data.vocab), 2, embed_dim=4, hidden_size=4, cell="gru")
    train_classifier(model, data, data, steps=4, batch_size=batch, eval_limit=0)
    every = sorted(row.tobytes() for row in data.ids)
    assert len(drawn) == 4
    for epoch in (drawn[0] + drawn[1], drawn[2] + drawn[3]):
        assert sorted(epoch) == every
