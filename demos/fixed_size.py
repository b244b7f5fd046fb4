"""Demo 1: what fixed-size inputs lose, and an RNN that reads the order.

- Bag-of-words: "cat sat on mat" and "mat sat on cat" give the same count vector.
- The order task (`data.order_task`: "the cat sat on the dog" -> is the first animal the
  smaller?): every count vector occurs equally often with each label, so an MLP on bag-of-words is
  at chance, while an RNN, LSTM and GRU read the order and solve it.
- Fixed windows: an MLP that sees only the last n tokens (one-hot, concatenated) is as good
  as its window: accuracy against n, and the number of distinct n-grams growing with n.
- Truncation and padding: for the lengths of a corpus, the share of tokens cut and the share
  of padded (wasted) slots against the chosen length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, require


def _window_classifier(vocab_size: int, n: int, hidden: int):
    """An MLP on the one-hot ids of the last n real tokens (left-padded): a fixed window."""
    nn = ts.nn

    class WindowMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n, self.vocab_size = n, vocab_size
            self.mlp = nn.MLP([n * vocab_size, hidden, 2])

        def forward(self, ids, mask=None):
            ids = np.asarray(ids)
            lengths = mask.sum(axis=1) if mask is not None else np.full(len(ids), ids.shape[1])
            window = np.zeros((len(ids), self.n), dtype=np.int64)  # PAD where it starts early
            for b, L in enumerate(lengths):
                last = ids[b, max(0, L - self.n) : L]
                window[b, self.n - len(last) :] = last
            onehot = np.eye(self.vocab_size, dtype=np.float32)[window]  # (B, n, V)
            return self.mlp(ts.Tensor(onehot.reshape(len(ids), -1)))  # (B, C)

    return WindowMLP()


def _last_word_baseline(train, test) -> float:
    """Test accuracy from the last word alone: each last word's majority label in `train`.

    The last word is the second animal; its size alone often settles "is the first one
    smaller?" (nothing is smaller than the mouse), so a window of one token is far above
    chance without seeing the first animal at all.
    """

    def last_words(d):
        return d.ids[np.arange(len(d.ids)), d.mask.sum(axis=1) - 1]

    train_last, test_last = last_words(train), last_words(test)
    majority = {w: int(train.labels[train_last == w].mean() >= 0.5) for w in np.unique(train_last)}
    guess = np.array([majority.get(w, 1) for w in test_last])
    return float((guess == test.labels).mean())


def _unseen(test, train):
    """The pairs of `test` whose sentences are not in `train` (as `train.run_order_task`)."""
    seen = {row.tobytes() for row in train.ids}
    keep = np.array([row.tobytes() not in seen for row in test.ids]).reshape(-1, 2).all(axis=1)
    rows = np.repeat(keep, 2)
    return type(test)(test.ids[rows], test.mask[rows], test.labels[rows], test.vocab)


def seed_examples(data) -> dict[str, Any]:
    """The seed's three worked examples of fixed-size inputs, computed with `data`'s tools.

    - "The cat sat on the mat" as bag-of-words counts (the seed: the 2, cat 1, ...);
    - trigrams: the seed lists "The cat sat", "cat sat on", "sat on the" as the trigrams
      "from 'The cat sat'", but those three words make one trigram: the three listed are the
      first three of "The cat sat on the mat" (all of "The cat sat on the");
    - "Hello world" padded to length 10: two words and eight PAD slots.
    """
    vocab = data.Vocab("the cat sat on mat".split())
    counts = data.bag_of_words(vocab.encode("the cat sat on the mat"), len(vocab))

    def trigrams(sentence: str) -> list[str]:
        windows = data.ngram_windows(vocab.encode(sentence), 3)
        return [" ".join(vocab.itos[i] for i in w) for w in windows]

    hello = data.Vocab(["Hello", "world"])
    padded, mask = data.pad_or_truncate([hello.encode("Hello world")], 10)
    return {
        "counts": {w: int(counts[vocab.stoi[w]]) for w in vocab.itos[len(data.SPECIALS) :]},
        "trigrams_of_the_cat_sat": trigrams("the cat sat"),
        "trigrams_of_the_cat_sat_on_the_mat": trigrams("the cat sat on the mat"),
        "padded_hello_world": hello.decode(padded[0], skip_special=False).split(),
        "padded_share": float(1 - mask.mean()),
    }


def _scores(accuracy: dict[str, float]) -> str:
    """ "the RNN scores 100%, the LSTM 98% and the GRU 100%": a clause with its verb."""
    parts = [f"the {k} {v:.0%}" for k, v in accuracy.items()]
    if not parts:
        return ""
    first = parts[0].rsplit(" ", 1)
    parts[0] = f"{first[0]} scores {first[1]}"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def run(ctx: DemoContext) -> dict[str, Any]:
    data = require("tinygrad_seq.data")
    train_mod = require("tinygrad_seq.train")
    Vocab, bag_of_words = data.Vocab, data.bag_of_words

    # 1. Bag-of-words: the seed's two sentences, and its "The cat sat on the mat" example.
    s1, s2 = "cat sat on mat", "mat sat on cat"
    vocab = Vocab(s1.split())
    v1 = bag_of_words(vocab.encode(s1), len(vocab), ignore_id=data.PAD)
    v2 = bag_of_words(vocab.encode(s2), len(vocab), ignore_id=data.PAD)
    bow_equal = bool(np.array_equal(v1, v2))
    words = vocab.itos[len(data.SPECIALS) :]
    v1, v2 = v1[len(data.SPECIALS) :], v2[len(data.SPECIALS) :]  # (the specials count 0)
    examples = seed_examples(data)
    counts_example = examples["counts"]

    # 2. The order task: BoW MLP vs RNN / LSTM / GRU, and fixed windows of n tokens.
    steps = ctx.pick(tiny=100, quick=150, full=600)
    quick = ctx.size != "full"
    accuracy: dict[str, float] = {}
    losses: dict[str, list[float]] = {}
    for kind, label in ctx.progress(
        [("bow", "BoW MLP"), ("rnn", "RNN"), ("lstm", "LSTM"), ("gru", "GRU")],
        "fixed-size: order task",
    ):
        r = train_mod.run_order_task(kind, quick=quick, seed=ctx.seed, steps=steps)
        accuracy[label] = r.test_accuracy
        losses[label] = r.losses

    train = data.order_task(300 if quick else 2000, seed=ctx.seed)
    test = _unseen(data.order_task(200 if quick else 1000, seed=ctx.seed + 10_000), train)
    windows = ctx.pick(tiny=[1, 3, 6], quick=[1, 2, 3, 4, 5, 6, 8], full=[1, 2, 3, 4, 5, 6, 8])
    window_acc = []
    for n in ctx.progress(windows, "fixed-size: windows"):
        ts.manual_seed(ctx.seed)
        net = _window_classifier(len(train.vocab), n, 32)
        r = train_mod.train_classifier(
            net, train, test, steps, batch_size=32, lr=1e-2, seed=ctx.seed
        )
        window_acc.append(r.test_accuracy)
    last_word = _last_word_baseline(train, test)
    trigrams = examples["trigrams_of_the_cat_sat_on_the_mat"]

    # 3. n-grams and truncation/padding on a corpus of the toy language (1 to 4 clauses)
    pairs = data.translation_task(2000, max_clauses=4, seed=ctx.seed)
    lengths = pairs.src_lengths
    sentences = [row[:L] for row, L in zip(pairs.src, lengths, strict=True)]
    ngram_n = [1, 2, 3, 4, 5, 6]
    distinct, ngram_windows = [], []  # distinct n-grams; n-token windows, the most there can be
    for n in ngram_n:
        grams = {tuple(w) for s in sentences if len(s) >= n for w in data.ngram_windows(s, n)}
        distinct.append(len(grams))
        ngram_windows.append(int(sum(max(0, len(s) - n + 1) for s in sentences)))
    word_vocab = len(pairs.src_vocab) - len(data.SPECIALS)
    Ls = np.arange(1, int(lengths.max()) + 1)
    cut = [float(np.maximum(lengths - L, 0).sum() / lengths.sum()) for L in Ls]
    padded = [float(np.maximum(L - lengths, 0).sum() / (L * len(lengths))) for L in Ls]
    cross = int(Ls[np.argmin(np.abs(np.array(cut) - np.array(padded)))])
    median_len = int(np.median(lengths))

    from tinygrad_seq.viz import plots

    fig = plots.fixed_size_figure(
        ctx.figure("fixed_size.png"),
        words,
        v1,
        v2,
        s1,
        s2,
        accuracy,
        losses,
        windows,
        window_acc,
        last_word,
        ngram_n,
        distinct,
        word_vocab,
        Ls,
        cut,
        padded,
        ngram_windows,
    )
    rnn_like = {k: v for k, v in accuracy.items() if k != "BoW MLP"}
    measured = (
        f'"{s1}" and "{s2}" give the same bag-of-words vector ({bow_equal}); the seed\'s '
        f'"The cat sat on the mat" counts as {counts_example}. On the order task (unseen test '
        f"sentences, {steps} Adam steps) the bag-of-words MLP scores "
        f"{accuracy['BoW MLP']:.0%} (chance 50%: each count vector occurs equally often "
        "with each label), while "
        + _scores(rnn_like)
        + ". A fixed window of the last n tokens scores "
        + ", ".join(f"{a:.0%} (n={n})" for n, a in zip(windows, window_acc, strict=True))
        + f": the last word alone (the second animal) scores {last_word:.0%}, as a guess "
        "from its size can (nothing is smaller than the mouse), and the window only solves "
        "the task once it reaches back to the first animal. The possible n-grams of "
        f"{word_vocab} words, the features an n-gram model must allow for, grow exponentially: "
        f"{word_vocab}^n, {float(word_vocab) ** ngram_n[-1]:.1e} at n = {ngram_n[-1]}. "
        f"In a toy corpus of {len(sentences)} sentences the distinct n-grams grow from "
        f"{distinct[0]} (n=1) to {distinct[-1]:,} (n={ngram_n[-1]}), ever more slowly: the "
        f"corpus has only {ngram_windows[-1]:,} windows of {ngram_n[-1]} tokens, the most "
        "distinct ones it could hold, so most possible n-grams never occur in it. "
        f'Trigrams of "the cat sat on the mat": {trigrams}; the seed lists the first three '
        'as the trigrams "from The cat sat", whose three words make one trigram, '
        f'{examples["trigrams_of_the_cat_sat"]}. The seed\'s "Hello world" padded to length '
        f"10 is {examples['padded_hello_world']}: {examples['padded_share']:.0%} of its slots "
        f"are padding. For the lengths of that corpus ({lengths.min()}–{lengths.max()} words, "
        f"median {median_len}), truncating to L = {median_len} cuts "
        f"{cut[median_len - 1]:.0%} of all tokens and pads {padded[median_len - 1]:.0%} of the"
        f" slots; the two losses are equal near L = {cross}, and no L avoids both."
    )
    return {
        "headline": (
            f"BoW equal: {bow_equal}; order task BoW MLP {accuracy['BoW MLP']:.0%} vs RNN "
            f"{accuracy['RNN']:.0%}, LSTM {accuracy['LSTM']:.0%}, GRU {accuracy['GRU']:.0%}"
        ),
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            f'BoW("{s1}") == BoW("{s2}")': str(bow_equal),
            "order task test accuracy: BoW MLP / RNN / LSTM / GRU": " / ".join(
                f"{accuracy[k]:.0%}" for k in ("BoW MLP", "RNN", "LSTM", "GRU")
            ),
            "last-n-token window MLP accuracy, n = " + ",".join(map(str, windows)): " / ".join(
                f"{a:.0%}" for a in window_acc
            ),
            f"truncate/pad at L={median_len}: tokens cut / slots padded": (
                f"{cut[median_len - 1]:.1%} / {padded[median_len - 1]:.1%}"
            ),
        },
        "numbers": {
            "bow": {
                "sentences": [s1, s2],
                "words": words,
                "vectors": [v1, v2],
                "equal": bow_equal,
                "the_cat_sat_on_the_mat": counts_example,
            },
            "order_task": {
                "test_accuracy": accuracy,
                "steps": steps,
                "chance": 0.5,
                "final_loss": {k: v[-1] for k, v in losses.items()},
            },
            "windows": {
                "n": windows,
                "test_accuracy": window_acc,
                "last_word_alone": last_word,
            },
            "ngrams": {
                "n": ngram_n,
                "distinct": distinct,
                "windows_in_corpus": ngram_windows,
                "word_vocab": word_vocab,
                "sentences": len(sentences),
                "trigrams_example": trigrams,
                "trigrams_of_the_cat_sat": examples["trigrams_of_the_cat_sat"],
            },
            "pad_truncate": {
                "seed_example": examples["padded_hello_world"],
                "seed_example_padded_share": examples["padded_share"],
                "lengths_min": int(lengths.min()),
                "lengths_max": int(lengths.max()),
                "median": median_len,
                "L": Ls,
                "fraction_cut": cut,
                "fraction_padded": padded,
                "equal_loss_L": cross,
            },
        },
    }


command = demo_command("fixed-size")
