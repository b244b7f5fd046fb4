"""train_classifier's promises in detail, on tiny models and a few steps: the seed orders
the batches, the model is trained in train mode and left there, the callback sees every
step's loss, the summary reports the last loss, and the delay task tests on fresh data."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import watch_modes
from tinygrad_seq import train as train_module
from tinygrad_seq.data import order_task
from tinygrad_seq.train import (
    SequenceClassifier,
    TrainResult,
    run_delay_task,
    train_classifier,
)


def _tiny_model(vocab_size: int) -> SequenceClassifier:
    ts.manual_seed(0)  # the same weights every time
    return SequenceClassifier(vocab_size, 2, embed_dim=4, hidden_size=4, cell="gru")


def test_the_seed_orders_the_batches_and_the_same_seed_repeats_the_run():
    data = order_task(40, seed=0)

    def losses(seed):
        model = _tiny_model(len(data.vocab))
        return train_classifier(
            model, data, data, steps=3, batch_size=8, seed=seed, eval_limit=0
        ).losses

    first = losses(0)
    assert losses(0) == first  # same weights, data and seed: the same run
    assert losses(1) != first  # another seed draws other batches


def test_a_model_handed_over_in_eval_mode_trains_in_train_mode_and_stays_there():
    data = order_task(20, seed=0)
    model = _tiny_model(len(data.vocab))
    model.eval()
    modes = watch_modes(model)
    train_classifier(model, data, data, steps=3, batch_size=8, eval_limit=8)
    assert modes[:3] == [True, True, True]  # the training steps
    assert len(modes) > 3 and not any(modes[3:])  # the accuracies, in eval mode
    assert model.training and all(m.training for m in model.modules())


def test_the_callback_gets_every_step_and_its_own_loss():
    data = order_task(20, seed=0)
    calls = []
    result = train_classifier(
        _tiny_model(len(data.vocab)),
        data,
        data,
        steps=4,
        batch_size=8,
        lr=0.05,
        callback=lambda step, loss: calls.append((step, loss)),
        eval_limit=0,
    )
    assert len(set(result.losses)) == 4  # every step's loss is its own
    assert calls == list(enumerate(result.losses))


def test_stop_ends_the_training_early_and_sees_every_loss_so_far():
    data = order_task(20, seed=0)
    asked, calls = [], []

    def stop(losses):
        asked.append(list(losses))
        return len(losses) == 3

    def train(**kwargs):
        model = _tiny_model(len(data.vocab))
        return train_classifier(model, data, data, steps=10, batch_size=8, eval_limit=0, **kwargs)

    result = train(stop=stop, callback=lambda step, loss: calls.append(step))
    assert len(result.losses) == 3 and calls == [0, 1, 2]  # the callback first, then stop
    assert asked == [result.losses[:1], result.losses[:2], result.losses]
    assert train().losses[:3] == result.losses  # until then, the run that did not stop
    assert len(train(stop=lambda losses: False).losses) == 10


def test_the_summary_reports_the_last_loss_and_the_number_of_steps():
    result = TrainResult(None, 0.75, 0.5, [3.0, 2.0, 1.0], seconds=0.25)
    assert result.summary() == {
        "train_accuracy": 0.75,
        "test_accuracy": 0.5,
        "final_loss": 1.0,
        "steps": 3,
        "seconds": 0.25,
    }
    untrained = TrainResult(None, 0.5, 0.5).summary()
    assert math.isnan(untrained["final_loss"]) and untrained["steps"] == 0


@pytest.mark.numpy_only  # only the data sets are looked at
def test_the_delay_task_tests_on_fresh_data_not_the_training_set(monkeypatch):
    seen = {}

    def keep(model, train, test, steps, *args, **kwargs):
        seen.update(train=train, test=test)
        return TrainResult(model, float("nan"), float("nan"))

    monkeypatch.setattr(train_module, "train_classifier", keep)
    run_delay_task("bow", delay=5, quick=True, seed=0, steps=0)
    train, test = seen["train"], seen["test"]
    assert test is not train
    assert len(train) == 64 and len(test) == 500  # one batch of training data; the test set
    # drawn apart: almost none of its sequences are training sequences (4 × 4^5 possible)
    in_train = {row.tobytes() for row in train.ids}
    assert np.mean([row.tobytes() in in_train for row in test.ids]) < 0.2
    # nor its symbols to remember: the first 64 agree with the training ones about by chance
    # (1 in 4), as two independent draws do (one random stream would repeat them all)
    assert np.mean(test.labels[:64] == train.labels) < 0.5
