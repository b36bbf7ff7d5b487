"""The terminal leaderboard: order, content, and that it fits 80 columns."""

from __future__ import annotations

from rich.console import Console

from openpick.store.records import RunInfo
from openpick.report.terminal import render


def rendered(run, results, width=80):
    console = Console(width=width, record=True, color_system=None)
    report = render(run, results, console=console)
    return report, console.export_text()


def test_leaderboard_sorted_by_pass_rate_with_interval_speed_cost_openness(sample):
    report, text = rendered(*sample)
    assert [e.label for e in report.entries] == ["big-model", "small-model", "<b>odd</b>"]
    assert text.index("big-model") < text.index("small-model") < text.index("<b>odd</b>")
    assert "88%" in text and "69–96%" in text          # pass rate and its Wilson interval
    assert "500 ms" in text and "50" in text           # latency p50, tokens/s
    assert "$0.05" in text and "$0.20" in text         # per 1,000 cases: token price, machine price
    assert "Apache-2.0 · MOF Class II" in text and "MIT · MOF Class I" in text
    assert "license ? · MOF ?" in text                 # unknown is said, not hidden


def test_pairwise_verdicts_and_notes_are_printed(sample):
    _, text = rendered(*sample)
    flat = " ".join(text.split())
    assert "big-model is better than small-model on this suite, p =" in flat
    assert "engine error" in flat
    assert "Pareto frontier" in flat


def test_fits_80_columns_and_prints_markup_literally(sample):
    _, text = rendered(*sample)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "<b>odd</b>" in text


def test_suite_name_with_rich_markup_is_not_interpreted(sample):
    run, results = sample
    run = run.model_copy(update={"suite": "[bold]tricky[/]"})
    _, text = rendered(run, results)
    assert "[bold]tricky[/]" in text


def test_run_without_results_says_so():
    run = RunInfo(id="r0", suite="s", created_at="2025-01-01T00:00:00Z")
    _, text = rendered(run, [])
    assert "no results yet" in text


def test_money_keeps_two_significant_digits_without_exponents():
    from openpick.report import money

    assert [money(x) for x in (None, 0, 5e-05, 0.0012, 0.05, 1.5, 250)] == [
        "–", "$0", "$0.000050", "$0.0012", "$0.05", "$1.50", "$250"]
