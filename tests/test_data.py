"""The toy tasks and the seed's fixed-size baselines: shapes, determinism by seed, and the
properties each task exists to show."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from tinygrad_seq import data
from tinygrad_seq.data import BOS, EOS, PAD, Vocab

pytestmark = pytest.mark.numpy_only  # host-side NumPy only: nothing here depends on the backend


# ----------------------------------------------------------------- vocabulary and baselines
def test_vocab_round_trip_and_specials():
    vocab = Vocab("the cat sat on mat".split())
    ids = vocab.encode("the cat sat on the mat")
    assert ids.dtype == np.int64 and ids.tolist() == [4, 5, 6, 7, 4, 8]
    assert vocab.decode(ids) == "the cat sat on the mat"
    assert vocab.encode("the dog", bos=True, eos=True).tolist() == [BOS, 4, data.UNK, EOS]
    assert vocab.decode([BOS, 5, 6, EOS, 7, PAD]) == "cat sat"  # stops at EOS
    assert vocab.decode([BOS, 5, PAD], skip_special=False) == "<bos> cat <pad>"
    assert len(vocab) == 9 and Vocab.from_texts(["a b", "b c"]).itos[4:] == ["a", "b", "c"]
    # any run of whitespace separates words: no empty word, no word holding a tab
    assert Vocab.from_texts([" a  b\tc\n", "d"]).itos[4:] == ["a", "b", "c", "d"]
    with pytest.raises(TypeError, match="Vocab.encode: bos must be True or False, got int 2"):
        vocab.encode("the cat", bos=2)  # it gave two BOS tokens


def test_vocab_decodes_a_batch_row_by_row():
    vocab = Vocab("the cat sat on".split())
    batch = np.array([[4, 5, EOS, PAD], [6, 7, EOS, PAD]])  # as greedy_decode returns
    assert vocab.decode(batch) == ["the cat", "sat on"]
    assert vocab.decode(np.zeros((0, 3), dtype=np.int64)) == []
    assert vocab.decode([]) == ""
    # a list of rows of different lengths (e.g. decoded sequences cut at EOS)
    assert vocab.decode([[4, 5, EOS], [6]]) == ["the cat", "sat"]
    assert vocab.decode([np.array([4, 5]), [6, 7]]) == ["the cat", "sat on"]
    with pytest.raises(ValueError, match=r"Vocab.decode: expected ids of shape \(L,\) or \(B, L\)"):
        vocab.decode([[[4]], [[5]]])
    # rows and single ids mixed in one list: named as such, not as NumPy's "inhomogeneous shape"
    for mixed in ([[4, 5], 6], [4, [5, 6]], (np.array([4]), 5)):
        with pytest.raises(ValueError, match=r"\(B, L\); this list mixes rows with single ids"):
            vocab.decode(mixed)


def test_vocab_refuses_float_ids_and_a_bare_string():
    vocab = Vocab("the cat".split())
    with pytest.raises(TypeError, match="Vocab.decode: ids must be integers, got dtype float64"):
        vocab.decode(np.array([4.0]))
    with pytest.raises(TypeError, match=r"Vocab: expected a list of words.*'the cat'"):
        Vocab("the cat")  # would be a vocabulary of letters
    with pytest.raises(TypeError, match="Vocab.from_texts: expected a list of sentences"):
        Vocab.from_texts("the cat")


def test_bag_of_words_of_empty_sentences_is_zeros():
    vocab = Vocab("the cat".split())
    np.testing.assert_array_equal(data.bag_of_words(vocab.encode(""), 9), np.zeros(9))
    assert data.bag_of_words([], 9).shape == (9,)
    ragged = data.bag_of_words([[], [4]], 9)  # a list of sequences of any length
    assert ragged.shape == (2, 9) and ragged[0].sum() == 0 and ragged[1, 4] == 1
    np.testing.assert_array_equal(data.bag_of_words(np.zeros((2, 0), int), 9), np.zeros((2, 9)))


def test_bag_of_words_forgets_order():
    vocab = Vocab("the cat sat on mat".split())
    a = data.bag_of_words(vocab.encode("cat sat on mat"), len(vocab))
    b = data.bag_of_words(vocab.encode("mat sat on cat"), len(vocab))
    np.testing.assert_array_equal(a, b)  # the seed's example: identical representations
    counts = data.bag_of_words(vocab.encode("the cat sat on the mat"), len(vocab))
    assert counts[vocab.stoi["the"]] == 2 and counts.sum() == 6 and counts.shape == (9,)


def test_bag_of_words_batches_and_ignores_padding():
    ids, _ = data.pad_or_truncate([[4, 5], [6, 6, 6]], 4)
    counts = data.bag_of_words(ids, 8, ignore_id=PAD)
    assert counts.shape == (2, 8) and counts.dtype == np.float32
    assert counts[0].tolist() == [0, 0, 0, 0, 1, 1, 0, 0] and counts[1, 6] == 3
    ragged = data.bag_of_words([[4, 5], [6, 6, 6]], 8)  # a list of sequences of any length
    np.testing.assert_array_equal(ragged, counts)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 8\)"):
        data.bag_of_words([9], 8)
    # the id V is one past the last count: refused as well, not an IndexError from NumPy
    assert data.bag_of_words([7], 8)[7] == 1
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 8\), got ids from 2 to 8"):
        data.bag_of_words([2, 8], 8)
    # a third level is refused, as a list as it is as an array (it gave (2, 1, 8))
    for nested in ([[[1, 2]], [[3, 4]]], np.array([[[1, 2]], [[3, 4]]])):
        with pytest.raises(ValueError, match=r"bag_of_words: expected .*\(L,\) or \(B, L\)"):
            data.bag_of_words(nested, 8)


def test_ngram_windows_slide_one_token_at_a_time():
    windows = data.ngram_windows(np.array([10, 11, 12, 13]), 3)
    assert windows.tolist() == [[10, 11, 12], [11, 12, 13]]
    batch = data.ngram_windows(np.arange(10).reshape(2, 5), 2)
    assert batch.shape == (2, 4, 2) and batch[1, 0].tolist() == [5, 6]
    with pytest.raises(ValueError, match="L >= n = 5"):
        data.ngram_windows(np.arange(3), 5)


@pytest.mark.parametrize(
    "ids, match",
    [
        ([1.5, 2.5, 3.5], r"integer ids .* got float64 of shape \(3,\)"),  # as bag_of_words
        (np.array([[True, False]]), r"integer ids .* got bool of shape \(1, 2\)"),
        ([[4, 5], [6]], "rows of ids have different lengths"),
    ],
)
def test_ngram_windows_refuses_what_are_not_token_ids(ids, match):
    with pytest.raises(ValueError, match=match):
        data.ngram_windows(ids, 2)


def test_pad_or_truncate_returns_ids_and_mask():
    ids, mask = data.pad_or_truncate([[5, 6], [7, 8, 9, 10, 11]], 4, pad_id=PAD)
    assert ids.tolist() == [[5, 6, PAD, PAD], [7, 8, 9, 10]]  # padded, and cut
    assert mask.tolist() == [[True, True, False, False], [True] * 4]
    assert ids.dtype == np.int64 and mask.dtype == bool
    ids, mask = data.pad_or_truncate([[], np.array([4, 5])], 3)
    assert ids.tolist() == [[PAD] * 3, [4, 5, PAD]] and mask.sum() == 2


@pytest.mark.parametrize(
    "seqs, match",
    [
        ([[1.7, 2.9]], r"integer ids of shape \(L,\), got float64 of shape \(2,\) at position 0"),
        ([4, 5, 6], r"got int64 of shape \(\) at position 0; a single sequence goes in a list"),
        ([["the", "cat"]], "encode words with Vocab.encode first"),
        ([[4], [[5]]], r"shape \(1, 1\) at position 1"),
    ],
)
def test_pad_or_truncate_refuses_what_it_would_change(seqs, match):
    with pytest.raises(ValueError, match=match):
        data.pad_or_truncate(seqs, 5)


def test_pad_or_truncate_refuses_a_non_integer_pad_id():
    with pytest.raises(ValueError, match="pad_id must be an integer id, got 0.5"):
        data.pad_or_truncate([[4]], 3, pad_id=0.5)
    ids, _ = data.pad_or_truncate([[4]], 3, pad_id=np.int64(-1))
    assert ids.tolist() == [[4, -1, -1]]


# ----------------------------------------------------------------- the order task
def test_order_task_is_invisible_to_bag_of_words():
    """Every bag-of-words vector occurs exactly as often with label 0 as with label 1,
    so any function of word counts is right on exactly half the examples."""
    task = data.order_task(300, seed=3)
    counts = data.bag_of_words(task.ids, len(task.vocab), ignore_id=PAD)
    by_vector = defaultdict(lambda: [0, 0])
    for vector, label in zip(counts, task.labels, strict=True):
        by_vector[vector.tobytes()][label] += 1
    assert all(zero == one for zero, one in by_vector.values())
    assert max(zero for zero, _ in by_vector.values()) > 1  # balanced, not once each
    # so the best possible bag-of-words classifier (majority vote per vector) scores 50%
    best = sum(max(c) for c in by_vector.values()) / len(task)
    assert best == 0.5


def test_order_task_labels_follow_the_word_order():
    task = data.order_task(50, seed=0)
    assert task.ids.shape == (100, 8) and task.mask.shape == (100, 8) and len(task) == 100
    assert set(task.mask.sum(axis=1)) <= {6, 7, 8} and task.num_classes == 2
    for ids, label in zip(task.ids, task.labels, strict=True):
        words = task.vocab.decode(ids).split()
        animals = [w for w in words if w in data.ORDER_ANIMALS]
        assert words[0] == "the" and "on" in words and len(animals) == 2
        sitter, below = (data.ORDER_ANIMALS.index(a) for a in animals)
        assert label == int(sitter < below)


def test_tasks_are_deterministic_by_seed():
    a, b, c = data.order_task(20, seed=1), data.order_task(20, seed=1), data.order_task(20, seed=2)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert not np.array_equal(a.ids, c.ids)
    rng = np.random.default_rng(5)
    d1 = data.delay_task(10, 3, seed=rng)  # a Generator works too, and moves on
    d2 = data.delay_task(10, 3, seed=rng)
    assert not np.array_equal(d1.ids, d2.ids)


# ----------------------------------------------------------------- the delay task
@pytest.mark.parametrize("delay", [10, 50, 100])
def test_delay_task_asks_for_the_first_token(delay):
    task = data.delay_task(200, delay, num_symbols=4, seed=0)
    assert task.ids.shape == (200, delay + 2) and task.mask.all()
    first = [task.vocab.itos[i] for i in task.ids[:, 0]]
    assert first == [task.vocab.itos[4 + label] for label in task.labels]
    assert set(task.vocab.itos[i] for i in task.ids[:, -1]) == {"?"}
    distractors = {task.vocab.itos[i] for i in task.ids[:, 1:-1].ravel()}
    assert distractors == {"n1", "n2", "n3", "n4"}
    # chance is 1/num_symbols: the labels are spread evenly
    assert np.bincount(task.labels, minlength=4).min() > 30


# ----------------------------------------------------------------- the agreement task
def test_agreement_task_asks_for_the_verb_of_the_first_subject():
    task = data.agreement_task(300, [0, 4, 9], seed=0)
    assert task.ids.shape == (300, 12) and task.num_classes == 2
    lengths = task.mask.sum(axis=1)
    assert set(lengths) == {3, 7, 12} and (task.ids[~task.mask] == PAD).all()
    singular = {noun for noun, _ in data.AGREEMENT_SUBJECTS}
    plural = {nouns for _, nouns in data.AGREEMENT_SUBJECTS}
    for ids, label in zip(task.ids, task.labels, strict=True):
        words = task.vocab.decode(ids).split()
        assert words[0] == "the" and words[-1] == "?" and words.count("?") == 1
        assert words[1] in (plural if label else singular)
        assert data.AGREEMENT_VERBS[label] == ("were" if words[1] in plural else "was")
        clause = words[2:-1]
        assert not clause or clause[0] == "that"
    # the clauses bring subjects of their own, of both numbers: the last noun is no answer
    last_noun_agrees = []
    for ids, label in zip(task.ids, task.labels, strict=True):
        nouns = [w for w in task.vocab.decode(ids).split() if w in singular | plural]
        if len(nouns) > 1:
            last_noun_agrees.append((nouns[-1] in plural) == bool(label))
    assert 0.35 < np.mean(last_noun_agrees) < 0.65 and len(last_noun_agrees) > 100
    assert 0.4 < task.labels.mean() < 0.6  # chance 50%


def test_the_seeds_clause_is_an_agreement_clause():
    words = data.agreement_clause(40, seed=1)
    assert len(words) == 40 and words[0] == "that" and "and" in words
    for k in range(5):  # any length, exactly
        assert len(data.agreement_clause(k, seed=2)) == k
    vocab = data.agreement_task(1, 0).vocab  # the seed's clause is in its words
    assert all(w in vocab.stoi for w in "the cat that I saw yesterday ?".split())
    assert data.agreement_clause(3, seed=1, begin="and")[0] == "and"
    # every part: begin/"and", a subject (a pronoun or "the" noun), a verb, an adverb
    parts, part = [], []
    for w in words:
        if w in ("that", "and") and part:
            parts.append(part)
            part = []
        part.append(w)
    assert len(parts) >= 8
    for p in parts:
        assert len(p) in (4, 5) and (len(p) == 4 or p[1] == "the"), p
    # the clause's own subjects come in both numbers, so the last noun is no answer
    words = data.agreement_clause(400, seed=3)
    singular = {pair[0] for pair in data.AGREEMENT_SUBJECTS}
    plural = {pair[1] for pair in data.AGREEMENT_SUBJECTS}
    nouns = [b for a, b in zip(words, words[1:], strict=False) if a == "the"]
    assert singular & set(nouns) and plural & set(nouns)
    assert set(nouns) <= singular | plural and set(words) & set(data.AGREEMENT_PRONOUNS)


def test_agreement_task_refuses_what_it_cannot_make():
    with pytest.raises(ValueError, match="agreement_task: clause_lengths is empty"):
        data.agreement_task(5, [])
    with pytest.raises(ValueError, match="agreement_task: each clause length must be an integer"):
        data.agreement_task(5, [3, -1])
    with pytest.raises(TypeError, match="agreement_task: each clause length must be an integer"):
        data.agreement_task(5, 2.5)
    with pytest.raises(TypeError, match="agreement_clause: begin must be a word"):
        data.agreement_clause(3, begin=None)
    a, b = data.agreement_task(20, 6, seed=3), data.agreement_task(20, [6], seed=3)
    np.testing.assert_array_equal(a.ids, b.ids)  # one length, or a list of one


def test_num_classes_is_the_tasks_not_the_samples():
    # 3 samples of 10 symbols cannot show every label: the count comes from the task
    task = data.delay_task(3, 5, num_symbols=10, seed=0)
    assert task.labels.max() < 9 and task.num_classes == 10
    assert data.order_task(1, seed=0).num_classes == 2
    # built by hand, positionally, without saying: counted from the labels, as before
    own = data.SequenceData(task.ids, task.mask, np.array([0, 2, 1]), task.vocab)
    assert own.classes is None and own.num_classes == 3


# ----------------------------------------------------------------- sequence pairs
def test_translation_is_word_by_word_with_colours_after_nouns():
    pairs = data.translation_task(200, max_clauses=2, seed=0)
    assert len(pairs) == 200
    colours = {"red", "black", "white", "green"}
    for n in range(len(pairs)):
        source = pairs.src_vocab.decode(pairs.src[n]).split()
        target = pairs.tgt_vocab.decode(pairs.tgt[n]).split()
        expected, k = [], 0
        while k < len(source):  # move each colour after the noun it precedes
            if source[k] in colours:
                expected += [source[k + 1], source[k]]
                k += 2
            else:
                expected.append(source[k])
                k += 1
        assert target == [data.TRANSLATION_DICTIONARY[w] for w in expected]
    assert pairs.src_lengths.max() > 7  # two clauses make longer sentences
    one_clause = data.translation_task(200, max_clauses=1, seed=0)
    assert set(one_clause.src_lengths) == {5, 6, 7}  # as the docstring says
    assert any("et" in pairs.tgt_vocab.decode(t).split() for t in pairs.tgt)
    # French as it is written: every noun takes "le" and "un" before it, none elides to "l'"
    nouns = [data.TRANSLATION_DICTIONARY[w] for w in data._NOUNS]
    assert all(noun[0] not in "aeiouhy" for noun in nouns)


def test_translation_uses_its_whole_dictionary_and_translates_each_word_as_often():
    pairs = data.translation_task(300, max_clauses=2, seed=0)
    source = Counter(w for row in pairs.src_vocab.decode(pairs.src) for w in row.split())
    target = Counter(w for row in pairs.tgt_vocab.decode(pairs.tgt) for w in row.split())
    # every word is drawn (both determiners, every colour, noun and verb, and "and")
    assert set(source) == set(data.TRANSLATION_DICTIONARY)
    assert {w: target[data.TRANSLATION_DICTIONARY[w]] for w in source} == source
    assert min(source[w] for w in ("the", "a")) > 0.3 * (source["the"] + source["a"])


def test_pairs_have_bos_eos_padding_and_lengths():
    pairs = data.reverse_task(50, min_len=2, max_len=6, num_symbols=5, seed=1)
    assert pairs.src.shape == (50, 6) and pairs.tgt.shape == (50, 8)
    for n in range(50):
        length = pairs.src_lengths[n]
        src = pairs.src[n, :length]
        assert np.all(pairs.src[n, length:] == PAD) and np.all(src >= 4)
        tgt = pairs.tgt[n]
        assert pairs.tgt_lengths[n] == length + 2
        assert tgt[0] == BOS and tgt[length + 1] == EOS and np.all(tgt[length + 2 :] == PAD)
        np.testing.assert_array_equal(tgt[1 : length + 1], src[::-1])
    np.testing.assert_array_equal(pairs.src_mask, pairs.src != PAD)
    np.testing.assert_array_equal(pairs.tgt_in, pairs.tgt[:, :-1])
    np.testing.assert_array_equal(pairs.tgt_out, pairs.tgt[:, 1:])
    assert set(pairs.src_lengths) == {2, 3, 4, 5, 6}


def test_copy_task_copies():
    pairs = data.copy_task(20, seed=0)
    for n in range(20):
        length = pairs.src_lengths[n]
        np.testing.assert_array_equal(pairs.tgt[n, 1 : length + 1], pairs.src[n, :length])


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="delay_task: delay must be an integer >= 0"):
        data.delay_task(10, -1)
    with pytest.raises(ValueError, match="reverse_task: max_len must be an integer >= 5"):
        data.reverse_task(10, min_len=5, max_len=3)
    with pytest.raises(TypeError, match="seed must be an int"):
        data.order_task(10, seed="x")
    for bad in (2.0, "3", True):  # a float, a string, a bool: not a count of examples
        with pytest.raises(TypeError, match="order_task: num_pairs must be an integer"):
            data.order_task(bad)


def test_replace_works_on_the_data_sets():
    # NamedTuple's _replace counted fields with len(), the number of examples here
    examples = data.order_task(10, seed=0)
    head = examples._replace(
        ids=examples.ids[:3], mask=examples.mask[:3], labels=examples.labels[:3]
    )
    assert len(head) == 3 and head.num_classes == 2 and head.vocab is examples.vocab
    pairs = data.reverse_task(10, seed=0)
    assert len(pairs._replace(src=pairs.src[:4], src_lengths=pairs.src_lengths[:4])) == 4


def test_make_works_on_the_data_sets():
    # NamedTuple's _make, like _replace, checked the field count with len()
    examples = data.order_task(10, seed=0)
    remade = data.SequenceData._make(list(examples))
    assert type(remade) is data.SequenceData and len(remade) == 20 and remade.num_classes == 2
    pairs = data.reverse_task(7, seed=0)
    assert len(data.PairData._make(iter(pairs))) == 7
    with pytest.raises(TypeError, match="Expected 6 arguments, got 5"):
        data.PairData._make(list(pairs)[:5])


def test_encode_adds_bos_and_eos_only_where_asked():
    vocab = Vocab(["the", "cat"])
    the, cat = vocab.encode("the cat").tolist()
    assert vocab.encode("the cat", bos=True).tolist() == [BOS, the, cat]
    assert vocab.encode("the cat", eos=True).tolist() == [the, cat, EOS]
    assert vocab.encode("the cat", bos=True, eos=True).tolist() == [BOS, the, cat, EOS]


def test_decode_writes_unknown_and_out_of_range_ids_as_unk():
    vocab = Vocab("the cat".split())
    the = vocab.encode(["the"], bos=False, eos=False)[0]
    assert vocab.decode([the, data.UNK]) == "the <unk>"  # an unknown word is not dropped
    assert vocab.decode([len(vocab)]) == "<unk>"  # one past the end: no IndexError
    assert vocab.decode([len(vocab) - 1]) != "<unk>"  # the last real id is a word


def test_bag_of_words_ignores_only_a_real_id():
    """ignore_id=-1 (no such id) must not zero the last word through negative indexing."""
    counts = data.bag_of_words(np.array([4, 4, 2]), 5, ignore_id=-1)
    np.testing.assert_array_equal(counts, [0, 0, 1, 0, 2])
    assert data.bag_of_words(np.array([4, 2]), 5, ignore_id=4)[4] == 0


def test_ngram_windows_of_a_sequence_exactly_n_long_is_one_window():
    np.testing.assert_array_equal(data.ngram_windows([4, 5, 6], 3), [[4, 5, 6]])


def test_pad_or_truncate_to_length_zero_keeps_the_batch():
    ids, mask = data.pad_or_truncate([[4, 5], [6]], 0)
    assert ids.shape == (2, 0) and mask.shape == (2, 0)


def test_num_classes_counts_from_the_labels_only_when_the_task_does_not_say():
    task = data.delay_task(4, 2, seed=0)
    assert task.num_classes == 4  # said by the task, whatever the 4 labels happen to be
    unsaid = task._replace(labels=np.array([0, 2, 2, 1]), classes=None)
    assert unsaid.num_classes == 3
    assert unsaid._replace(labels=unsaid.labels[:0]).num_classes == 0  # no labels, no classes


def test_delay_task_needs_two_symbols_to_tell_apart():
    with pytest.raises(ValueError, match="num_symbols"):
        data.delay_task(4, 2, num_symbols=1)


def test_as_generator_is_the_public_reading_of_a_seed():
    rng = np.random.default_rng(3)
    assert data.as_generator(rng) is rng and "as_generator" in data.__all__
    assert data.as_generator(7).integers(1000) == np.random.default_rng(7).integers(1000)
    assert data.as_generator(np.int64(7)).integers(1000) == data.as_generator(7).integers(1000)
    with pytest.raises(TypeError, match=r"seed must be an int or a numpy.random.Generator"):
        data.as_generator("seven")
    # None: a fresh Generator each time, seeded from the OS (two agree once in 2**62)
    fresh = [data.as_generator(None) for _ in range(2)]
    assert all(isinstance(g, np.random.Generator) for g in fresh)
    assert fresh[0].integers(2**62) != fresh[1].integers(2**62)


def test_the_training_loops_use_public_names_of_data_only():
    # the training helpers are examples a reader copies: no private helper of data.py
    import ast
    import inspect

    from tinygrad_seq import train, train_seq2seq

    for module in (train, train_seq2seq):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom) and node.module == "data":
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, (module.__name__, private)
