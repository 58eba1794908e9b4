"""Diversity and reference-based text metrics: hand-computed values and reference parity."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from lmbench.metrics import nltk_data
from lmbench.metrics.diversity import (
    distinct_n,
    diversity_metrics,
    mean_length,
    msttr,
    tokenize,
    unique_n,
    vocab_n,
)
from lmbench.metrics.reference import ReferenceInputError, reference_metrics


@pytest.fixture(scope="module")
def wordnet() -> Path:
    try:
        return nltk_data.ensure_wordnet()
    except nltk_data.WordNetMissingError as exc:
        pytest.skip(f"METEOR needs WordNet 3.0: {exc}")


# --- tokenizer ---------------------------------------------------------------------------


def test_tokenize_splits_sentences_and_lowercases() -> None:
    # Mid-text sentence ends are detached only because Punkt splits sentences first
    # (preserve_line=True would keep "home." as one token).
    assert tokenize("We went Home. He said: don't!") == [
        "we", "went", "home", ".", "he", "said", ":", "do", "n't", "!",
    ]
    assert tokenize("") == []


# --- diversity ---------------------------------------------------------------------------

RESPONSES = ["the cat sat", "the cat ran"]


def test_ngram_metrics_hand_computed() -> None:
    # 1-grams: the, cat, sat, the, cat, ran -> 6 total; counts the:2 cat:2 sat:1 ran:1
    #   vocab_1 = 4, unique_1 = 2 (sat, ran), distinct_1 = 4/6
    # 2-grams within each response (none across "sat | the"): (the cat) (cat sat) (the cat) (cat ran)
    #   -> 4 total; vocab_2 = 3, unique_2 = 2 ((cat sat), (cat ran)), distinct_2 = 3/4
    assert distinct_n(RESPONSES, 1) == pytest.approx(4 / 6)
    assert unique_n(RESPONSES, 1) == 2
    assert vocab_n(RESPONSES, 1) == 4
    assert distinct_n(RESPONSES, 2) == pytest.approx(3 / 4)
    assert unique_n(RESPONSES, 2) == 2
    assert vocab_n(RESPONSES, 2) == 3
    assert mean_length(RESPONSES) == 3.0  # (3 + 3) / 2
    m = diversity_metrics(RESPONSES)
    assert (m["distinct_1"], m["unique_1"], m["vocab_1"]) == (pytest.approx(4 / 6), 2, 4)
    assert (m["distinct_2"], m["unique_2"], m["vocab_2"]) == (pytest.approx(3 / 4), 2, 3)
    assert m["mean_pred_length"] == 3.0
    assert m["msttr_100"] is None and "no full 100-token segment" in m["notes"][0]


def test_msttr_two_segments_partial_dropped() -> None:
    # 250 tokens: segment 1 = w0..w99 (100 types -> TTR 1.0); segment 2 = x0..x49 twice
    # (50 types -> 0.5); the last 50 tokens ("z" x 50, TTR 0.02) are a partial segment and dropped.
    # MSTTR = (1.0 + 0.5) / 2 = 0.75. Responses of 25 tokens: segments cross response boundaries.
    tokens = [f"w{i}" for i in range(100)] + [f"x{i % 50}" for i in range(100)] + ["z"] * 50
    responses = [" ".join(tokens[i : i + 25]) for i in range(0, 250, 25)]
    assert msttr(responses) == pytest.approx(0.75)
    assert diversity_metrics(responses)["msttr_100"] == pytest.approx(0.75)
    assert msttr(responses[:3]) is None  # 75 tokens: no full segment


def test_diversity_empty_inputs_are_explained_nones() -> None:
    m = diversity_metrics([])
    assert all(m[k] is None for k in ("msttr_100", "distinct_1", "unique_2", "vocab_1", "mean_pred_length"))
    assert m["notes"] == ["no responses: every metric is None"]
    m = diversity_metrics(["", "  "])
    assert m["distinct_1"] is None and m["distinct_2"] is None and m["msttr_100"] is None
    assert (m["unique_1"], m["vocab_1"], m["mean_pred_length"]) == (0, 0, 0.0)
    assert "all responses are empty" in m["notes"][0]
    m = diversity_metrics(["a", "b"])  # no response has a 2-gram
    assert m["distinct_1"] == 1.0 and m["distinct_2"] is None
    assert any("distinct_2 is None" in n for n in m["notes"])


# --- reference-based ---------------------------------------------------------------------

PREDS = ["the cat sat on the mat today", "a quick brown fox jumps over the dog", "hello there"]
REFS = ["the cat sat on the mat", "the quick brown fox jumps over the lazy dog", "hello there general"]


def test_bleu_matches_sacrebleu(wordnet: Path) -> None:
    import sacrebleu

    per, corpus = reference_metrics(PREDS, REFS)
    assert corpus["bleu"] == pytest.approx(sacrebleu.corpus_bleu(PREDS, [REFS]).score)
    for p, r, row in zip(PREDS, REFS, per):
        assert row["bleu"] == pytest.approx(sacrebleu.sentence_bleu(p, [r]).score)
    per, corpus = reference_metrics(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert per[0]["bleu"] == pytest.approx(100.0) and corpus["bleu"] == pytest.approx(100.0)


def test_rouge_l_hand_computed(wordnet: Path) -> None:
    # pred "the cat sat on the mat" vs ref "the cat lay on the mat": LCS = the cat on the mat = 5
    # P = 5/6, R = 5/6 -> F = 5/6.  Second pair: stemming maps killed -> kill, LCS = 4 of 4 -> 1.0.
    per, corpus = reference_metrics(
        ["the cat sat on the mat", "police kill the gunman"], ["the cat lay on the mat", "police killed the gunman"]
    )
    assert per[0]["rougeL"] == pytest.approx(5 / 6)
    assert per[1]["rougeL"] == pytest.approx(1.0)
    assert corpus["rougeL"] == pytest.approx((5 / 6 + 1.0) / 2)


def test_meteor_identical_and_vs_nltk(wordnet: Path) -> None:
    from nltk.translate.meteor_score import meteor_score

    # Identical 6 tokens: P = R = 1, Fmean = 1; 1 chunk / 6 matches -> penalty 0.5 * (1/6)^3,
    # METEOR = 1 - 0.5/216 = 0.997685...
    per, _ = reference_metrics(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert per[0]["meteor"] == pytest.approx(1 - 0.5 / 216)
    per, corpus = reference_metrics(PREDS, REFS)
    for p, r, row in zip(PREDS, REFS, per):
        assert row["meteor"] == pytest.approx(meteor_score([tokenize(r)], tokenize(p)))
    assert corpus["meteor"] == pytest.approx(sum(r["meteor"] for r in per) / len(per))
    assert 0 < corpus["meteor"] < 1


def test_nist_sanity(wordnet: Path) -> None:
    from nltk.translate.nist_score import corpus_nist

    per, corpus = reference_metrics(PREDS, REFS)
    assert per[0]["nist"] > 0 and per[1]["nist"] > 0
    assert per[2]["nist"] is None  # 2-token hypothesis < n = 5: NLTK divides by zero
    assert any("nist is None for 1 sample" in n for n in corpus["notes"])
    expected = corpus_nist([[tokenize(r)] for r in REFS], [tokenize(p) for p in PREDS], n=5)
    assert corpus["nist"] == pytest.approx(expected)
    ref = "the cat sat on the mat by the door"
    good, bad = reference_metrics([ref, "a dog lay under a chair near one window"], [ref, ref])[0]
    assert good["nist"] > bad["nist"]


def test_reference_empty_and_mismatched_inputs(wordnet: Path) -> None:
    per, corpus = reference_metrics([], [])
    assert per == [] and all(corpus[k] is None for k in ("bleu", "rougeL", "meteor", "nist"))
    assert corpus["notes"] == ["no predictions: every metric is None"]
    per, corpus = reference_metrics([""], ["the cat sat on the mat"])
    assert per[0]["bleu"] == 0.0 and per[0]["rougeL"] == 0.0 and per[0]["meteor"] == 0.0
    assert per[0]["nist"] is None and corpus["nist"] is None and corpus["notes"]
    with pytest.raises(ReferenceInputError, match="2 predictions but 1 references"):
        reference_metrics(["a", "b"], ["a"])


# --- NLTK data ---------------------------------------------------------------------------


def test_lexnames_table() -> None:
    rows = [line.split("\t") for line in nltk_data.lexnames_text().splitlines()]
    assert len(rows) == 45
    assert rows[0] == ["00", "adj.all", "3"] and rows[3] == ["03", "noun.Tops", "1"]
    assert rows[29] == ["29", "verb.body", "2"] and rows[44] == ["44", "adj.ppl", "3"]
    man = Path("/usr/share/man/man5/lexnames.5WN.gz")
    if man.is_file():  # the table our rows were taken from (Debian wordnet-base)
        text = gzip.open(man, "rt").read()
        for num, name, _ in rows:
            assert f"{num}\t{name}" in text


def test_ensure_wordnet_missing_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    monkeypatch.setenv("LMBENCH_CACHE", str(tmp_path))
    monkeypatch.delenv("WNSEARCHDIR", raising=False)
    monkeypatch.setattr(nltk_data, "SOURCE_DIRS", (str(tmp_path / "nowhere"),))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])
    with pytest.raises(nltk_data.WordNetMissingError, match="apt-get install wordnet-base wordnet-sense-index"):
        nltk_data.ensure_wordnet()


def test_ensure_wordnet_loads(wordnet: Path) -> None:
    from nltk.corpus import wordnet as wn

    assert wn.synset("dog.n.01").lexname() == "noun.animal"


def test_imports_stay_light() -> None:
    code = (
        "import sys, lmbench.metrics.diversity, lmbench.metrics.reference, lmbench.metrics.nltk_data;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'nltk', 'sacrebleu', 'rouge_score'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
