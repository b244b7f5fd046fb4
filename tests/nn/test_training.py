"""The seed's two experiments, trained in quick mode (seconds, seeded, deterministic):

- order: "the cat sat on the dog" vs "the dog sat on the cat". A bag-of-words MLP is at
  exactly 50%; a recurrent model reads the order and gets it right.
- delay: recall the first of 4 symbols after 40 distractors. An LSTM learns it; a vanilla
  RNN, trained the same way, stays at chance (25%): its gradient vanishes over the delay.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_seq.data import SequenceData, order_task
from tinygrad_seq.train import (
    BagOfWordsClassifier,
    SequenceClassifier,
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


def test_training_is_deterministic_for_a_seed():
    a = run_order_task("gru", quick=True, seed=3, steps=4)
    b = run_order_task("gru", quick=True, seed=3, steps=4)
    c = run_order_task("gru", quick=True, seed=4, steps=4)
    assert a.losses == b.losses and a.losses != c.losses


def test_classifiers_take_padded_ids_and_masks():
    ids = np.array([[5, 6, 7, 0], [5, 6, 0, 0]])
    mask = ids != 0
    for model in (SequenceClassifier(10, 3, cell="gru"), BagOfWordsClassifier(10, 3)):
        logits = model(ids, mask)
        assert logits.shape == (2, 3)
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceClassifier(10, 3, cell="transformer")


def test_zero_steps_is_the_untrained_model_not_the_default():
    result = run_order_task("bow", quick=True, seed=0, steps=0)
    assert result.losses == []
    assert 0 <= result.test_accuracy <= 1


def test_a_bad_batch_size_is_named_and_empty_data_scores_nan():
    data = order_task(20, seed=0)
    model = BagOfWordsClassifier(len(data.vocab), 2)
    with pytest.raises(ValueError, match="train_classifier: batch_size must be at least 1"):
        train_classifier(model, data, data, steps=5, batch_size=0)
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
    accuracy(model, data)
    assert model.training and not model.rnn.training
