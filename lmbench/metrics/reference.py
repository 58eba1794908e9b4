"""Reference-based metrics of generated text: BLEU, ROUGE-L, METEOR, NIST.

Each metric is computed by its reference implementation, per sample and for the corpus:

- ``bleu``: sacrebleu ``sentence_bleu(pred, refs).score`` per sample (0-100, default
  13a tokenizer and exponential smoothing); corpus = ``corpus_bleu(preds, ref_streams).score``
  (n-gram counts pooled over the corpus -- not the mean of sentence BLEU).
- ``rougeL``: rouge_score ``RougeScorer(["rougeL"], use_stemmer=True)`` F-measure (0-1; its
  own tokenizer: lowercase, non-alphanumerics dropped, Porter stemming); with several
  references the best one (``score_multi``). Corpus = mean of the per-sample values.
- ``meteor``: ``nltk.translate.meteor_score.meteor_score`` (0-1; NLTK defaults alpha=0.9,
  beta=3, gamma=0.5, WordNet synonyms) on :func:`lmbench.metrics.diversity.tokenize` tokens.
  NLTK has no corpus METEOR; corpus = mean of per-sample values (as HF ``evaluate`` does).
  Needs WordNet 3.0, made available by :func:`lmbench.metrics.nltk_data.ensure_wordnet`.
- ``nist``: ``nltk.translate.nist_score.sentence_nist`` (n=5) per sample and ``corpus_nist``
  for the corpus, on the same tokens. NLTK divides by zero when a hypothesis has fewer than
  5 tokens (sentence) or every hypothesis has (corpus): those values are ``None`` with a note.

A reference is a string or a list of strings (several references for one prediction).
Values that cannot be computed are ``None`` and explained in ``notes``; never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from lmbench.errors import LmbenchError
from lmbench.metrics.diversity import tokenize

__all__ = ["ReferenceInputError", "METRICS", "NIST_ORDER", "reference_metrics"]

Reference = Union[str, Sequence[str]]
METRICS: tuple[str, ...] = ("bleu", "rougeL", "meteor", "nist")
NIST_ORDER = 5


class ReferenceInputError(LmbenchError, ValueError):
    """Predictions and references that cannot be paired (different counts, no reference)."""


def _as_refs(predictions: Sequence[str], references: Sequence[Reference]) -> list[list[str]]:
    if isinstance(predictions, str) or isinstance(references, str):
        raise ReferenceInputError("predictions and references must be lists of strings, not one string")
    if len(predictions) != len(references):
        raise ReferenceInputError(
            f"{len(predictions)} predictions but {len(references)} references; give one reference "
            "(a string or a list of strings) per prediction"
        )
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    for i, r in enumerate(refs):
        if not r:
            raise ReferenceInputError(f"sample {i} has no reference; give at least one string per prediction")
    return refs


def _meteor(notes: list[str]) -> Any:
    """NLTK's meteor_score with WordNet set up, or None (and a note) when WordNet is missing."""
    from lmbench.metrics.nltk_data import WordNetMissingError, ensure_wordnet

    try:
        ensure_wordnet()
    except WordNetMissingError as exc:
        notes.append(f"meteor is None: {exc}")
        return None
    from nltk.translate.meteor_score import meteor_score

    return meteor_score


def reference_metrics(
    predictions: Sequence[str], references: Sequence[Reference]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score ``predictions`` against ``references``: ``(per_sample, corpus)``.

    ``per_sample[i]`` has ``bleu``, ``rougeL``, ``meteor``, ``nist`` for prediction i;
    ``corpus`` has the same keys as the module docstring defines them, plus ``n`` and
    ``notes`` (sentences explaining every ``None``). Raises :class:`ReferenceInputError`
    when the two lists have different lengths or a sample has no reference.
    """
    refs = _as_refs(predictions, references)
    notes: list[str] = []
    if not refs:
        return [], {**dict.fromkeys(METRICS), "n": 0, "notes": ["no predictions: every metric is None"]}

    import sacrebleu
    from nltk.translate.nist_score import corpus_nist, sentence_nist
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    meteor_score = _meteor(notes)
    pred_toks = [tokenize(p) for p in predictions]
    ref_toks = [[tokenize(r) for r in rs] for rs in refs]

    per_sample: list[dict[str, Any]] = []
    short_nist: list[int] = []
    for i, (pred, rs) in enumerate(zip(predictions, refs)):
        row: dict[str, Any] = {"bleu": sacrebleu.sentence_bleu(pred, rs).score}
        row["rougeL"] = float(scorer.score_multi(rs, pred)["rougeL"].fmeasure)
        row["meteor"] = meteor_score(ref_toks[i], pred_toks[i]) if meteor_score else None
        try:
            row["nist"] = sentence_nist(ref_toks[i], pred_toks[i], n=NIST_ORDER)
        except ZeroDivisionError:
            row["nist"] = None
            short_nist.append(i)
        per_sample.append(row)
    if short_nist:
        notes.append(
            f"nist is None for {len(short_nist)} sample(s) (first: {short_nist[:5]}): a hypothesis "
            f"shorter than {NIST_ORDER} tokens makes NLTK's sentence_nist divide by zero"
        )

    # sacrebleu wants one stream per reference position; samples with fewer references get None.
    width = max(len(rs) for rs in refs)
    streams = [[rs[k] if k < len(rs) else None for rs in refs] for k in range(width)]
    corpus: dict[str, Any] = {"bleu": sacrebleu.corpus_bleu(list(predictions), streams).score}
    corpus["rougeL"] = sum(r["rougeL"] for r in per_sample) / len(per_sample)
    corpus["meteor"] = sum(r["meteor"] for r in per_sample) / len(per_sample) if meteor_score else None
    try:
        corpus["nist"] = corpus_nist(ref_toks, pred_toks, n=NIST_ORDER)
    except ZeroDivisionError:
        corpus["nist"] = None
        notes.append(f"corpus nist is None: NLTK's corpus_nist divides by zero (no hypothesis has {NIST_ORDER} tokens)")
    corpus["n"] = len(per_sample)
    corpus["notes"] = notes
    return per_sample, corpus
