"""What a dashboard page holds, independent of HTML: figures, tables, cards, links; and the small-count rule."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import plotly.graph_objects as go

from pipelines.french import format_int

LOCKDOWN_START = "2020-03-16"

PROFILE_LABELS = {
    "eleve": "Élèves",
    "enseignant": "Enseignants",
    "parent": "Parents",
    "personnel": "Personnels",
    "anonyme": "Anonymes (sans connexion)",
    "inconnu": "Inconnus de l'annuaire",
}
DEVICE_LABELS = {"ultraportable": "Ultraportables", "tablette": "Tablettes", "pc_recycle": "PC reconditionnés"}
RECIPIENT_LABELS = {"eleve": "Élèves", "enseignant": "Enseignants"}
TRANSFER_LABELS = {"pret": "Prêts", "don": "Dons"}
PRIORITY_GROUPS = ["REP+", "REP", "Autres collèges"]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


@dataclass(frozen=True)
class Table:
    """A table of display strings; html.py escapes every cell."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)
    raw_text: tuple[int, ...] = ()


@dataclass(frozen=True)
class Card:
    """One headline figure with what it counts and over which period."""

    label: str
    value: str
    definition: str
    period: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cards:
    """A row of headline figures."""

    cards: list[Card]


@dataclass(frozen=True)
class Link:
    """A link to another file of the dashboards folder, with what it holds."""

    href: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Links:
    """A list of links."""

    links: list[Link]


@dataclass(frozen=True)
class Note:
    """A short paragraph of plain text."""

    text: str


Item = go.Figure | Table | Cards | Links | Note


@dataclass(frozen=True)
class Section:
    """A titled part of a page."""

    title: str
    items: list[Item]
    intro: str = ""


@dataclass(frozen=True)
class Page:
    """One HTML file of the dashboards folder."""

    filename: str
    title: str
    summary: str
    data_date: str
    sections: list[Section]
    nav_label: str = ""


def is_small(value: float, threshold: int) -> bool:
    """True when a breakdown count must not be published exactly: 1 to threshold - 1 (as the headline does)."""
    return 0 < value < threshold


def small_label(threshold: int) -> str:
    """The text shown in place of a hidden count, e.g. '< 5'."""
    return f"< {threshold}"


def count_cell(value: int, threshold: int) -> str:
    """The table text of a breakdown count: '4 558', or '< 5' when small."""
    return small_label(threshold) if is_small(value, threshold) else format_int(value)


def plot_text(text: object) -> str:
    """Data text for Plotly labels and hovers: Plotly renders some HTML tags, so '<', '>' and '&' are escaped."""
    return html.escape("" if text is None else str(text), quote=False)


def label(labels: dict, word: str | None) -> str:
    """The French label of a vocabulary word; an unexpected word is shown as it is."""
    return labels.get(word, "non renseigné" if word is None else word)


def in_vocabulary_order(words: set[str], labels: dict[str, str]) -> list[str]:
    """The words in their vocabulary's order, then any other word alphabetically."""
    return [word for word in labels if word in words] + sorted(words - set(labels), key=str)


def small_count_note(threshold: int) -> Note:
    """The sentence that explains hidden counts under a chart or a table."""
    if threshold <= 1:
        return Note("Aucun effectif n'est masqué (seuil du secret statistique désactivé).")
    return Note(
        f"Secret statistique : un effectif de 1 à {threshold - 1} n'est pas publié ; il apparaît comme "
        f"« {small_label(threshold)} » dans les tableaux et au survol, et n'est pas tracé. "
        "Les totaux restent exacts."
    )
