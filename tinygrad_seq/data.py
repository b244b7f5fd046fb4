"""Small seeded toy tasks that show the seed's points, and the fixed-size baselines.

Nothing is downloaded: every task is generated from a seed (an int or a NumPy Generator)
and comes back as NumPy arrays, so the same seed gives the same data on every machine.

- The seed's fixed-size inputs for MLPs, as data transforms: `bag_of_words`,
  `ngram_windows`, `pad_or_truncate` (with its mask), and a tiny word `Vocab`.
- `order_task`: "the cat sat on the dog" vs "the dog sat on the cat": the label depends on
  word order only, so bag-of-words is exactly at chance (50%) while an RNN can solve it.
- `delay_task`: remember the first token across D distractor steps (chance 1/num_symbols):
  hard for a vanilla RNN (vanishing gradients); a gated cell can carry it (an LSTM started
  at forget bias 3 learns D = 40, see `train.run_delay_task`).
- `agreement_task`: the seed's "The cat that I saw yesterday was black": a subject, singular
  or plural, then a relative clause of k words, then the verb, which must agree with the
  subject ("was" or "were", chance 50%); the clause has subjects of its own ("I", "the dogs").
- `translation_task`, `reverse_task`, `copy_task`: source/target pairs with BOS/EOS/PAD for
  the encoder-decoder models.

Token ids 0-3 are the same in every vocabulary: PAD, BOS, EOS, UNK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from ._checks import as_bool, as_id_array, as_int
from .backend import host

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "UNK",
    "Vocab",
    "bag_of_words",
    "ngram_windows",
    "pad_or_truncate",
    "SequenceData",
    "PairData",
    "order_task",
    "ORDER_ANIMALS",
    "delay_task",
    "agreement_task",
    "agreement_clause",
    "AGREEMENT_SUBJECTS",
    "AGREEMENT_VERBS",
    "AGREEMENT_PRONOUNS",
    "translation_task",
    "TRANSLATION_DICTIONARY",
    "reverse_task",
    "copy_task",
    "as_generator",
]


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A NumPy Generator from an int seed (None: a fresh one), or the Generator itself.

    This is what every task here takes as `seed`."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, int | np.integer):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__}")


def _replace_fields(self, **changes):
    """NamedTuple._replace for the data sets below: theirs counts the fields with len(),
    which there is the number of examples (typing.NamedTuple allows no override in the
    class body, hence the assignment after each class)."""
    return type(self)(**{**self._asdict(), **changes})


@classmethod
def _make_fields(cls, iterable):
    """NamedTuple._make for the data sets below: theirs checks the field count with len(),
    which there is the number of examples (as with _replace)."""
    values = tuple(iterable)
    if len(values) != len(cls._fields):
        raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(values)}")
    return tuple.__new__(cls, values)


def _is_sequence(value) -> bool:
    """Whether `value` is a list, tuple or array with an axis (a row of ids, not one id)."""
    return isinstance(value, list | tuple) or bool(getattr(value, "ndim", 0))


def _no_bare_str(value, who: str, expected: str) -> None:
    # iterating a str gives its characters: almost never what was meant
    if isinstance(value, str):
        raise TypeError(f"{who}: expected {expected}, got a single string {value!r}")


def _positive(value: int, what: str, who: str, minimum: int = 1) -> int:
    """`value` as an int ≥ `minimum`: a TypeError for a float, a string or a bool (True is
    not 1 example), a ValueError below the minimum."""
    n = as_int(value, f"{who}: {what}", "an integer")
    if n < minimum:
        raise ValueError(f"{who}: {what} must be an integer >= {minimum}, got {value!r}")
    return n


# --------------------------------------------------------------------------- vocabulary
class Vocab:
    """Words <-> integer ids; ids 0-3 are <pad> <bos> <eos> <unk>, then the words in order.

    >>> v = Vocab("the cat sat on mat".split())
    >>> v.encode("the cat sat on the mat")
    array([4, 5, 6, 7, 4, 8])
    >>> v.decode([4, 5, 6, 7, 4, 8])
    'the cat sat on the mat'
    >>> v.decode([[4, 5, 2, 0], [6, 7, 2, 0]])
    ['the cat', 'sat on']
    """

    def __init__(self, words: Iterable[str]) -> None:
        """`words`: a list (any iterable) of words, not one string (that would give letters)."""
        _no_bare_str(words, "Vocab", "a list of words, e.g. Vocab(text.split())")
        self.itos: list[str] = list(SPECIALS)
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(SPECIALS)}
        for w in words:
            if w not in self.stoi:
                self.stoi[w] = len(self.itos)
                self.itos.append(w)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocab:
        """A vocabulary of every whitespace-separated word in `texts`, in order of appearance.

        `texts` is a list of sentences."""
        _no_bare_str(texts, "Vocab.from_texts", "a list of sentences, e.g. [text]")
        return cls(w for text in texts for w in text.split())

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return (
            f"Vocab({len(self)} ids: {' '.join(self.itos[:12])}{' ...' if len(self) > 12 else ''})"
        )

    def encode(
        self, sentence: str | Sequence[str], bos: bool = False, eos: bool = False
    ) -> np.ndarray:
        """ids (L,) int64 of a sentence (a string split on spaces, or a list of words).

        Unknown words become UNK."""
        bos, eos = as_bool(bos, "Vocab.encode: bos"), as_bool(eos, "Vocab.encode: eos")
        words = sentence.split() if isinstance(sentence, str) else list(sentence)
        ids = [self.stoi.get(w, UNK) for w in words]
        return np.array([BOS] * bos + ids + [EOS] * eos, dtype=np.int64)

    def decode(self, ids, skip_special: bool = True) -> str | list[str]:
        """The words of integer `ids` (a list, a NumPy/CuPy array or a Tensor) joined by spaces.

        Stops at EOS and drops PAD/BOS (unless `skip_special` is False).

        ids (L,) -> one string; a batch (B, L), such as greedy_decode's output, -> a list
        of B strings, one per row.
        """
        if isinstance(ids, list | tuple) and ids and any(map(_is_sequence, ids)):
            if not all(map(_is_sequence, ids)):  # (NumPy would say "inhomogeneous shape")
                raise ValueError(
                    "Vocab.decode: expected ids of shape (L,) or (B, L); this list mixes rows "
                    "with single ids: pass one row of ids, or a list of rows"
                )
            # a batch as a list of rows, which may differ in length: one row at a time
            rows = [self.decode(row, skip_special) for row in ids]
            if not all(isinstance(row, str) for row in rows):
                raise ValueError(
                    "Vocab.decode: expected ids of shape (L,) or (B, L); a row here holds rows"
                )
            return rows
        ids = host(ids)
        if ids.size and ids.dtype.kind not in "iu":
            raise TypeError(f"Vocab.decode: ids must be integers, got dtype {ids.dtype}")
        if ids.ndim > 2:
            raise ValueError(
                f"Vocab.decode: expected ids of shape (L,) or (B, L), got shape {ids.shape}"
            )
        if ids.ndim == 2:
            return [self._decode_row(row, skip_special) for row in ids.tolist()]
        return self._decode_row(ids.reshape(-1).tolist(), skip_special)

    def _decode_row(self, ids: list[int], skip_special: bool) -> str:
        words = []
        for i in ids:
            if skip_special and i == EOS:
                break
            if skip_special and i in (PAD, BOS):
                continue
            words.append(self.itos[i] if 0 <= i < len(self.itos) else SPECIALS[UNK])
        return " ".join(words)


# --------------------------------------------------------------------------- fixed-size inputs
def bag_of_words(ids, vocab_size: int, ignore_id: int | None = None) -> np.ndarray:
    """Word counts: ids (L,) -> (V,), or (B, L) / a list of B sequences -> (B, V), float32.

    The sequences of a list may differ in length; an empty one counts nothing (a row of
    zeros). Order is lost: "cat sat on mat" and "mat sat on cat" give the same vector. Pass
    `ignore_id=PAD` not to count padding.
    """
    vocab_size = _positive(vocab_size, "vocab_size", "bag_of_words")
    if isinstance(ids, list | tuple) and ids and not np.isscalar(ids[0]):
        rows = [bag_of_words(s, vocab_size, ignore_id) for s in ids]
        if any(row.ndim != 1 for row in rows):  # a row that holds rows: (B, L) at most
            raise ValueError(
                "bag_of_words: expected integer ids of shape (L,) or (B, L), or a list of "
                "sequences; a sequence here holds sequences"
            )
        return np.stack(rows)
    ids = host(ids)
    if ids.ndim not in (1, 2) or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(
            f"bag_of_words: expected integer ids of shape (L,) or (B, L), got {ids.dtype} of "
            f"shape {ids.shape}"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"bag_of_words: ids must lie in [0, {vocab_size}), got ids from {ids.min()} to "
            f"{ids.max()}"
        )
    rows = (ids[None] if ids.ndim == 1 else ids).astype(np.int64)  # (B, L), L may be 0
    counts = np.zeros((rows.shape[0], vocab_size), dtype=np.float32)
    np.add.at(counts, (np.arange(rows.shape[0])[:, None], rows), 1.0)
    if ignore_id is not None and 0 <= ignore_id < vocab_size:
        counts[:, ignore_id] = 0.0
    return counts[0] if ids.ndim == 1 else counts


def ngram_windows(ids, n: int) -> np.ndarray:
    """Sliding windows of n consecutive ids: (L,) -> (L−n+1, n), or (B, L) -> (B, L−n+1, n).

    The seed's fixed-window input: each window sees n tokens and nothing further back.
    """
    n = _positive(n, "n", "ngram_windows")
    ids = host(
        as_id_array(
            ids,
            "ngram_windows: the rows of ids have different lengths; pad them to one length "
            "(pad_or_truncate)",
        )
    )
    # refuse float ids, as bag_of_words and pad_or_truncate do: windows of 1.5 are no tokens
    if ids.ndim not in (1, 2) or ids.shape[-1] < n or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(
            f"ngram_windows: expected integer ids of shape (L,) or (B, L) with L >= n = {n}, "
            f"got {ids.dtype} of shape {ids.shape}"
        )
    return np.lib.stride_tricks.sliding_window_view(ids, n, axis=-1).copy()


def pad_or_truncate(
    seqs: Iterable[Sequence[int]], length: int, pad_id: int = PAD
) -> tuple[np.ndarray, np.ndarray]:
    """Cut each sequence to `length` ids or pad it with `pad_id`.

    `seqs`: B sequences of integer ids (lists or 1-D arrays, of any lengths); `pad_id` an
    int. Returns ids (B, length) int64 and mask (B, length) bool, True at real tokens. What
    is cut is lost, and the padding is wasted work: the seed's two objections.
    """
    who = "pad_or_truncate"
    length = _positive(length, "length", who, minimum=0)
    if isinstance(pad_id, bool) or not isinstance(pad_id, int | np.integer):
        raise ValueError(f"{who}: pad_id must be an integer id, got {pad_id!r}")
    seqs = [host(s) for s in seqs]
    for b, s in enumerate(seqs):
        # refuse rather than cast: int() would silently truncate 1.7 to 1
        if s.ndim != 1 or (s.size and s.dtype.kind not in "iu"):
            hint = ""
            if s.ndim == 0:
                hint = "; a single sequence goes in a list of its own, [ids]"
            elif s.dtype.kind in "SU":
                hint = "; encode words with Vocab.encode first"
            raise ValueError(
                f"{who}: expected each sequence to be integer ids of shape (L,), got "
                f"{s.dtype} of shape {s.shape} at position {b}{hint}"
            )
    ids = np.full((len(seqs), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), length), dtype=bool)
    for b, s in enumerate(seqs):
        n = min(len(s), length)
        ids[b, :n] = s[:n]
        mask[b, :n] = True
    return ids, mask


# --------------------------------------------------------------------------- classification tasks
class SequenceData(NamedTuple):
    """A sequence-classification data set: ids, mask, labels, vocabulary and classes.

    ids (N, L) int64 padded with PAD, mask (N, L) bool (True = real token), labels (N,) int64
    in [0, classes), the vocabulary, and the number of classes the task has (None: unknown,
    counted from the labels).

    `len(data)` counts the examples (N), while indexing and unpacking go over the fields,
    as for any named tuple (`ids, mask, labels, vocab, classes = data`): pick examples
    from the arrays (`data.ids[:10]`)."""

    ids: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    vocab: Vocab
    classes: int | None = None

    @property
    def num_classes(self) -> int:
        """The task's number of classes.

        From the labels only when the task did not say, where a class that no example happens to
        have goes uncounted."""
        if self.classes is not None:
            return self.classes
        return int(self.labels.max()) + 1 if self.labels.size else 0

    def __len__(self) -> int:
        return len(self.labels)


SequenceData._replace = _replace_fields
SequenceData._make = _make_fields


# smallest to largest: the label says whether the animal on top is the smaller one
ORDER_ANIMALS = ("mouse", "cat", "dog", "horse", "elephant")
_ORDER_ADJECTIVES = ("old", "young", "black", "white", "lazy", "happy")
_ORDER_VERBS = ("sat", "slept", "stood")
_ORDER_VOCAB = Vocab(["the", "on", *_ORDER_VERBS, *_ORDER_ADJECTIVES, *ORDER_ANIMALS])


def order_task(num_pairs: int, seed: int | np.random.Generator = 0) -> SequenceData:
    """Sentences "the [adj] X sat on the [adj] Y"; label 1 if X is smaller than Y.

    Sizes follow ORDER_ANIMALS (mouse < cat < dog < horse < elephant); adjectives are
    optional, so lengths vary from 6 to 8 words. Every sentence comes with its swap
    ("... Y sat on the X ...", same adjectives and verb, opposite label), so each
    bag-of-words vector appears equally often with each label (a vector may recur across
    pairs, always as a balanced count): any classifier of word counts scores exactly 50%,
    while the order of the words decides the label.

    Returns 2·num_pairs examples (pairs adjacent): ids (N, 8), mask (N, 8), labels (N,).
    """
    num_pairs = _positive(num_pairs, "num_pairs", "order_task")
    rng = as_generator(seed)
    vocab = _ORDER_VOCAB
    sentences, labels = [], []
    for _ in range(num_pairs):
        x, y = rng.choice(len(ORDER_ANIMALS), size=2, replace=False)
        adj_x, adj_y = (
            [_ORDER_ADJECTIVES[rng.integers(len(_ORDER_ADJECTIVES))]] if rng.random() < 0.5 else []
            for _ in range(2)
        )
        verb = _ORDER_VERBS[rng.integers(len(_ORDER_VERBS))]
        for a, b in ((x, y), (y, x)):
            words = ["the", *adj_x, ORDER_ANIMALS[a], verb, "on", "the", *adj_y, ORDER_ANIMALS[b]]
            sentences.append(vocab.encode(words))
            labels.append(int(a < b))
    ids, mask = pad_or_truncate(sentences, 8)
    return SequenceData(ids, mask, np.array(labels, dtype=np.int64), vocab, classes=2)


def delay_task(
    num_samples: int,
    delay: int,
    num_symbols: int = 4,
    num_distractors: int = 4,
    seed: int | np.random.Generator = 0,
) -> SequenceData:
    """Remember the first token: [s, n_1, ..., n_D, ?] -> label s.

    s is one of `num_symbols` symbols ("A", "B", ...), the D = `delay` tokens after it are
    random distractors ("n1", "n2", ...) and "?" asks for s. Chance is 1/num_symbols. The
    answer's only trace is D + 1 steps back, so a vanilla RNN's gradient must survive a
    product of D + 1 Jacobians (the seed's vanishing-gradient problem). Try D = 10, 50, 100.

    Returns ids (N, D+2), mask (N, D+2) all True, labels (N,).
    """
    who = "delay_task"
    num_samples = _positive(num_samples, "num_samples", who)
    delay = _positive(delay, "delay", who, minimum=0)
    num_symbols = _positive(num_symbols, "num_symbols", who, minimum=2)
    num_distractors = _positive(num_distractors, "num_distractors", who)
    rng = as_generator(seed)
    symbols = [chr(ord("A") + i) if i < 26 else f"S{i}" for i in range(num_symbols)]
    distractors = [f"n{i + 1}" for i in range(num_distractors)]
    vocab = Vocab([*symbols, *distractors, "?"])
    first_symbol, first_distractor = len(SPECIALS), len(SPECIALS) + num_symbols
    labels = rng.integers(num_symbols, size=num_samples)
    ids = np.empty((num_samples, delay + 2), dtype=np.int64)
    ids[:, 0] = first_symbol + labels
    ids[:, 1:-1] = first_distractor + rng.integers(num_distractors, size=(num_samples, delay))
    ids[:, -1] = vocab.stoi["?"]
    mask = np.ones(ids.shape, dtype=bool)
    return SequenceData(ids, mask, labels.astype(np.int64), vocab, classes=num_symbols)


# The agreement task's words. Each subject comes singular and plural; the clause's own
# subjects are pronouns of either number ("you" of both) or "the" with a subject noun, so
# the last subject before the verb is not the one it agrees with.
AGREEMENT_SUBJECTS = (("cat", "cats"), ("dog", "dogs"), ("bird", "birds"), ("fox", "foxes"))
AGREEMENT_VERBS = ("was", "were")  # the answer: label 0 singular, 1 plural
AGREEMENT_PRONOUNS = ("I", "you", "he", "she", "we", "they")
_CLAUSE_VERBS = ("saw", "fed", "met", "liked", "heard")
_CLAUSE_ADVERBS = ("yesterday", "today", "there", "again", "twice")
_AGREEMENT_VOCAB = Vocab(
    [
        "the",
        *(word for pair in AGREEMENT_SUBJECTS for word in pair),
        "that",
        "and",
        *AGREEMENT_PRONOUNS,
        *_CLAUSE_VERBS,
        *_CLAUSE_ADVERBS,
        "?",
    ]
)


def agreement_clause(
    length: int, seed: int | np.random.Generator = 0, begin: str = "that"
) -> list[str]:
    """A relative clause of exactly `length` words, as the agreement task's.

    "that I saw yesterday and the dogs fed there and ...", cut off after `length` words
    (0: no clause).
    Each part is `begin` (then "and"), a subject of the clause (a pronoun, or "the" and a
    singular or plural noun, each half the time), a verb and an adverb. The seed's clause
    "that I saw yesterday" is one such clause of length 4."""
    who = "agreement_clause"
    length = _positive(length, "length", who, minimum=0)
    if not isinstance(begin, str):
        raise TypeError(f"{who}: begin must be a word (str), got {type(begin).__name__}")
    rng = as_generator(seed)
    words: list[str] = []
    while len(words) < length:
        words.append("and" if words else begin)
        if rng.random() < 0.5:
            words.append(AGREEMENT_PRONOUNS[rng.integers(len(AGREEMENT_PRONOUNS))])
        else:
            pair = AGREEMENT_SUBJECTS[rng.integers(len(AGREEMENT_SUBJECTS))]
            words += ["the", pair[rng.integers(2)]]
        words.append(_CLAUSE_VERBS[rng.integers(len(_CLAUSE_VERBS))])
        words.append(_CLAUSE_ADVERBS[rng.integers(len(_CLAUSE_ADVERBS))])
    return words[:length]


def agreement_task(
    num_samples: int,
    clause_lengths: int | Sequence[int],
    seed: int | np.random.Generator = 0,
) -> SequenceData:
    """Subject-verb agreement across a relative clause of k words (chance 50%).

    "the cat that I saw yesterday ?" -> "was", "the cats that I saw yesterday ?" -> "were".
    Each sentence is "the", a subject noun (singular or plural, label 0 or 1: the index of
    its verb in AGREEMENT_VERBS), a clause of k words (`agreement_clause`) and "?", the
    place of the verb. k is `clause_lengths` (an int), or drawn evenly from it (a list of
    ints). The answer's only trace is the subject k + 1 steps back, and the clause brings
    subjects of its own, of either number, so "the number of the last noun" is no answer.
    Chance is 50%.

    Returns ids (N, K + 3) padded with PAD (K the longest k), mask (N, K + 3), labels (N,).
    """
    who = "agreement_task"
    num_samples = _positive(num_samples, "num_samples", who)
    if isinstance(clause_lengths, str) or not _is_sequence(clause_lengths):
        clause_lengths = [clause_lengths]
    lengths = [_positive(k, "each clause length", who, minimum=0) for k in clause_lengths]
    if not lengths:
        raise ValueError(f"{who}: clause_lengths is empty; give one length k or a list of them")
    rng = as_generator(seed)
    vocab = _AGREEMENT_VOCAB
    labels = rng.integers(2, size=num_samples)
    sentences = []
    for label in labels:
        k = lengths[rng.integers(len(lengths))]
        subject = AGREEMENT_SUBJECTS[rng.integers(len(AGREEMENT_SUBJECTS))][label]
        sentences.append(vocab.encode(["the", subject, *agreement_clause(k, rng), "?"]))
    ids, mask = pad_or_truncate(sentences, max(lengths) + 3)
    return SequenceData(ids, mask, labels.astype(np.int64), vocab, classes=2)


# --------------------------------------------------------------------------- sequence pairs
class PairData(NamedTuple):
    """Source/target pairs for encoder-decoder models.

    src (N, S) int64: source ids padded with PAD; src_lengths (N,).
    tgt (N, L) int64: BOS, target ids, EOS, then PAD; tgt_lengths (N,) counts BOS and EOS.
    Teacher forcing feeds `tgt_in` = tgt[:, :-1] and predicts `tgt_out` = tgt[:, 1:]
    (ignore PAD in the loss: cross_entropy(..., ignore_index=PAD)).

    `len(data)` counts the pairs (N), while indexing and unpacking go over the fields, as
    for any named tuple: pick pairs from the arrays (`data.src[:10]`).
    """

    src: np.ndarray
    src_lengths: np.ndarray
    tgt: np.ndarray
    tgt_lengths: np.ndarray
    src_vocab: Vocab
    tgt_vocab: Vocab

    @property
    def src_mask(self) -> np.ndarray:
        """(N, S) bool, True at real source tokens."""
        return np.arange(self.src.shape[1])[None, :] < self.src_lengths[:, None]

    @property
    def tgt_in(self) -> np.ndarray:
        """(N, L−1): the decoder's inputs under teacher forcing (starts with BOS)."""
        return self.tgt[:, :-1]

    @property
    def tgt_out(self) -> np.ndarray:
        """(N, L−1): what the decoder must predict at each step (ends with EOS, then PAD)."""
        return self.tgt[:, 1:]

    def __len__(self) -> int:
        return len(self.src)


PairData._replace = _replace_fields
PairData._make = _make_fields


def _pairs(
    sources: list[np.ndarray], targets: list[np.ndarray], src_vocab: Vocab, tgt_vocab: Vocab
) -> PairData:
    """Pad sources, wrap targets in BOS ... EOS and pad them."""
    targets = [np.concatenate([[BOS], t, [EOS]]).astype(np.int64) for t in targets]
    src_lengths = np.array([len(s) for s in sources], dtype=np.int64)
    tgt_lengths = np.array([len(t) for t in targets], dtype=np.int64)
    src, _ = pad_or_truncate(sources, int(src_lengths.max()))
    tgt, _ = pad_or_truncate(targets, int(tgt_lengths.max()))
    return PairData(src, src_lengths, tgt, tgt_lengths, src_vocab, tgt_vocab)


# A word-for-word dictionary; colours follow their noun in the target language, as in French
# (every noun masculine and starting with a consonant, so "le", "un" and the colours agree
# with each, and no "le" elides to "l'").
TRANSLATION_DICTIONARY = {
    "the": "le", "a": "un", "and": "et",
    "cat": "chat", "dog": "chien", "wolf": "loup", "rat": "rat", "horse": "cheval",
    "sees": "voit", "chases": "chasse", "likes": "aime", "bites": "mord",
    "red": "rouge", "black": "noir", "white": "blanc", "green": "vert",
}  # fmt: skip
_NOUNS = ("cat", "dog", "wolf", "rat", "horse")
_VERBS = ("sees", "chases", "likes", "bites")
_COLOURS = ("red", "black", "white", "green")
_SRC_VOCAB = Vocab(TRANSLATION_DICTIONARY)
_TGT_VOCAB = Vocab(TRANSLATION_DICTIONARY.values())


def _noun_phrase(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """("the red cat", "le chat rouge"): determiner, optional colour, noun; colour moves."""
    det = ("the", "a")[rng.integers(2)]
    noun = _NOUNS[rng.integers(len(_NOUNS))]
    colour = [_COLOURS[rng.integers(len(_COLOURS))]] if rng.random() < 0.5 else []
    source = [det, *colour, noun]
    target = [TRANSLATION_DICTIONARY[w] for w in (det, noun, *colour)]
    return source, target


def translation_task(
    num_pairs: int, max_clauses: int = 1, seed: int | np.random.Generator = 0
) -> PairData:
    """A toy language pair: "the red cat sees a dog" -> "le chat rouge voit un chien".

    Each clause is noun-phrase verb noun-phrase, a noun phrase being a determiner, an
    optional colour and a noun, so 5 to 7 words; up to `max_clauses` clauses joined by
    "and" make longer sentences. Words translate one for one through TRANSLATION_DICTIONARY,
    but a colour adjective moves after its noun, so the alignment is not the identity.
    Returns PairData (see its shapes).
    """
    num_pairs = _positive(num_pairs, "num_pairs", "translation_task")
    max_clauses = _positive(max_clauses, "max_clauses", "translation_task")
    rng = as_generator(seed)
    sources, targets = [], []
    for _ in range(num_pairs):
        src_words: list[str] = []
        tgt_words: list[str] = []
        for k in range(int(rng.integers(1, max_clauses + 1))):
            if k:
                src_words.append("and")
                tgt_words.append("et")
            subj_src, subj_tgt = _noun_phrase(rng)
            obj_src, obj_tgt = _noun_phrase(rng)
            verb = _VERBS[rng.integers(len(_VERBS))]
            src_words += [*subj_src, verb, *obj_src]
            tgt_words += [*subj_tgt, TRANSLATION_DICTIONARY[verb], *obj_tgt]
        sources.append(_SRC_VOCAB.encode(src_words))
        targets.append(_TGT_VOCAB.encode(tgt_words))
    return _pairs(sources, targets, _SRC_VOCAB, _TGT_VOCAB)


def _symbol_pairs(
    num_pairs: int, min_len: int, max_len: int, num_symbols: int, seed, reverse: bool, who: str
) -> PairData:
    num_pairs = _positive(num_pairs, "num_pairs", who)
    min_len = _positive(min_len, "min_len", who)
    max_len = _positive(max_len, "max_len", who, minimum=min_len)
    num_symbols = _positive(num_symbols, "num_symbols", who)
    rng = as_generator(seed)
    vocab = Vocab(f"s{i}" for i in range(num_symbols))
    lengths = rng.integers(min_len, max_len + 1, size=num_pairs)
    sources = [len(SPECIALS) + rng.integers(num_symbols, size=n) for n in lengths]
    targets = [s[::-1] if reverse else s for s in sources]
    return _pairs(sources, targets, vocab, vocab)


def reverse_task(
    num_pairs: int,
    min_len: int = 3,
    max_len: int = 8,
    num_symbols: int = 10,
    seed: int | np.random.Generator = 0,
) -> PairData:
    """Random symbol strings and their reversal: [s3 s1 s7] -> BOS s7 s1 s3 EOS.

    Lengths are uniform in [min_len, max_len]; source and target share one vocabulary
    (PAD BOS EOS UNK s0 s1 ...). Returns PairData (see its shapes).
    """
    return _symbol_pairs(num_pairs, min_len, max_len, num_symbols, seed, True, "reverse_task")


def copy_task(
    num_pairs: int,
    min_len: int = 3,
    max_len: int = 8,
    num_symbols: int = 10,
    seed: int | np.random.Generator = 0,
) -> PairData:
    """Random symbol strings copied: [s3 s1 s7] -> BOS s3 s1 s7 EOS (see `reverse_task`)."""
    return _symbol_pairs(num_pairs, min_len, max_len, num_symbols, seed, False, "copy_task")
