"""Training loops for the seed's classification experiments, reusable at any size.

- `SequenceClassifier`: Embedding → RNN / LSTM / GRU → Linear on the last real state h_T.
- `BagOfWordsClassifier`: the seed's MLP baseline on word counts (order thrown away).
- `train_classifier`: Adam on cross-entropy with gradient clipping; returns accuracies.
- `run_order_task`, `run_delay_task`: the two experiments end to end, in a quick mode
  (seconds, as the tests use them) or at full size (`quick=False`, for the demos).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import backend
from . import functional as F
from .autograd import no_grad
from .data import PAD, SequenceData, bag_of_words, delay_task, order_task
from .nn import GRU, LSTM, MLP, RNN, Embedding, Linear, Module
from .nn.module import check_sizes, evaluating
from .optim import Adam, clip_grad_norm
from .tensor import Tensor, _leaf, manual_seed

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
MODELS = ("bow", *CELLS)


class SequenceClassifier(Module):
    """ids (B, T) → embeddings (B, T, e) → recurrent states → logits (B, C) from h_T.

    `cell` is 'rnn', 'lstm' or 'gru'; `forget_bias` is the LSTM's initial b_f, `update_bias`
    the GRU's initial b_z (None: random, as the other biases). With a mask
    (B, T), h_T is each sequence's state after its own last real token.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 16,
        hidden_size: int = 32,
        cell: str = "lstm",
        forget_bias: float = 1.0,
        update_bias: float | None = None,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(
                f"SequenceClassifier: cell must be one of {tuple(CELLS)}, got {cell!r}"
            )
        self.cell_type = cell
        self.embed = Embedding(vocab_size, embed_dim)
        if cell == "lstm":
            self.rnn = LSTM(embed_dim, hidden_size, forget_bias=forget_bias)
        elif cell == "gru":
            self.rnn = GRU(embed_dim, hidden_size, update_bias=update_bias)
        else:
            self.rnn = CELLS[cell](embed_dim, hidden_size)
        self.head = Linear(hidden_size, num_classes)

    def forward(self, ids, mask=None) -> Tensor:
        """ids (B, T), mask (B, T) bool or None → logits (B, C) from the last real state."""
        xs = self.embed(ids)  # (B, T, e)
        # h_T alone: the RNN's stack of every h_t would go unused (copied in the forward,
        # and counted again by every backward)
        h_T = self.rnn._last_state(xs, mask=mask)  # (B, h)
        return self.head(h_T)  # (B, C)


class BagOfWordsClassifier(Module):
    """The seed's baseline: ids (B, T) → word counts (B, V) → MLP → logits (B, C).

    Order is invisible (PAD is not counted; the mask is not needed)."""

    def __init__(self, vocab_size: int, num_classes: int, hidden_size: int = 32) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.mlp = MLP([vocab_size, hidden_size, num_classes])

    def forward(self, ids, mask=None) -> Tensor:
        """ids (B, T) → logits (B, C) from the word counts (PAD not counted)."""
        host_ids = backend.host(ids)
        counts = bag_of_words(host_ids, self.vocab_size, ignore_id=PAD)  # (B, V)
        like = self.mlp.layers[0].W.data
        return self.mlp(_leaf(backend.array_module(like).asarray(counts, dtype=like.dtype)))


@dataclass
class TrainResult:
    """What a training run measured: accuracies in [0, 1] and the loss at every step."""

    model: Module
    train_accuracy: float
    test_accuracy: float
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, float]:
        """The accuracies, the last loss and the time, as a dict of numbers (for JSON)."""
        return {
            "train_accuracy": self.train_accuracy,
            "test_accuracy": self.test_accuracy,
            "final_loss": self.losses[-1] if self.losses else float("nan"),
            "steps": len(self.losses),
            "seconds": self.seconds,
        }


def accuracy(model: Module, data: SequenceData, batch_size: int = 512) -> float:
    """Fraction of `data` that `model` labels correctly (eval mode, no graph).

    NaN for no data (there is nothing to be right or wrong about, and 0.0 would read as a failure).
    """
    check_sizes("accuracy", batch_size=batch_size)
    correct = 0
    with no_grad(), evaluating(model):  # each submodule's own mode back, even after an error
        for start in range(0, len(data), batch_size):
            sl = slice(start, start + batch_size)
            logits = model(data.ids[sl], data.mask[sl])
            correct += int((logits.numpy().argmax(axis=-1) == data.labels[sl]).sum())
    return correct / len(data) if len(data) else float("nan")


def train_classifier(
    model: Module,
    train: SequenceData,
    test: SequenceData,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    seed: int = 0,
    callback: Callable[[int, float], None] | None = None,
    eval_limit: int = 2000,
    stop: Callable[[list[float]], bool] | None = None,
) -> TrainResult:
    """Minimise cross-entropy with Adam for `steps` minibatches; report accuracies.

    Batches are drawn by a generator seeded with `seed`, so a run is reproducible.
    Gradients are clipped to norm `clip` (None: no clipping). `callback(step, loss)`
    runs after every step (a progress bar, a plot). `stop(losses)`, if given, is asked
    after every step (after the callback) with the losses so far, and ends the training
    early when it returns True: a run that has learned need not spend the rest of its
    budget (the result's `losses` then has fewer than `steps` entries). Training accuracy
    is measured on the first `eval_limit` training examples, test accuracy on all of
    `test` (each in eval mode, which is then undone: the model is left in train mode).
    """
    check_sizes("train_classifier", at_least=0, steps=steps)
    check_sizes("train_classifier", batch_size=batch_size)
    check_sizes("train_classifier", at_least=0, eval_limit=eval_limit)
    if steps and not len(train):
        raise ValueError("train_classifier: the training data is empty")
    rng = np.random.default_rng(seed)
    optimizer = Adam(model.parameters(), lr=lr)
    params = optimizer.params
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    order = rng.permutation(len(train))
    cursor = 0
    for step in range(steps):
        if cursor + batch_size > len(order):  # a new epoch
            order, cursor = rng.permutation(len(train)), 0
        batch = order[cursor : cursor + batch_size]
        cursor += batch_size
        logits = model(train.ids[batch], train.mask[batch])  # (B, C)
        loss = F.cross_entropy(logits, train.labels[batch])
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            clip_grad_norm(params, clip)
        optimizer.step()
        losses.append(loss.item())
        del logits, loss  # the graph's values go now, not after the next forward builds one
        if callback is not None:
            callback(step, losses[-1])
        if stop is not None and stop(losses):
            break
    seconds = time.perf_counter() - start
    n = eval_limit
    train_sample = SequenceData(
        train.ids[:n], train.mask[:n], train.labels[:n], train.vocab, train.classes
    )
    return TrainResult(model, accuracy(model, train_sample), accuracy(model, test), losses, seconds)


def _make_model(
    kind: str,
    vocab_size: int,
    num_classes: int,
    embed_dim: int,
    hidden_size: int,
    forget_bias: float = 1.0,
) -> Module:
    if kind == "bow":
        return BagOfWordsClassifier(vocab_size, num_classes, hidden_size)
    if kind in CELLS:
        return SequenceClassifier(
            vocab_size, num_classes, embed_dim, hidden_size, kind, forget_bias=forget_bias
        )
    raise ValueError(f"model must be one of {MODELS}, got {kind!r}")


def _without(test: SequenceData, train: SequenceData) -> SequenceData:
    """`test` without the pairs of sentences that also occur in `train` (kept pairwise)."""
    seen = {row.tobytes() for row in train.ids}
    keep = np.array([row.tobytes() not in seen for row in test.ids]).reshape(-1, 2).all(axis=1)
    rows = np.repeat(keep, 2)
    return SequenceData(
        test.ids[rows], test.mask[rows], test.labels[rows], test.vocab, test.classes
    )


def run_order_task(
    model: str = "lstm",
    quick: bool = True,
    seed: int = 0,
    steps: int | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train `model` ('bow', 'rnn', 'lstm', 'gru') on `order_task`; test on unseen sentences.

    Bag-of-words stays at exactly 50% (every count vector occurs equally often with each label);
    a recurrent model reads the order and reaches ~100%. Quick mode: 300 training pairs,
    150 steps of 32, hidden 16 (seconds); full: 2000 pairs, 600 steps, hidden 32.
    """
    if steps is None:
        steps = 150 if quick else 600
    check_sizes("run_order_task", at_least=0, steps=steps)  # 0: the untrained model
    train = order_task(300 if quick else 2000, seed=seed)
    test = _without(order_task(200 if quick else 1000, seed=seed + 10_000), train)
    manual_seed(seed)
    net = _make_model(model, len(train.vocab), 2, embed_dim=8, hidden_size=16 if quick else 32)
    return train_classifier(net, train, test, steps, 32, lr=1e-2, seed=seed, callback=callback)


# The delay task's settings, the same for every model so that only the cell differs.
DELAY_FORGET_BIAS = 3.0  # σ(3) ≈ 0.95: the LSTM starts with a memory of ~20 steps
DELAY_SETTINGS = {"embed_dim": 8, "hidden_size": 32, "batch_size": 64, "lr": 5e-3}


def run_delay_task(
    model: str = "lstm",
    delay: int = 40,
    quick: bool = True,
    seed: int = 0,
    steps: int | None = None,
    forget_bias: float = DELAY_FORGET_BIAS,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train `model` to recall the first of 4 symbols after `delay` distractors (`delay_task`).

    Chance is 25%. Every batch is fresh data (no distractor pattern can be memorised).
    The LSTM carries the symbol in its additive cell state; the vanilla RNN's gradient must
    cross `delay` tanh Jacobians and vanishes, so it stays at chance. (With these settings the
    GRU learns shorter delays, D = 10, but stays at chance at D = 40: the memory demo
    measures each cell against D.)

    The LSTM's forget bias starts at `forget_bias` = 3 (f_t ≈ 0.95), not the usual 1
    (f_t ≈ 0.73): 0.73^40 ≈ 3·10⁻⁶ leaves no gradient to learn from at delay 40, while
    0.95^40 ≈ 0.13 does (initialising b_f from the delay is Tallec & Ollivier's "chrono"
    initialisation). Quick mode: 150 steps of 64 (seconds); full: 600 steps.
    """
    if steps is None:
        steps = 150 if quick else 600
    check_sizes("run_delay_task", at_least=0, steps=steps)  # 0: the untrained model
    batch_size = DELAY_SETTINGS["batch_size"]
    train = delay_task(max(steps, 1) * batch_size, delay, seed=seed)  # fresh data each step
    test = delay_task(500 if quick else 2000, delay, seed=seed + 10_000)
    manual_seed(seed)
    net = _make_model(
        model,
        len(train.vocab),
        4,
        DELAY_SETTINGS["embed_dim"],
        DELAY_SETTINGS["hidden_size"],
        forget_bias=forget_bias,
    )
    return train_classifier(
        net, train, test, steps, batch_size, lr=DELAY_SETTINGS["lr"], seed=seed, callback=callback
    )


__all__ = [
    "SequenceClassifier",
    "BagOfWordsClassifier",
    "TrainResult",
    "accuracy",
    "train_classifier",
    "run_order_task",
    "run_delay_task",
]
