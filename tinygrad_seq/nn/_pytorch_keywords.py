"""PyTorch's constructor keywords that ts.nn spells otherwise or does without, and the
TypeError that says what to write (`ts.nn.LSTM(input_size=8, hidden_size=16)`: write
`ts.nn.LSTM(input=8, hidden=16)`).

Consulted only once a constructor's arguments have failed to bind (Module's recording
wrapper binds them anyway), so building a model costs nothing more; the constructors keep
their own signatures, with no **kwargs that would swallow a typo. A keyword not in these
tables (a typo) gets Python's own "unexpected keyword argument".
"""

from __future__ import annotations

import inspect
import reprlib

# A hint that is a parameter name is a rename ("input_size" -> "input"); any other says
# what to do instead, after "ts.nn.LSTM: it takes no bias= (PyTorch's): ".
_BATCH_FIRST = (
    "its inputs are always batch-first, (B, T, d); for time-first xs (T, B, d) pass "
    "xs.transpose(1, 0, 2)"
)
_ALWAYS_BIASED = "it always has its biases, as the seed's equations do (ts.nn.GRU takes bias=False)"
_ONE_LAYER = (
    "it is one layer: stack layers by feeding one's hs to the next, hs, _ = second(first(xs)[0])"
)
_RECURRENT = {
    "input_size": "input",
    "hidden_size": "hidden",
    "batch_first": _BATCH_FIRST,
    "num_layers": _ONE_LAYER,
    "dropout": _ONE_LAYER + ", with ts.F.dropout(hs, p, self.training) between them",
    "bidirectional": "run a second layer on the reversed sequence, hs_back, _ = "
    "back(xs[:, ::-1]) (with padding, reverse the mask too: back(xs[:, ::-1], "
    "mask=mask[:, ::-1]), so each row starts at its last real token), and join the two: "
    "ts.cat([hs, hs_back[:, ::-1]], axis=-1)",
}
_CELL = {"input_size": "input", "hidden_size": "hidden"}
_TANH = "its step is the seed's h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h), tanh only"
_TRANSFORMER_LAYER = {
    "nhead": "heads",
    "dim_feedforward": "d_ff",
    "batch_first": _BATCH_FIRST,
    "norm_first": "its layers are post-LN, LayerNorm(x + Sublayer(x)) as the seed's Add & "
    "normalize; there is no pre-LN form",
    "activation": "its feed-forward is the seed's max(0, x W_1 + b_1) W_2 + b_2 (ReLU)",
    "layer_norm_eps": "its LayerNorms use eps = 1e-5",
}
_LAYERS = "layers= is the number of encoder layers and of decoder layers, one for both"

KEYWORDS: dict[str, dict[str, str]] = {  # class name -> {PyTorch's keyword: hint}
    "Embedding": {"num_embeddings": "vocab", "embedding_dim": "dim"},
    "LayerNorm": {
        "normalized_shape": "dim",
        "elementwise_affine": "it always has its gain and bias (1 and 0 at the start)",
    },
    "RNNCell": {**_CELL, "bias": _ALWAYS_BIASED, "nonlinearity": _TANH},
    "RNN": {**_RECURRENT, "bias": _ALWAYS_BIASED, "nonlinearity": _TANH},
    "LSTMCell": {**_CELL, "bias": _ALWAYS_BIASED},
    "LSTM": {
        **_RECURRENT,
        "bias": _ALWAYS_BIASED,
        "proj_size": "it has no projection: put a ts.nn.Linear(hidden, proj_size) on hs",
    },
    "GRUCell": _CELL,
    "GRU": _RECURRENT,
    "MultiHeadAttention": {
        "embed_dim": "d_model",
        "batch_first": _BATCH_FIRST,
        "dropout": "it has no dropout on its attention weights",
        "kdim": "queries, keys and values all have d_model features",
        "vdim": "queries, keys and values all have d_model features",
    },
    "TransformerEncoderLayer": _TRANSFORMER_LAYER,
    "TransformerDecoderLayer": _TRANSFORMER_LAYER,
    "Transformer": {
        **_TRANSFORMER_LAYER,
        "num_encoder_layers": _LAYERS,
        "num_decoder_layers": _LAYERS,
    },
}
ANY_MODULE = {  # (any model's constructor, ts.nn's or a subclass's, that lacks them)
    "device": "build it, then move it: model.to('cupy') (or ts.backend.set_backend('cupy') "
    "before building)",
    "dtype": "build it after ts.set_default_dtype('float64') (or 'float32', 'float16')",
}


# PyTorch's recurrent layers take num_layers as their third positional argument (GRU/LSTM/
# RNN(8, 16, 2)); ts.nn's take their options by keyword only, so that call fails to bind
_THIRD_POSITIONAL = {
    "RNN": "num_layers",
    "LSTM": "num_layers",
    "GRU": "num_layers",
    "RNNCell": "bias",
    "LSTMCell": "bias",
    "GRUCell": "bias",
}


def positional_error(cls: type, owner: type, signature: inspect.Signature, args: tuple):
    """The TypeError for one of ts.nn's recurrent models given PyTorch's third positional
    argument (`ts.nn.LSTM(8, 16, 2)`, PyTorch's num_layers=2); None for any other call."""
    name = owner.__name__
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if not _ours(owner) or name not in _THIRD_POSITIONAL or len(args) + 1 <= len(positional):
        return None
    theirs = _THIRD_POSITIONAL[name]
    options = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
    who = f"ts.nn.{cls.__name__}" if _ours(cls) else cls.__name__
    said = f"takes {len(positional) - 1} positional arguments (input, hidden), got {len(args)}"
    hint = KEYWORDS[name].get(theirs, "")
    if hint and not hint.isidentifier():
        hint = f"; PyTorch's third argument is {theirs}, and {hint}"
    if not options:  # (RNNCell: no options at all)
        return TypeError(f"{who} {said}{hint}; it takes no other arguments")
    keywords = ", ".join(f"{o}=" for o in options)
    return TypeError(f"{who} {said}{hint}; its options are keywords only: {keywords}")


def _ours(cls: type) -> bool:
    """Whether `cls` is one of ts.nn's own models."""
    return cls.__module__.startswith(__package__ + ".")


def keywords_error(
    cls: type,
    owner: type,
    signature: inspect.Signature,
    args: tuple,
    kwargs: dict,
    call: str | None = None,
) -> TypeError | None:
    """The TypeError for `cls(*args, **kwargs)`, whose constructor is `owner`'s (signature
    `signature`, with self), where the keywords it does not take are PyTorch's; Python's
    own for the first that is not (a typo beside them); None where none is PyTorch's.
    `call` is what the call to write starts with (default: the class's name; a subclass's
    constructor writes "super().__init__")."""
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    unknown = [k for k in kwargs if k not in params]
    table = {**ANY_MODULE, **(KEYWORDS.get(owner.__name__, {}) if _ours(owner) else {})}
    if not unknown or not any(k in table for k in unknown):
        return None
    typos = [k for k in unknown if k not in table]
    if typos:  # Python's error, for the keyword that is not PyTorch's (Python names the first)
        return TypeError(
            f"{owner.__qualname__}.__init__() got an unexpected keyword argument {typos[0]!r}"
        )
    renamed = {k: table[k] for k in unknown if table[k].isidentifier()}
    if any(name not in params for name in renamed.values()):
        return None
    who = f"ts.nn.{cls.__name__}" if _ours(cls) else cls.__name__
    parts = []
    if renamed:
        ours = " and ".join(f"{k}=" for k in renamed)
        theirs = " and ".join(f"{v}=" for v in renamed.values())
        are = "are PyTorch's names" if len(renamed) > 1 else "is PyTorch's name"
        parts.append(f"{ours} {are} for {theirs}")
    parts += [f"it takes no {k}= (PyTorch's): {table[k]}" for k in unknown if k not in renamed]
    message = f"{who}: " + "; ".join(parts)
    # the call to write, where it binds: keywords renamed, the ones it does without left out
    write = {renamed.get(k, k): v for k, v in kwargs.items() if k in params or k in renamed}
    try:
        signature.bind(None, *args, **write)
    except TypeError:  # (an argument missing, or given twice: the names alone, then)
        return TypeError(message)
    shown = [reprlib.repr(a) for a in args] + [f"{k}={reprlib.repr(v)}" for k, v in write.items()]
    return TypeError(f"{message}. Write {call or who}({', '.join(shown)})")


def module_init_error(cls: type, base: type, args: tuple, kwargs: dict) -> TypeError:
    """The TypeError for arguments given to Module's constructor (`base`'s), which takes
    none: from a subclass's `super().__init__(input_size=8)` (sizes belong to the layers the
    model builds), or from building a subclass `cls` that has no constructor of its own."""
    given = [reprlib.repr(a) for a in args] + [f"{k}={reprlib.repr(v)}" for k, v in kwargs.items()]
    shown = ", ".join(given)
    name = cls.__name__
    if cls.__init__ is base.__init__:  # (no class between cls and Module defines one)
        return TypeError(
            f"{name}({shown}): {name} defines no __init__ of its own, and Module's takes no "
            f"arguments: give {name} an __init__ that takes them, calls super().__init__() "
            "and builds its layers from them"
        )
    renames = {k: v for table in KEYWORDS.values() for k, v in table.items() if v.isidentifier()}
    pytorchs = [f"{k}= is PyTorch's name for {renames[k]}=" for k in kwargs if k in renames]
    also = f" ({'; '.join(pytorchs)})" if pytorchs else ""
    return TypeError(
        f"{name}: super().__init__({shown}): Module.__init__ takes no arguments. Call "
        "super().__init__() first, then give the sizes to the layers the model builds, e.g. "
        f"self.lstm = ts.nn.LSTM(input=8, hidden=16){also}"
    )


# PyTorch's keywords for the masks of attention's forward. Its boolean masks say where
# attention may NOT look (True = ignore); every mask here says where it may (True = may
# attend, True = a real key), so each hint says to negate: the opposite read silently is
# the mistake these names exist to stop.
def _negate(theirs: str, ours: str, what: str) -> str:
    return (
        f"PyTorch's boolean {theirs} is True where attention may not look; {ours}= here is "
        f"True {what}: write {ours}=~{theirs}"
    )


_REAL_KEY = "at real keys, those that may be attended (as ts.F.padding_mask(lengths, Tk) gives)"
_MAY_ATTEND = "where a query may attend"
_CAUSAL = "pass the causal mask itself: {ours}=ts.F.causal_mask(T)"
_ATTENTION_FORWARD = {
    "key_padding_mask": _negate("key_padding_mask", "key_mask", _REAL_KEY),
    "attn_mask": _negate("attn_mask", "mask", _MAY_ATTEND),
    "is_causal": _CAUSAL.format(ours="mask"),
}
FORWARD_KEYWORDS: dict[str, dict[str, str]] = {  # class name -> {PyTorch's keyword: hint}
    "AdditiveAttention": _ATTENTION_FORWARD,
    "MultiplicativeAttention": _ATTENTION_FORWARD,
    "ScaledDotProductAttention": _ATTENTION_FORWARD,
    "MultiHeadAttention": _ATTENTION_FORWARD,
    "TransformerEncoderLayer": {
        "src_key_padding_mask": _negate("src_key_padding_mask", "key_mask", _REAL_KEY),
        "src_mask": _negate("src_mask", "mask", _MAY_ATTEND),
        "is_causal": _CAUSAL.format(ours="mask"),
    },
    "TransformerDecoderLayer": {
        "tgt_key_padding_mask": _negate("tgt_key_padding_mask", "tgt_key_mask", _REAL_KEY),
        "memory_key_padding_mask": _negate("memory_key_padding_mask", "memory_key_mask", _REAL_KEY),
        "tgt_is_causal": "tgt_mask defaults to the causal mask ts.F.causal_mask(T_out)",
        "memory_is_causal": _CAUSAL.format(ours="memory_mask"),
    },
    "Transformer": {
        "src_key_padding_mask": _negate(
            "src_key_padding_mask", "src_mask", "at real source tokens, shape (B, T_in)"
        )
        + " (or give src_lengths=)",
        "memory_key_padding_mask": _negate(
            "memory_key_padding_mask", "src_mask", "at real source tokens, shape (B, T_in)"
        )
        + " (the decoder's cross-attention hides the same source padding)",
        "tgt_key_padding_mask": "causal self-attention never lets a real target position "
        "see a later padded one; leave padded targets out of the loss with "
        "ts.F.cross_entropy(logits, targets, ignore_index=pad_id)",
    },
}


def forward_keywords_error(module: object, given: dict) -> TypeError:
    """The TypeError for keywords that a model's forward does not take: PyTorch's mask
    keywords (`key_padding_mask=`, `attn_mask=`, ...) with what to write here, any other
    (a typo) as Python says it."""
    name = type(module).__name__
    table = next(  # (a subclass of one of ts.nn's models gets its hints too)
        (
            FORWARD_KEYWORDS[cls.__name__]
            for cls in type(module).__mro__
            if _ours(cls) and cls.__name__ in FORWARD_KEYWORDS
        ),
        {},
    )
    for keyword in given:
        if keyword not in table:
            return TypeError(f"{name}.forward() got an unexpected keyword argument {keyword!r}")
    hints = "; ".join(f"it takes no {k}= (PyTorch's): {table[k]}" for k in given)
    who = f"ts.nn.{name}" if _ours(type(module)) else name
    return TypeError(f"{who}: {hints}")
