"""Numbers, dates and percentages as the French (and English) press writes them."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.french import (
    format_date,
    format_decimal,
    format_int,
    format_percent,
    format_period,
    join_words,
    press_count,
    press_number,
    press_round,
)


@pytest.mark.parametrize(("value", "fr", "en"), [
    (0, "0", "0"),
    (4558, "4 558", "4,558"),
    (10_230, "10 230", "10,230"),
    (1_000_000, "1 000 000", "1,000,000"),
    (31_042_117, "31 042 117", "31,042,117"),
])
def test_thousands_are_separated_by_a_plain_space_in_french(value, fr, en):
    assert format_int(value) == fr
    assert format_int(value, "en") == en


@pytest.mark.parametrize(("value", "rounded", "relation"), [
    (0, 0, "exact"),
    (4558, 4558, "exact"),  # below 10 000: written in full
    (10_230, 10_000, "over"),  # rounded down by 2.3 %
    (31_042_117, 31_000_000, "plain"),  # rounded down by 0.14 %
    (3_987_212, 4_000_000, "nearly"),  # rounded up
    (1_000_000, 1_000_000, "exact"),
    (1_500_000, 1_500_000, "exact"),
    (999_999, 1_000_000, "nearly"),
])
def test_press_rounding_keeps_two_significant_digits_and_never_overstates(value, rounded, relation):
    assert press_round(value) == (rounded, relation)


@pytest.mark.parametrize(("value", "fr", "en"), [
    (0, "0", "0"),
    (4558, "4 558", "4,558"),
    (10_230, "plus de 10 000", "more than 10,000"),
    (31_042_117, "31 millions", "31 million"),
    (3_987_212, "près de 4 millions", "nearly 4 million"),
    (1_000_000, "1 million", "1 million"),
    (1_500_000, "1,5 million", "1.5 million"),
    (2_000_000, "2 millions", "2 million"),
    (123_456, "plus de 120 000", "more than 120,000"),
])
def test_press_number(value, fr, en):
    assert press_number(value) == fr
    assert press_number(value, "en") == en


@pytest.mark.parametrize(("value", "fr", "en"), [
    (0, "0 visite", "0 visits"),
    (1, "1 visite", "1 visit"),
    (4558, "4 558 visites", "4,558 visits"),
    (10_230, "plus de 10 000 visites (10 230)", "more than 10,000 visits (10,230)"),
    (31_042_117, "31 millions de visites (31 042 117)", "31 million visits (31,042,117)"),
    (3_987_212, "près de 4 millions de visites (3 987 212)", "nearly 4 million visits (3,987,212)"),
    (1_000_000, "1 million de visites (1 000 000)", "1 million visits (1,000,000)"),
    (1_500_000, "1,5 million de visites (1 500 000)", "1.5 million visits (1,500,000)"),
])
def test_press_count_puts_the_exact_figure_beside_every_rounded_one(value, fr, en):
    assert press_count(value, "visite", "visites") == fr
    assert press_count(value, "visit", "visits", "en") == en


def test_press_count_elides_de_before_a_vowel():
    assert press_count(3_987_212, "équipement", "équipements") == "près de 4 millions d'équipements (3 987 212)"


def test_press_rounding_refuses_negative_counts():
    with pytest.raises(ValueError):
        press_round(-1)


@pytest.mark.parametrize(("rate", "fr", "en"), [
    (0.875, "87,5 %", "87.5%"),
    (0.6667, "66,7 %", "66.7%"),
    (0.5, "50 %", "50%"),
    (1.0, "100 %", "100%"),
    (0.0, "0 %", "0%"),
    (0.9999, "99,9 %", "99.9%"),  # never "100 %" unless all
    (0.0001, "0,1 %", "0.1%"),  # never "0 %" unless none
])
def test_percentages(rate, fr, en):
    assert format_percent(rate) == fr
    assert format_percent(rate, "en") == en


def test_decimals_use_a_comma_in_french():
    assert format_decimal(1234.5) == "1 234,5"
    assert format_decimal(1234.5, 1, "en") == "1,234.5"
    assert format_decimal(1.5, 2) == "1,50"
    assert format_decimal(4.0) == "4,0"
    assert format_decimal(4.0, trim=True) == "4"
    assert format_decimal(87.5, 1, trim=True) == "87,5"


@pytest.mark.parametrize(("day", "fr", "en"), [
    (date(2020, 3, 16), "16 mars 2020", "March 16, 2020"),
    (date(2020, 4, 1), "1er avril 2020", "April 1, 2020"),
    (date(2020, 2, 29), "29 février 2020", "February 29, 2020"),
    (date(2019, 12, 31), "31 décembre 2019", "December 31, 2019"),
])
def test_dates(day, fr, en):
    assert format_date(day) == fr
    assert format_date(day, "en") == en


@pytest.mark.parametrize(("start", "end", "fr", "en"), [
    (date(2020, 3, 16), date(2020, 4, 9), "du 16 mars au 9 avril 2020", "from March 16 to April 9, 2020"),
    (date(2020, 4, 1), date(2020, 4, 9), "du 1er au 9 avril 2020", "from April 1 to April 9, 2020"),
    (date(2019, 12, 30), date(2020, 1, 2), "du 30 décembre 2019 au 2 janvier 2020",
     "from December 30, 2019 to January 2, 2020"),
    (date(2020, 3, 16), date(2020, 3, 16), "le 16 mars 2020", "on March 16, 2020"),
])
def test_periods(start, end, fr, en):
    assert format_period(start, end) == fr
    assert format_period(start, end, "en") == en


def test_lists_in_prose():
    assert join_words(["a"]) == "a"
    assert join_words(["a", "b", "c"]) == "a, b et c"
    assert join_words(["a", "b"], "en") == "a and b"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        format_int(1, "de")
