"""Numbers, dates and percentages written as a French (or English) press release writes them.

Press rounding keeps two significant digits from 10 000 up and never overstates:
a figure rounded up reads "près de" (3 987 212 -> "près de 4 millions"), one
rounded down by 1 % or more reads "plus de" (10 230 -> "plus de 10 000"), one
rounded down by less is written plainly (31 042 117 -> "31 millions"). Text uses
plain ASCII spaces, so it survives any copy and paste.
"""

from __future__ import annotations

import datetime as dt

LANGS = ("fr", "en")
# Below this a figure is written in full: "4 558", not "plus de 4 500".
PRESS_ROUNDING_FROM = 10_000
# Rounding down by less than this share is written without "plus de" (31 042 117 -> "31 millions").
PLAIN_BELOW = 0.01

MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}
QUALIFIERS = {
    "fr": {"exact": "", "plain": "", "over": "plus de ", "nearly": "près de "},
    "en": {"exact": "", "plain": "", "over": "more than ", "nearly": "nearly "},
}
# (value, French singular, French plural, English) of the big units.
SCALES = [(1_000_000_000, "milliard", "milliards", "billion"), (1_000_000, "million", "millions", "million")]
VOWELS = "aeiouyàâéèêëîïôûü"


def _check_lang(lang: str) -> None:
    """Refuse a language this module cannot write."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")


def format_int(value: int, lang: str = "fr") -> str:
    """A whole number with its thousands separated: "4 558" in French, "4,558" in English."""
    _check_lang(lang)
    text = f"{value:,}"
    return text.replace(",", " ") if lang == "fr" else text


def format_decimal(value: float, digits: int = 1, lang: str = "fr", trim: bool = False) -> str:
    """A decimal number with a decimal comma in French ("87,5"), a point in English; trim drops ",0"."""
    _check_lang(lang)
    text = f"{value:,.{digits}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",") if lang == "fr" else text


def format_percent(rate: float, lang: str = "fr") -> str:
    """A share (0.875) as a percentage with one decimal: "87,5 %" in French, "87.5%" in English."""
    percent = round(rate * 100, 1)
    # Rounding must not claim "all" or "none" when it is not so.
    if percent >= 100 and rate < 1:
        percent = 99.9
    elif percent <= 0 and rate > 0:
        percent = 0.1
    number = format_decimal(percent, 1, lang, trim=True)
    return f"{number} %" if lang == "fr" else f"{number}%"


def format_date(day: dt.date, lang: str = "fr") -> str:
    """A date as the press writes it: "16 mars 2020", "1er avril 2020"; "March 16, 2020" in English."""
    _check_lang(lang)
    month = MONTHS[lang][day.month - 1]
    if lang == "en":
        return f"{month} {day.day}, {day.year}"
    return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"


def format_period(start: dt.date, end: dt.date, lang: str = "fr") -> str:
    """A period, both ends included: "du 16 mars au 9 avril 2020", "from March 16 to April 9, 2020"."""
    if start == end:
        return ("le " if lang == "fr" else "on ") + format_date(start, lang)
    if lang == "en":
        first = format_date(start, lang).rsplit(",", 1)[0] if start.year == end.year else format_date(start, lang)
        return f"from {first} to {format_date(end, lang)}"
    first = format_date(start, lang)
    if start.year == end.year:
        first = first.rsplit(" ", 2 if start.month == end.month else 1)[0]
    return f"du {first} au {format_date(end, lang)}"


def press_round(value: int) -> tuple[int, str]:
    """The press rounding of a count and how it relates to it: "exact", "plain", "over" or "nearly"."""
    if value < 0:
        raise ValueError(f"press rounding is for counts, not {value}")
    if value < PRESS_ROUNDING_FROM:
        return value, "exact"
    step = 10 ** (len(str(value)) - 2)
    rounded = (value + step // 2) // step * step
    if rounded == value:
        return rounded, "exact"
    if rounded > value:
        return rounded, "nearly"
    return rounded, "plain" if (value - rounded) / value < PLAIN_BELOW else "over"


def _scaled(rounded: int, lang: str) -> tuple[str, bool]:
    """A rounded count in words of millions or billions when big ("1,5 million"), and whether it was."""
    for unit, singular, plural, english in SCALES:
        if rounded >= unit:
            tenths = (rounded + unit // 20) // (unit // 10)
            number = format_decimal(tenths / 10, 1, lang, trim=True)
            word = english if lang == "en" else (singular if tenths < 20 else plural)
            return f"{number} {word}", True
    return format_int(rounded, lang), False


def press_number(value: int, lang: str = "fr") -> str:
    """A count as the press writes it: "près de 4 millions", "plus de 10 000", "4 558"."""
    _check_lang(lang)
    rounded, relation = press_round(value)
    text, _ = _scaled(rounded, lang)
    return QUALIFIERS[lang][relation] + text


def press_count(value: int, singular: str, plural: str, lang: str = "fr") -> str:
    """A count with its noun, and the exact figure beside a rounded one: "près de 4 millions de visites (3 987 212)"."""
    rounded, _ = press_round(value)
    _, in_words = _scaled(rounded, lang)
    number = press_number(value, lang)
    noun = noun_for(value, singular, plural, lang)
    if in_words and lang == "fr":
        joiner = " d'" if noun[0].lower() in VOWELS else " de "
    else:
        joiner = " "
    exact = "" if number == format_int(value, lang) else f" ({format_int(value, lang)})"
    return f"{number}{joiner}{noun}{exact}"


def noun_for(count: int, singular: str, plural: str, lang: str = "fr") -> str:
    """The noun that agrees with a count: singular for 0 and 1 in French, for 1 only in English."""
    return singular if (count <= 1 if lang == "fr" else count == 1) else plural


def join_words(items: list[str], lang: str = "fr") -> str:
    """A list in prose: "a, b et c" in French, "a, b and c" in English."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {'et' if lang == 'fr' else 'and'} {items[-1]}"
