"""BM25 ranks the relevant text first (stems, identifiers, accents and CJK included), scores
normalise into 0..1, rankings fuse, and OpenAI's attribute filters match and validate."""

import re
from typing import Any

import numpy
import pytest

from engine.files.ranking import (
    K1,
    LexicalIndex,
    cosine_scores,
    matches,
    normalise,
    reciprocal_rank_fusion,
    terms,
    top,
    validate_filter,
)

TEXTS = [
    "The cat sat on the mat and purred quietly all afternoon.",
    "Invoices are due thirty days after delivery; late payment incurs a fee.",
    "She runs every morning along the river before work.",
    "def get_scores(query):\n    return index.getScores(query)",
    "The HTTPServer class handles each request in its own thread.",
    "Le café est une boisson préparée à partir des grains torréfiés.",
    "東京は日本の首都です。大阪は西日本の中心です。",
    "Payment terms: invoices are payable within thirty days of the invoice date.",
]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(TEXTS)


def best(index: LexicalIndex, query: str) -> int:
    hits = top(index.scores(query), 1)
    assert hits, f"nothing found for {query!r}"
    return hits[0][0]


# --- Analysis and BM25 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cat on a mat", 0),
        ("when is a late payment fee charged", 1),
        ("running by the river", 2),  # "running" finds "runs"
        ("get scores", 3),  # snake_case and camelCase identifiers split
        ("getScores", 3),
        ("http server request thread", 4),
        ("CAFÉ boisson", 5),
        ("cafe\u0301 grains", 5),  # a decomposed accent matches the composed one
        ("日本の首都", 6),
    ],
)
def test_the_relevant_text_ranks_first(index: LexicalIndex, query: str, expected: int) -> None:
    assert best(index, query) == expected


def test_scores_are_one_per_text_and_zero_without_a_match(index: LexicalIndex) -> None:
    scores = index.scores("invoice payment")
    assert scores.shape == (len(TEXTS),)
    assert scores.dtype == numpy.float32
    assert {index for index, score in enumerate(scores) if score > 0} == {1, 7}


def test_the_exact_word_outranks_its_relatives() -> None:
    index = LexicalIndex.build(["the runner was running", "she runs daily"])
    assert best(index, "runs") == 1
    assert best(index, "running") == 0


def test_unknown_words_and_stopwords_find_nothing(index: LexicalIndex) -> None:
    for query in ("xylophone quasar", "the and of it", "", "!!! ???"):
        assert not index.scores(query).any()
        assert top(index.scores(query), 5) == []
        assert index.ceiling(query) == 0


def test_an_empty_index() -> None:
    index = LexicalIndex.build([])
    assert len(index) == 0
    assert index.scores("anything").shape == (0,)
    assert top(index.scores("anything"), 3) == []


def test_texts_without_words_are_indexed_as_empty() -> None:
    index = LexicalIndex.build(["", "...", "a real sentence about whales"])
    assert len(index) == 3
    scores = index.scores("whales")
    assert [hit for hit, _ in top(scores, 3)] == [2]


def test_terms_split_identifiers_and_keep_the_whole() -> None:
    assert terms("HTTPServer") == ["http", "server", "httpserver"]
    assert terms("get_scores")[-1] == "get_scores"
    assert "score" in terms("getScores")
    assert terms("The IT department") == ["depart", "=department"]


# --- Picking, normalising, fusing -------------------------------------------------------------


def test_top_orders_best_first_with_ties_by_index() -> None:
    scores = numpy.array([0.5, 2.0, 0.0, 2.0, 1.0, 0.5], dtype=numpy.float32)
    assert top(scores, 3) == [(1, 2.0), (3, 2.0), (4, 1.0)]
    assert top(scores, 10) == [(1, 2.0), (3, 2.0), (4, 1.0), (0, 0.5), (5, 0.5)]
    assert top(scores, 4)[-1] == (0, 0.5)
    assert top(scores, 0) == []


def test_top_respects_the_mask_and_the_floor() -> None:
    scores = numpy.array([3.0, 2.0, 1.0, -1.0], dtype=numpy.float32)
    mask = numpy.array([False, True, True, True])
    assert top(scores, 5, mask) == [(1, 2.0), (2, 1.0)]
    assert top(scores, 5, floor=1.5) == [(0, 3.0), (1, 2.0)]
    assert top(scores, 5, mask, floor=-2.0) == [(1, 2.0), (2, 1.0), (3, -1.0)]


def test_normalised_scores_lie_in_0_1_and_keep_the_order(index: LexicalIndex) -> None:
    for query in ("invoices payment thirty days", "cat", "runs river morning", "get scores"):
        scores = index.scores(query)
        shares = normalise(scores, index.ceiling(query))
        assert ((shares >= 0) & (shares <= 1)).all()
        assert shares.max() > 0
        assert (
            numpy.argsort(-scores, kind="stable") == numpy.argsort(-shares, kind="stable")
        ).all()


def test_normalised_scores_mean_the_same_across_queries() -> None:
    # A text of average length holding each query term once scores 1 / (1 + k1), whatever the
    # query; one holding every term many times comes close to 1.
    texts = ["alpha beta gamma delta", "epsilon zeta eta theta", "iota kappa lambda mu"]
    index = LexicalIndex.build(texts)
    for query in ("alpha beta gamma delta", "zeta", "kappa mu"):
        share = normalise(index.scores(query), index.ceiling(query)).max()
        assert share == pytest.approx(1 / (1 + K1), rel=1e-5)
    rich = LexicalIndex.build(["whale " * 200, "a plain text", "another plain text"])
    assert normalise(rich.scores("whale"), rich.ceiling("whale"))[0] > 0.9
    assert not normalise(numpy.ones(3, dtype=numpy.float32), 0.0).any()


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    assert [item for item, _ in fused] == [1, 3, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[-1][1] == pytest.approx(1 / 63)
    # Ties are settled by id; a repeat within one ranking counts once.
    assert reciprocal_rank_fusion([[7, 5], [5, 7]]) == reciprocal_rank_fusion([[5, 7], [7, 5]])
    assert [item for item, _ in reciprocal_rank_fusion([[7, 5], [5, 7]])] == [5, 7]
    assert reciprocal_rank_fusion([[2, 2, 1]]) == reciprocal_rank_fusion([[2, 1]])
    assert reciprocal_rank_fusion([]) == []
    with pytest.raises(ValueError, match="k"):
        reciprocal_rank_fusion([[1]], k=-1)


def test_cosine_scores() -> None:
    matrix = numpy.array([[1, 0], [0, 2], [-3, 0], [0, 0], [1, 1]], dtype=numpy.float32)
    scores = cosine_scores(matrix, numpy.array([2.0, 0.0]))
    assert scores.dtype == numpy.float32
    assert scores.tolist() == pytest.approx([1.0, 0.0, -1.0, 0.0, 2**-0.5])
    assert not cosine_scores(matrix, numpy.zeros(2)).any()
    with pytest.raises(ValueError, match="shaped"):
        cosine_scores(matrix, numpy.ones(3))


# --- Filters ----------------------------------------------------------------------------------

ATTRIBUTES: dict[str, str | float | bool] = {
    "author": "ada",
    "year": 2021,
    "score": 4.5,
    "public": True,
    "date": "2024-03-01",
}


def comparison(kind: str, key: Any, value: Any) -> dict[str, Any]:
    return {"type": kind, "key": key, "value": value}


@pytest.mark.parametrize(
    ("kind", "key", "value", "expected"),
    [
        ("eq", "author", "ada", True),
        ("eq", "author", "Ada", False),
        ("eq", "year", 2021.0, True),
        ("eq", "public", True, True),
        ("eq", "public", 1, False),  # a boolean is not a number
        ("eq", "year", "2021", False),  # nor is a string
        ("ne", "author", "bob", True),
        ("ne", "author", "ada", False),
        ("ne", "year", "2021", True),
        ("gt", "year", 2020, True),
        ("gt", "year", 2021, False),
        ("gte", "year", 2021, True),
        ("lt", "score", 5, True),
        ("lt", "score", 4.5, False),
        ("lte", "score", 4.5, True),
        ("gte", "date", "2024-01-01", True),  # strings order lexically (ISO dates)
        ("lt", "date", "2024-01-01", False),
        ("gt", "author", 3, False),  # mixed kinds never order
        ("in", "author", ["bob", "ada"], True),
        ("in", "year", [2020, 2021], True),
        ("in", "author", ["bob"], False),
        ("in", "author", [], False),
        ("nin", "author", ["bob"], True),
        ("nin", "author", ["ada", "bob"], False),
    ],
)
def test_comparisons(kind: str, key: str, value: Any, expected: bool) -> None:
    filter = comparison(kind, key, value)
    validate_filter(filter)
    assert matches(filter, ATTRIBUTES) is expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("eq", False), ("gt", False), ("lte", False), ("in", False), ("ne", True), ("nin", True)],
)
def test_a_missing_attribute(kind: str, expected: bool) -> None:
    value = ["x"] if kind in ("in", "nin") else "x"
    assert matches(comparison(kind, "missing", value), ATTRIBUTES) is expected
    assert matches(comparison(kind, "missing", value), {}) is expected


def test_and_or_nest() -> None:
    by_ada = comparison("eq", "author", "ada")
    recent = comparison("gte", "year", 2023)
    private = comparison("eq", "public", False)
    nested = {
        "type": "and",
        "filters": [by_ada, {"type": "or", "filters": [recent, comparison("gt", "score", 4)]}],
    }
    validate_filter(nested)
    assert matches(nested, ATTRIBUTES)
    assert not matches({"type": "and", "filters": [by_ada, recent]}, ATTRIBUTES)
    assert matches({"type": "or", "filters": [private, by_ada]}, ATTRIBUTES)
    assert not matches({"type": "or", "filters": [private, recent]}, ATTRIBUTES)
    assert matches({"type": "and", "filters": []}, ATTRIBUTES)
    assert not matches({"type": "or", "filters": []}, ATTRIBUTES)


def nest(depth: int) -> dict[str, Any]:
    filter: dict[str, Any] = comparison("eq", "author", "ada")
    for _ in range(depth - 1):
        filter = {"type": "and", "filters": [filter]}
    return filter


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ("eq", "filters: a filter is an object, not a string"),
        ([comparison("eq", "a", 1)], "filters: a filter is an object, not a list"),
        ({"key": "a", "value": 1}, "filters: a filter needs a `type`"),
        (comparison("equals", "a", 1), "filters.type: unknown filter type 'equals'"),
        ({"type": "eq", "value": 1}, "filters.key: `eq` needs a `key`"),
        (comparison("eq", "", 1), "filters.key: `eq` needs a `key`"),
        (comparison("eq", 5, 1), "filters.key: `eq` needs a `key`"),
        ({"type": "eq", "key": "a"}, "filters.value: `eq` needs a `value`"),
        (comparison("eq", "a", None), "filters.value: expected a string or number or boolean"),
        (comparison("eq", "a", ["x"]), "filters.value: expected a string or number or boolean"),
        (comparison("eq", "a", {"x": 1}), "not an object"),
        (comparison("gt", "a", True), "filters.value: expected a number or string, not a boolean"),
        (comparison("lt", "a", float("nan")), "filters.value: expected a finite number"),
        (comparison("in", "a", "x"), "filters.value: `in` needs a list of strings or numbers"),
        (comparison("nin", "a", [1, True]), "filters.value[1]: expected a string or number"),
        ({**comparison("eq", "a", 1), "extra": 1}, "filters: `eq` takes no extra"),
        ({"type": "and", "filters": comparison("eq", "a", 1)}, "`and` needs a list of filters"),
        ({"type": "or"}, "filters.filters: `or` needs a list of filters"),
        ({"type": "or", "filters": [], "key": "a"}, "filters: `or` takes no key"),
        (
            {"type": "and", "filters": [comparison("eq", "a", 1), {"type": "xor", "filters": []}]},
            "filters.filters[1].type: unknown filter type 'xor'",
        ),
        (
            {"type": "or", "filters": [{"type": "and", "filters": [comparison("gt", "a", [])]}]},
            "filters.filters[0].filters[0].value: expected a number or string, not a list",
        ),
        (nest(11), "filters nest at most 10 deep"),
    ],
)
def test_malformed_filters_are_refused(filter: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_filter(filter)


def test_the_deepest_allowed_nesting_passes() -> None:
    validate_filter(nest(10))
    assert matches(nest(10), ATTRIBUTES)
