"""The press page: the headline figures as French cards, each with its definition and period."""

from __future__ import annotations

import datetime as dt

from dashboards.model import (
    DEVICE_LABELS, PROFILE_LABELS, RECIPIENT_LABELS, Card, Cards, Link, Links, Note, Page, Section, Table, count_cell,
    in_vocabulary_order, label, small_count_note,
)
from pipelines.french import format_date, format_int, format_percent, format_period
from pipelines.headline import WORDS

DOWNLOADS = {"headline.json": "les chiffres au format JSON (ceux de « ent-analytics headline --format json »)",
             "headline.csv": "les mêmes chiffres en CSV, une ligne par chiffre"}
SUMMARY = ("Les chiffres clés pour la presse, en français, chacun avec sa définition et sa période, "
           "et à télécharger en JSON ou CSV.")
TITLE = "Chiffres clés pour la presse"


def _period(figures: dict) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(figures["period"]["start"]), dt.date.fromisoformat(figures["period"]["end"])


def usage_cards(figures: dict, timeout_minutes: int) -> list[Card]:
    """Visits, page views, unique visitors and collaborative spaces used, over the period."""
    definitions, period = WORDS["fr"]["definitions"], format_period(*_period(figures))
    labels = {"visits": "Visites", "page_views": "Pages vues", "unique_visitors": "Visiteurs uniques",
              "collaborative_spaces_used": "Espaces collaboratifs utilisés"}
    return [Card(text, format_int(figures[key]), definitions[key].format(timeout=timeout_minutes), period.capitalize())
            for key, text in labels.items()]


def _breakdown(counts: dict[str, int], labels: dict[str, str], threshold: int) -> list[str]:
    return [f"{label(labels, word)} : {count_cell(counts[word], threshold)}"
            for word in in_vocabulary_order(set(counts), labels)]


def equipment_cards(figures: dict, threshold: int) -> list[Card]:
    """Devices provided in the period, devices in service at its end, needs covered, collèges fully covered."""
    definitions, (start, end) = WORDS["fr"]["definitions"], _period(figures)
    provided, in_service = figures["devices"]["provided_in_period"], figures["devices"]["in_service_at_end"]
    needs, colleges = figures["needs"], figures["colleges_with_all_needs_covered"]
    at = f"Au {format_date(end)}"
    recipients = {word: f"à des {text.lower()}" for word, text in RECIPIENT_LABELS.items()}
    return [
        Card("Équipements remis", format_int(provided["total"]), definitions["provided"],
             format_period(start, end).capitalize(),
             _breakdown(provided["by_type"], DEVICE_LABELS, threshold)
             + _breakdown(provided["by_recipient"], recipients, threshold)),
        Card("Équipements en service", format_int(in_service["total"]), definitions["in_service"], at,
             _breakdown(in_service["by_type"], DEVICE_LABELS, threshold)),
        Card("Besoins en équipement couverts", format_percent(needs["coverage_rate"]), definitions["coverage"], at,
             [f"{format_int(needs['covered'])} besoins couverts sur {format_int(needs['identified'])} identifiés"]),
        Card("Collèges dont tous les besoins sont couverts", format_int(colleges["count"]), definitions["colleges"],
             at,
             [f"sur {format_int(colleges['colleges_with_needs'])} collèges ayant des besoins identifiés "
              f"({format_percent(colleges['share'])})"]),
    ]


def profile_table(figures: dict, threshold: int) -> Table:
    """Visits, page views and unique visitors of each profile over the period, small cells hidden."""
    rows = [[label(PROFILE_LABELS, profile), *(count_cell(row[key], threshold)
                                               for key in ("visits", "page_views", "unique_visitors"))]
            for profile, row in figures["by_profile"].items()]
    rows.append(["Total", *(format_int(figures[key]) for key in ("visits", "page_views", "unique_visitors"))])
    return Table(f"Par profil, {format_period(*_period(figures))}",
                 ["Profil", "Visites", "Pages vues", "Visiteurs uniques"], rows, numeric=[False, True, True, True])


def data_date_text(figures: dict) -> str:
    """'Données arrêtées au 9 avril 2020.' from the figures' data date."""
    return WORDS["fr"]["data_date"].format(date=format_date(dt.date.fromisoformat(figures["data_date"])))


def press_page(figures: dict, threshold: int, timeout_minutes: int) -> Page:
    """The press page for figures returned by pipelines.headline.headline_figures."""
    return Page("press.html", TITLE, SUMMARY, data_date_text(figures), [
        Section("Audience de l'ENT", [Cards(usage_cards(figures, timeout_minutes))]),
        Section("Équipement", [Cards(equipment_cards(figures, threshold)), small_count_note(threshold)]),
        Section("Par profil", [profile_table(figures, threshold)],
                "Profil tiré de l'annuaire de l'ENT ; « anonymes » : pages vues sans connexion."),
        Section("Télécharger", [Links([Link(name, name, text) for name, text in DOWNLOADS.items()]),
                Note("Les fichiers donnent les chiffres exacts, y compris les petits effectifs masqués ci-dessus.")]),
    ], nav_label="Presse")


def empty_press_page() -> Page:
    """The press page when the warehouse holds no visit yet."""
    return Page("press.html", TITLE, SUMMARY, "Aucune donnée de fréquentation pour l'instant.", [
        Section("Aucun chiffre", [Note("L'entrepôt ne contient encore aucune visite : ajoutez des journaux d'accès "
                                       "dans raw/logs/ puis lancez « ent-analytics run ».")]),
    ], nav_label="Presse")
