"""Training and measuring encoder-decoder models on the toy pair tasks, reusable at any size.

- `train_pairs`: Adam on the seed's teacher-forced cross-entropy, with gradient clipping;
  `train_step`: one step of it.
- `accuracy_by_length`: greedy decoding, scored token by token, per source length.
- `antidiagonal_weight`: on the reversal task, how much attention lies where it should
  (output step t on source position n−1−t).
- `run_reversal`: one Seq2Seq trained on sequence reversal and measured;
  `compare_attention`: plain Seq2Seq against Seq2Seq with attention on the same data,
  the seed's information-bottleneck experiment. Both take `quick=True` (seconds, as the
  tests use them) or `quick=False` (bigger, for the demos), and explicit sizes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import functional as F
from .autograd import no_grad
from .data import BOS, EOS, PAD, SPECIALS, PairData, as_generator, reverse_task
from .nn import Module, Seq2Seq, Transformer
from .nn.module import check_sizes, evaluating
from .optim import Adam, clip_grad_norm
from .tensor import Tensor, manual_seed

__all__ = [
    "PairResult",
    "batches",
    "train_pairs",
    "train_step",
    "teacher_forced_loss",
    "accuracy_by_length",
    "antidiagonal_weight",
    "run_reversal",
    "compare_attention",
]

# quick: seconds on one core, reliable across seeds; full: the demos' size (minutes).
QUICK = dict(min_len=2, max_len=10, num_symbols=8, emb=16, hidden=32, steps=150, batch=96, lr=0.01)
FULL = dict(
    min_len=2, max_len=20, num_symbols=10, emb=32, hidden=64, steps=1500, batch=64, lr=0.005
)


@dataclass
class PairResult:
    """What a run measured: the model, its loss at every step, accuracies in [0, 1]."""

    model: Module
    losses: list[float]
    accuracy_by_length: dict[int, float]  # token accuracy of greedy decoding, per source length
    sequence_accuracy: float  # fraction of test pairs decoded exactly
    antidiagonal: float | None = None  # reversal only, with attention
    seconds: float = 0.0
    config: dict = field(default_factory=dict)
    after_antidiagonal: float | None = None  # the share one source position later

    @property
    def token_accuracy(self) -> float:
        """Mean of the per-length accuracies (every length counts the same)."""
        return float(np.mean(list(self.accuracy_by_length.values())))


def _subset(data: PairData, rows: np.ndarray) -> PairData:
    """The pairs `rows`, trimmed to their own longest source and target."""
    s, t = int(data.src_lengths[rows].max()), int(data.tgt_lengths[rows].max())
    return PairData(
        data.src[rows, :s],
        data.src_lengths[rows],
        data.tgt[rows, :t],
        data.tgt_lengths[rows],
        data.src_vocab,
        data.tgt_vocab,
    )


def batches(data: PairData, batch_size: int, rng: np.random.Generator | int):
    """Endless shuffled mini-batches of `data`, each trimmed to its own longest pair.

    `rng` a NumPy Generator or an int seed.

    A batch size larger than the data gives the whole data, shuffled, every time. Bad
    arguments are refused here, not at the first batch."""
    check_sizes("batches", batch_size=batch_size)
    if not len(data):
        raise ValueError("batches: the data holds no pairs")
    return _batches(data, min(batch_size, len(data)), as_generator(rng))


def _batches(data: PairData, batch_size: int, rng: np.random.Generator):
    while True:
        order = rng.permutation(len(data))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield _subset(data, order[start : start + batch_size])


def train_pairs(
    model: Module,
    data: PairData,
    steps: int,
    batch_size: int = 64,
    lr: float = 0.01,
    max_norm: float | None = 1.0,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Teacher-forced training of `model` on `data`; returns the loss at every step.

    The loss is L = −Σ_t log p(y_t^truth | y_{<t}^truth, x), averaged over the real (non-PAD)
    target tokens. Gradients are clipped to norm `max_norm` (None: no clipping). `progress(step,
    loss)`, if given, runs after every step (step counted from 0). Training leaves the model in
    eval mode, ready to decode (call `model.train()` to train it further with dropout)."""
    check_sizes("train_pairs", at_least=0, steps=steps)
    check_sizes("train_pairs", batch_size=batch_size)
    rng = np.random.default_rng(seed)
    opt = Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for step, batch in zip(range(steps), batches(data, batch_size, rng), strict=False):
        losses.append(train_step(model, batch, opt, max_norm))
        if progress is not None:
            progress(step, losses[-1])
    model.eval()
    return losses


def teacher_forced_loss(model: Module, batch: PairData) -> Tensor:
    """The seed's teacher-forced cross-entropy of `model` on `batch` (a 0-d Tensor).

    The mean of −log p(y_t^truth | y_{<t}^truth, x) over the batch's real (non-PAD) target
    tokens; the logits are (B, T, V)."""
    logits = model(batch.src, batch.tgt_in, src_lengths=batch.src_lengths)  # (B, T, V)
    return F.cross_entropy(logits, batch.tgt_out, ignore_index=PAD)


def train_step(model: Module, batch: PairData, opt: Adam, max_norm: float | None = 1.0) -> float:
    """One step of `train_pairs` on `batch`; returns its loss (a float).

    The teacher-forced loss, its gradients (clipped to norm `max_norm`; None: no clipping)
    and an update of `opt`'s parameters."""
    loss = teacher_forced_loss(model, batch)
    opt.zero_grad()
    loss.backward()
    if max_norm is not None:
        # opt.params, not model.parameters(), at every step: ~0.2 ms for a Transformer
        clip_grad_norm(opt.params, max_norm)
    opt.step()
    return loss.item()  # the graph goes with `loss` on return


def _decode(model: Module, data: PairData) -> np.ndarray:
    """Greedy decoding of every source, as long as the longest target could need."""
    max_len = data.tgt.shape[1] - 1  # the target's tokens and its EOS
    return model.greedy_decode(data.src, max_len, bos=BOS, eos=EOS, src_lengths=data.src_lengths)


def accuracy_by_length(
    model: Module, data: PairData, batch_size: int = 512
) -> tuple[dict[int, float], float]:
    """Greedy-decode `data`: token accuracy by source length, and the share decoded exactly.

    Returns ({source length: fraction of target tokens, EOS included, predicted right at their
    position}, fraction of pairs decoded exactly). Only what was generated up to and including the
    first EOS counts."""
    check_sizes("accuracy_by_length", batch_size=batch_size)
    correct = np.zeros(len(data))
    total = np.zeros(len(data))
    exact = np.zeros(len(data), dtype=bool)
    for start in range(0, len(data), batch_size):
        rows = np.arange(start, min(start + batch_size, len(data)))
        part = _subset(data, rows)
        out = _decode(model, part)[:, 1:]  # drop BOS
        # greedy_decode fills a finished row with EOS: those slots were never generated, and
        # would score a model that stops early a hit at the target's own EOS
        is_eos = out == EOS
        after_first_eos = np.cumsum(is_eos, axis=1) - is_eos > 0  # an EOS came before
        out = np.where(after_first_eos, PAD, out)  # PAD never matches a real target token
        target = part.tgt[:, 1:]  # y_1 ... EOS, PAD
        width = max(out.shape[1], target.shape[1])
        out = np.pad(out, ((0, 0), (0, width - out.shape[1])), constant_values=PAD)
        target = np.pad(target, ((0, 0), (0, width - target.shape[1])), constant_values=PAD)
        real = target != PAD
        hits = (out == target) & real
        correct[rows], total[rows] = hits.sum(1), real.sum(1)
        exact[rows] = hits.sum(1) == real.sum(1)
    by_length = {
        int(n): float(correct[data.src_lengths == n].sum() / total[data.src_lengths == n].sum())
        for n in np.unique(data.src_lengths)
    }
    return by_length, float(exact.mean())


def antidiagonal_weight(model: Seq2Seq, data: PairData, offset: int = 0) -> float:
    """Reversal: the share of attention on the token each output step must produce.

    The share of attention that output step t puts on source position n−1−t (the anti-diagonal:
    the token it must produce), averaged over the n real output tokens of every pair. With
    `offset`, on position n−1−t+offset instead (+1: the position after it, whose left-to-right
    encoder state read that token one step before), averaged over the same n steps, a step
    without such a position counting 0: so the shares at two offsets are parts of the same
    attention and add up to at most 1.

    Measured under teacher forcing, so every row is scored on the true prefix. A uniform
    alignment over the n source tokens would give 1/n. Runs in eval mode without recording
    a graph (a test set's graph would hold every activation); the model's mode is kept.
    """
    with no_grad(), evaluating(model):
        model(data.src, data.tgt_in, src_lengths=data.src_lengths)
    alpha = getattr(model, "last_attention", None)  # (B, T_out, T_in)
    if getattr(alpha, "ndim", None) != 3:  # none, or a Transformer's dict of one per layer
        raise TypeError(
            "antidiagonal_weight: expected a Seq2Seq with attention (one alignment of output "
            f"steps to source positions), got {_describe(model)}"
        )
    shares = []
    for b, n in enumerate(data.src_lengths):
        t = np.arange(n)
        position = n - 1 - t + offset
        real = (position >= 0) & (position < n)
        shares.append(alpha[b, t[real], position[real]].sum() / n)
    return float(np.mean(shares)) if shares else float("nan")


def _describe(model) -> str:
    if isinstance(model, Seq2Seq):
        return "a Seq2Seq without attention"
    return f"a {type(model).__name__}"


def _sizes(quick: bool, overrides: dict) -> dict:
    config = dict(QUICK if quick else FULL)
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"unknown sizes {sorted(unknown)}; known: {sorted(config)}")
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


def run_reversal(
    attention: str | None = "additive",
    cell: str = "lstm",
    quick: bool = True,
    seed: int = 0,
    model: str = "seq2seq",
    progress: Callable[[int, float], None] | None = None,
    **sizes,
) -> PairResult:
    """Train a model to reverse random symbol strings; measure accuracy by length.

    The model is a Seq2Seq (or, with model="transformer", a Transformer); the accuracy is
    measured by source length on fresh pairs.

    `sizes` override QUICK / FULL: min_len, max_len, num_symbols, emb, hidden, steps,
    batch, lr. The test set holds about 40 (quick) or 200 pairs of each length (lengths
    are drawn at random).
    """
    config = _sizes(quick, sizes)
    rng = np.random.default_rng(seed)
    lo, hi, k = config["min_len"], config["max_len"], config["num_symbols"]
    train = reverse_task(max(20 * config["batch"], 2000), lo, hi, k, seed=rng)
    per_length = 40 if quick else 200
    test = reverse_task(per_length * (hi - lo + 1), lo, hi, k, seed=rng)
    vocab = len(SPECIALS) + k
    manual_seed(seed)
    if model == "transformer":
        net: Module = Transformer(vocab, vocab, config["hidden"], 4, 2 * config["hidden"], 2)
    elif model == "seq2seq":
        net = Seq2Seq(vocab, vocab, config["emb"], config["hidden"], cell, attention)
    else:
        raise ValueError(f"run_reversal: model must be 'seq2seq' or 'transformer', got {model!r}")
    start = time.perf_counter()
    losses = train_pairs(
        net, train, config["steps"], config["batch"], config["lr"], seed=seed, progress=progress
    )
    by_length, exact = accuracy_by_length(net, test)
    diag = after = None
    if isinstance(net, Seq2Seq) and net.attention is not None:
        diag = antidiagonal_weight(net, test)
        after = antidiagonal_weight(net, test, offset=1)
    config.update(cell=cell, attention=attention, model=model, seed=seed)
    seconds = time.perf_counter() - start
    return PairResult(net, losses, by_length, exact, diag, seconds, config, after)


def compare_attention(
    cell: str = "lstm",
    attention: str = "additive",
    quick: bool = True,
    seed: int = 0,
    **sizes,
) -> dict[str, PairResult]:
    """The bottleneck experiment: Seq2Seq without and with attention.

    {"plain": Seq2Seq, "attention": Seq2Seq with attention}, same data, sizes and seed."""
    return {
        "plain": run_reversal(None, cell, quick, seed, **sizes),
        "attention": run_reversal(attention, cell, quick, seed, **sizes),
    }
