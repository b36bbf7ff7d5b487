"""Arena ratings that say no more than the votes allow: the prior, the minimum-votes rule,
win rates with counts, style control; and the ratings page that shows them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from openpick.engines.pool import ModelPool
from openpick.server.app import create_app
from openpick.server.arena import (MIN_BATTLES, Cell, markdown_elements, ratings,
                                   style_covariates)
from openpick.server.settings import Settings
from openpick.store.arena import ArenaStore, Battle

LONG_MD = "# Title\n\n- one\n- two\n- three\n\n**bold** and more words " * 3


def b(a: str, bb: str, winner: str, out_a: str = "x", out_b: str = "y", i: int = 0) -> Battle:
    return Battle(id=f"b{i}", prompt="p", model_a=a, model_b=bb, output_a=out_a, output_b=out_b,
                  winner=winner, created_at="2026-01-01T00:00:00+00:00")


def test_one_vote_is_a_small_gap_with_wide_intervals_and_too_few_votes():
    r = ratings([b("m1", "m2", "a")])
    assert r.votes == 1
    top, bottom = r.models
    assert top.model == "m1" and bottom.model == "m2"
    assert 100 < top.rating - bottom.rating < 125          # not the 584 of an unpenalized fit
    for m in r.models:
        assert m.high - m.low > 400                         # wide: one vote says little
        assert m.low < m.rating < m.high
        assert m.too_few
    assert bottom.high > top.low                            # the intervals overlap
    assert r.prior_points == pytest.approx(173.7, abs=0.1)


def test_intervals_narrow_as_votes_add_up_and_the_rule_lifts():
    few = ratings([b("m1", "m2", "a", i=i) for i in range(2)])
    many = ratings([b("m1", "m2", "a" if i % 3 else "b", i=i) for i in range(3 * MIN_BATTLES)])
    width = lambda r: r.models[0].high - r.models[0].low  # noqa: E731
    assert width(many) < width(few)
    assert not any(m.too_few for m in many.models)


def test_win_matrix_is_rates_with_counts_ties_apart():
    votes = [b("m1", "m2", "a", i=0), b("m2", "m1", "b", i=1), b("m1", "m2", "b", i=2),
             b("m1", "m2", "tie", i=3), b("m1", "m3", "both_bad", i=4)]
    r = ratings(votes)
    assert r.win_matrix["m1"]["m2"].label() == "67 % (2/3)"
    assert r.win_matrix["m2"]["m1"].label() == "33 % (1/3)"
    assert r.win_matrix["m1"]["m3"].label() == "–"        # met, but never decisively
    assert Cell().rate is None
    m1 = next(m for m in r.models if m.model == "m1")
    assert (m1.battles, m1.wins, m1.losses, m1.ties, m1.both_bad) == (5, 2, 1, 1, 1)


def test_markdown_elements_count_headers_lists_and_bold():
    assert markdown_elements("# H\n## H2\n- a\n* b\n1. c\n**x** and __y__") == 7
    assert markdown_elements("plain text, no # header, 3 * 4") == 0
    assert markdown_elements(None) == 0


def test_style_covariates_are_normalized_differences_scaled_to_unit_sd():
    votes = [b("m1", "m2", "a", out_a=LONG_MD, out_b="short", i=0),
             b("m1", "m2", "b", out_a="short", out_b=LONG_MD, i=1),
             b("m1", "m2", "a", out_a="same", out_b="same", i=2)]
    x = style_covariates(votes)
    assert len(x) == 3 and all(len(row) == 2 for row in x)
    assert x[0][0] > 0 and x[1][0] < 0 and x[2] == [0.0, 0.0]
    assert x[0][0] == pytest.approx(-x[1][0])
    import statistics
    assert statistics.pstdev(row[0] for row in x) == pytest.approx(1.0)


def test_style_control_finds_a_length_preference_and_takes_it_out():
    """m1 always writes the long, formatted answer and always wins: without style control
    m1 is far ahead; with it, much of the gap goes to the length/markdown coefficients."""
    votes = [b("m1", "m2", "a", out_a=LONG_MD, out_b="ok", i=i) for i in range(12)]
    # and between other models, the longer answer wins too: the style effect is identifiable
    votes += [b("m3", "m4", "a" if i % 2 else "b", out_a=LONG_MD if i % 2 else "ok",
                out_b="ok" if i % 2 else LONG_MD, i=100 + i) for i in range(12)]
    plain = ratings(votes)
    styled = ratings(votes, style=True)
    gap = lambda r: (next(m.rating for m in r.models if m.model == "m1")  # noqa: E731
                     - next(m.rating for m in r.models if m.model == "m2"))
    assert styled.style and [c.name for c in styled.coefficients] == ["length", "markdown"]
    assert all(c.value > 0 and c.low < c.value < c.high for c in styled.coefficients)
    assert gap(styled) < gap(plain)
    m1 = next(m for m in styled.models if m.model == "m1")
    assert m1.plain_rating == pytest.approx(next(m.rating for m in plain.models if m.model == "m1"))
    assert plain.coefficients == []


def test_no_votes_no_ratings():
    r = ratings([])
    assert r.votes == 0 and r.models == [] and r.win_matrix == {}


# --- the page ---------------------------------------------------------------------

@pytest.fixture
def client():
    with ModelPool() as pool:
        app = create_app(Settings(models={"echo": "fake:echo", "parrot": "fake:squawk"}),
                         pool=pool)
        app.state.ui_models = ["echo", "parrot"]
        with TestClient(app) as c:
            yield c


def _vote(winner: str, out_a: str = "an answer", out_b: str = "squawk") -> None:
    store = ArenaStore()
    battle = store.start("q", ["echo", "parrot"])
    store.save_output(battle.id, "a", out_a)
    store.save_output(battle.id, "b", out_b)
    store.vote(battle.id, winner)


def test_ratings_page_after_one_vote_is_honest(client):
    _vote("a")
    page = client.get("/ui/arena/ratings").text
    intervals = re.findall(r'<td class="interval">(\d+) – (\d+)', page)
    assert len(intervals) == 2
    assert all(int(hi) - int(lo) > 400 for lo, hi in intervals)   # never "1292 – 1292"
    assert page.count("too few votes") >= 3     # the rule, and both models marked
    assert f"fewer than {MIN_BATTLES} battles" in page
    assert "Gaussian prior" in page and "never zero-width" in page
    assert "100 % (1/1)" in page and "0 % (0/1)" in page
    assert 'id="style-coefficients"' not in page


def test_ratings_page_with_style_control(client):
    for i in range(4):
        _vote("a" if i % 2 else "b", out_a=LONG_MD if i % 2 else "x", out_b="x" if i % 2 else LONG_MD)
    page = client.get("/ui/arena/ratings?style=true").text
    assert 'id="style-control"' in page and "checked" in page
    table = page[page.index('id="style-coefficients"'):]
    assert re.search(r"<td>length</td><td class=\"coef\">[+-]\d\.\d\d</td>", table)
    assert re.search(r"<td>markdown</td><td class=\"coef\">[+-]\d\.\d\d</td>", table)
    assert "Without style control" in page
