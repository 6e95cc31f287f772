"""Press figures from a hand-built warehouse: definitions, JSON shape, wording, CSV and CLI errors."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.headline import headline_csv, headline_figures, open_warehouse, render_headline, resolve_period
from pipelines.settings import Settings

START, END = date(2020, 3, 16), date(2020, 3, 18)

# Visits on 15 → 19 March; the headline period is 16 → 18 March, so the first and last days straddle it.
# Visitor A is seen on 16 and 17 March; D's visit split at midnight into 18 and 19 March.
VISITS = [
    # visit_id, visitor_key, profile, uai, local_day, started_at_local, page_views
    ("v1", "A", "eleve", "0920001A", "2020-03-15", "2020-03-15 10:00:00", 3),
    ("v2", "A", "eleve", "0920001A", "2020-03-16", "2020-03-16 09:00:00", 4),
    ("v3", "A", "eleve", "0920001A", "2020-03-17", "2020-03-17 14:00:00", 2),
    ("v4", "B", "enseignant", "0920002B", "2020-03-16", "2020-03-16 08:30:00", 5),
    ("v5", "C", "anonyme", None, "2020-03-18", "2020-03-18 12:00:00", 1),
    ("v6", "D", "inconnu", None, "2020-03-18", "2020-03-18 23:50:00", 3),
    ("v7", "D", "inconnu", None, "2020-03-19", "2020-03-19 00:00:00", 2),
    ("v8", "E", "parent", "0920003C", "2020-03-19", "2020-03-19 18:00:00", 7),
]
SPACE_DAYS = [
    ("maths-5e", "2020-03-15"), ("maths-5e", "2020-03-16"), ("histoire_4B", "2020-03-17"),
    ("maths-5e", "2020-03-18"), ("club-theatre", "2020-03-19"),
]
DEVICES = [
    # loan_id, device_type, transfer, recipient_type, recipient_key, uai, start_date, end_date
    ("L1", "ultraportable", "pret", "eleve", "P1", "0920001A", "2020-03-10", None),  # in service, before period
    ("L2", "ultraportable", "pret", "eleve", "P2", "0920001A", "2020-03-16", "2020-03-17"),  # returned before end
    ("L3", "tablette", "pret", "eleve", "P3", "0920002B", "2020-03-17", "2020-03-18"),  # returned on the end day
    ("L4", "tablette", "pret", "enseignant", "T1", "0920002B", "2020-03-18", "2020-03-25"),  # returned after end
    ("L5", "tablette", "don", "eleve", "P4", "0920002B", "2020-03-18", None),  # a gift never returns
    ("L6", "pc_recycle", "don", "eleve", "P5", "0920003C", "2020-03-19", None),  # after the period
    ("L7", "tablette", "pret", "eleve", "P6", "0920003C", "2020-03-01", "2020-03-10"),  # over before the period
    ("L8", "ultraportable", "pret", "eleve", "P8", "0920003C", "2020-03-01", "2020-03-05"),
]
NEEDS = [
    # need_id, pupil_key, uai, criterion, identified_on, first_equipped_on
    ("N1", "P1", "0920001A", "rep", "2020-03-05", "2020-03-10"),
    ("N2", "P2", "0920001A", "ase", "2020-03-12", "2020-03-16"),
    ("N3", "P4", "0920002B", "boursier", "2020-03-17", "2020-03-18"),  # equipped on the end day
    ("N4", "P7", "0920002B", "rep", "2020-03-14", None),  # never equipped
    ("N5", "P8", "0920003C", "autre", "2020-03-10", "2020-03-01"),  # equipped before being identified
    ("N6", "P5", "0920003C", "rep", "2020-03-15", "2020-03-19"),  # equipped after the end
    ("N7", "P9", "0920003C", "rep", "2020-03-19", None),  # identified after the end
]

CONTRACT_KEYS = {"period", "visits", "page_views", "unique_visitors", "collaborative_spaces_used", "devices", "needs"}


def build_warehouse(data_dir: Path) -> Path:
    """Write DATA_DIR/warehouse/ent.duckdb with the marts the headline reads, from the rows above."""
    path = data_dir / "warehouse" / "ent.duckdb"
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("""create table marts.fct_visits (visit_id varchar, visitor_key varchar, profile varchar, uai varchar,
        local_day date, started_at timestamp, started_at_local timestamp, ended_at timestamp, page_views bigint)""")
    con.executemany("insert into marts.fct_visits values (?, ?, ?, ?, ?, ?::timestamp - interval 1 hour, ?,"
                    " ?::timestamp - interval 50 minute, ?)",
                    [(v, k, p, u, d, t, t, t, n) for v, k, p, u, d, t, n in VISITS])
    con.execute("""create table marts.fct_visitor_days as select local_day, visitor_key, profile, uai,
        count(*) as visits, sum(page_views) as page_views from marts.fct_visits group by all""")
    con.execute("create table marts.fct_space_days (space_id varchar, local_day date, page_views bigint, visitors bigint)")
    con.executemany("insert into marts.fct_space_days values (?, ?, 1, 1)", SPACE_DAYS)
    con.execute("""create table marts.fct_devices (loan_id varchar, device_type varchar, transfer varchar,
        recipient_type varchar, recipient_key varchar, uai varchar, start_date date, end_date date)""")
    con.executemany("insert into marts.fct_devices values (?, ?, ?, ?, ?, ?, ?, ?)", DEVICES)
    con.execute("""create table marts.fct_needs (need_id varchar, pupil_key varchar, uai varchar, criterion varchar,
        identified_on date, first_equipped_on date, days_to_equipment integer)""")
    con.executemany("insert into marts.fct_needs values (?, ?, ?, ?, ?, ?, date_diff('day', ?::date, ?::date))",
                    [(*row, row[4], row[5]) for row in NEEDS])
    con.execute("""create table marts.dim_colleges (uai varchar, name varchar, commune varchar, commune_insee varchar,
        sector varchar, education_priority varchar, students integer, has_ulis boolean, latitude double,
        longitude double)""")
    con.execute("""insert into marts.dim_colleges values
        ('0920001A', 'Collège Paul Éluard', 'Nanterre', '92050', 'public', 'REP', 620, true, 48.89, 2.20),
        ('0920002B', 'Collège Les Bruyères', 'Colombes', '92025', 'public', 'none', 540, false, 48.92, 2.25),
        ('0920003C', 'Collège Saint-Joseph', 'Meudon', '92048', 'private_under_contract', null, 480, false, 48.81, 2.24)""")
    con.close()
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    build_warehouse(tmp_path)
    return Settings(data_dir=tmp_path)


@pytest.fixture
def figures(settings: Settings) -> dict:
    con = open_warehouse(settings)
    yield headline_figures(con, START, END)
    con.close()


def test_visits_and_page_views_count_the_days_inside_the_period_only(figures):
    assert figures["visits"] == 5
    assert figures["page_views"] == 4 + 2 + 5 + 1 + 3


def test_a_visitor_seen_on_two_days_counts_once(figures):
    assert figures["unique_visitors"] == 4  # A (twice), B, C, D; E only after the period


def test_collaborative_spaces_used_are_distinct_spaces_inside_the_period(figures):
    assert figures["collaborative_spaces_used"] == 2  # maths-5e (twice), histoire_4B


def test_devices_provided_start_inside_the_period(figures):
    assert figures["devices"]["provided_in_period"] == {
        "total": 4, "by_type": {"tablette": 3, "ultraportable": 1}, "by_recipient": {"eleve": 3, "enseignant": 1}}


def test_devices_in_service_exclude_those_returned_by_the_end_day(figures):
    # L1 and the gift L5 are still out, L4 comes back after the end; L3 returned on the end day is not.
    assert figures["devices"]["in_service_at_end"] == {"total": 3, "by_type": {"tablette": 2, "ultraportable": 1}}


def test_by_type_lists_only_words_occurring_in_the_counted_rows(figures):
    assert "pc_recycle" not in figures["devices"]["provided_in_period"]["by_type"]
    assert "pc_recycle" not in figures["devices"]["in_service_at_end"]["by_type"]


def test_need_covered_before_identification_counts_as_covered(figures):
    # Identified by 18 March: N1-N6; covered: N1, N2, N3 (on the end day), N5 (equipped before identified).
    assert figures["needs"] == {"identified": 6, "covered": 4, "coverage_rate": 0.6667}


def test_colleges_with_all_needs_covered(figures):
    assert figures["colleges_with_all_needs_covered"] == {"count": 1, "colleges_with_needs": 3, "share": 0.3333}


def test_figures_at_an_earlier_end(settings):
    con = open_warehouse(settings)
    figures = headline_figures(con, date(2020, 3, 16), date(2020, 3, 16))
    con.close()
    assert figures["needs"] == {"identified": 5, "covered": 3, "coverage_rate": 0.6}
    assert figures["colleges_with_all_needs_covered"] == {"count": 1, "colleges_with_needs": 3, "share": 0.3333}
    assert figures["devices"]["in_service_at_end"]["total"] == 2  # L1 and L2


def test_no_need_identified_gives_a_zero_coverage_rate(settings):
    con = open_warehouse(settings)
    figures = headline_figures(con, date(2020, 3, 1), date(2020, 3, 4))
    con.close()
    assert figures["needs"] == {"identified": 0, "covered": 0, "coverage_rate": 0.0}
    assert figures["colleges_with_all_needs_covered"]["share"] == 0.0
    assert figures["visits"] == 0
    assert figures["devices"]["provided_in_period"]["by_type"] == {"tablette": 1, "ultraportable": 1}  # L7, L8


def test_by_profile_and_data_date(figures):
    assert figures["by_profile"] == {
        "eleve": {"visits": 2, "page_views": 6, "unique_visitors": 1},
        "enseignant": {"visits": 1, "page_views": 5, "unique_visitors": 1},
        "parent": {"visits": 0, "page_views": 0, "unique_visitors": 0},
        "personnel": {"visits": 0, "page_views": 0, "unique_visitors": 0},
        "anonyme": {"visits": 1, "page_views": 1, "unique_visitors": 1},
        "inconnu": {"visits": 1, "page_views": 3, "unique_visitors": 1},
    }
    assert figures["data_date"] == "2020-03-19"


def test_json_has_the_contract_shape_and_integer_counts(settings, capsys):
    assert main(["headline", "--data-dir", str(settings.data_dir), "--format", "json",
                 "--start", "2020-03-16", "--end", "2020-03-18"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert CONTRACT_KEYS <= set(printed)
    assert set(printed) - CONTRACT_KEYS == {"by_profile", "colleges_with_all_needs_covered", "data_date"}
    assert set(printed["period"]) == {"start", "end"}
    assert set(printed["devices"]) == {"provided_in_period", "in_service_at_end"}
    assert set(printed["devices"]["provided_in_period"]) == {"total", "by_type", "by_recipient"}
    assert set(printed["devices"]["in_service_at_end"]) == {"total", "by_type"}
    assert set(printed["needs"]) == {"identified", "covered", "coverage_rate"}
    assert printed["period"] == {"start": "2020-03-16", "end": "2020-03-18"}
    counts = [printed[key] for key in ("visits", "page_views", "unique_visitors", "collaborative_spaces_used")]
    counts += [printed["needs"]["identified"], printed["needs"]["covered"]]
    counts += list(printed["devices"]["provided_in_period"]["by_type"].values())
    assert all(type(count) is int for count in counts) and counts[:4] == [5, 15, 4, 2]


def test_default_period_is_the_whole_data(settings, capsys):
    assert main(["headline", "--data-dir", str(settings.data_dir), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["period"] == {"start": "2020-03-15", "end": "2020-03-19"}
    assert printed["visits"] == 8 and printed["unique_visitors"] == 5


def test_one_missing_end_defaults_to_the_data_and_a_partial_overlap_is_kept(settings):
    con = open_warehouse(settings)
    assert resolve_period(con, date(2020, 3, 17), None) == (date(2020, 3, 17), date(2020, 3, 19))
    assert resolve_period(con, date(2020, 3, 1), date(2020, 3, 15)) == (date(2020, 3, 1), date(2020, 3, 15))
    con.close()


def test_text_in_french_gives_period_definition_and_data_date(settings, capsys):
    assert main(["headline", "--data-dir", str(settings.data_dir), "--start", "2020-03-16", "--end", "2020-03-18"]) == 0
    text = capsys.readouterr().out
    assert "du 16 au 18 mars 2020" in text
    assert "- 5 visites du 16 au 18 mars 2020." in text
    assert "- 15 pages vues du 16 au 18 mars 2020." in text
    assert "- 4 visiteurs uniques du 16 au 18 mars 2020." in text
    assert "- 2 espaces collaboratifs utilisés du 16 au 18 mars 2020." in text
    assert "Une visite est une suite de pages vues" in text and "plus de 30 minutes" in text
    assert "Données arrêtées au 19 mars 2020." in text
    assert "- 66,7 % des besoins en équipement couverts au 18 mars 2020 (4 sur 6 besoins identifiés)." in text
    assert "- 1 collège sur 3 (33,3 %) : tous les besoins en équipement couverts au 18 mars 2020." in text
    assert "- élèves : < 5 visites" in text  # small breakdown cells are hidden
    assert "- parents : 0 visite, 0 page vue, 0 visiteur unique" in text
    assert "\u00a0" not in text and "Traceback" not in text


def test_text_in_english(settings, capsys):
    assert main(["headline", "--data-dir", str(settings.data_dir), "--lang", "en",
                 "--start", "2020-03-16", "--end", "2020-03-18"]) == 0
    text = capsys.readouterr().out
    assert "- 5 visits from March 16 to March 18, 2020." in text
    assert "- 66.7% of the equipment needs covered on March 18, 2020 (4 out of 6 identified needs)." in text
    assert "Data up to March 19, 2020." in text
    assert "- pupils: < 5 visits" in text


def big_figures(figures: dict) -> dict:
    """The hand-built figures scaled to a département's spring of 2020."""
    big = json.loads(json.dumps(figures))
    big.update(visits=3_987_212, page_views=31_042_117, unique_visitors=10_230, collaborative_spaces_used=4558)
    big["devices"]["provided_in_period"] = {"total": 1_500_000, "by_type": {"tablette": 1_000_000, "ultraportable": 500_000},
                                           "by_recipient": {"eleve": 1_499_000, "enseignant": 1000}}
    big["by_profile"]["eleve"] = {"visits": 2_500_000, "page_views": 20_000_000, "unique_visitors": 60_000}
    big["needs"] = {"identified": 4000, "covered": 3500, "coverage_rate": 0.875}
    return big


def test_big_figures_are_rounded_as_the_press_does_with_the_exact_figure_beside(figures):
    text = render_headline(big_figures(figures), "text", "fr", Settings())
    assert "- Près de 4 millions de visites (3 987 212) du 16 au 18 mars 2020." in text
    assert "- 31 millions de pages vues (31 042 117) du 16 au 18 mars 2020." in text
    assert "- Plus de 10 000 visiteurs uniques (10 230) du 16 au 18 mars 2020." in text
    assert "- 4 558 espaces collaboratifs utilisés" in text
    assert ("- 1,5 million d'équipements remis (1 500 000) du 16 au 18 mars 2020 : 1 000 000 tablettes et"
            " 500 000 ultraportables ; 1 499 000 à des élèves et 1 000 à des enseignants.") in text
    assert "- 87,5 % des besoins en équipement couverts au 18 mars 2020 (3 500 sur 4 000 besoins identifiés)." in text
    assert "- élèves : 2 500 000 visites, 20 000 000 pages vues, 60 000 visiteurs uniques" in text


def test_big_figures_in_english(figures):
    text = render_headline(big_figures(figures), "text", "en", Settings())
    assert "- Nearly 4 million visits (3,987,212) from March 16 to March 18, 2020." in text
    assert "- 31 million page views (31,042,117)" in text
    assert "- More than 10,000 unique visitors (10,230)" in text
    assert "- 1.5 million devices provided (1,500,000)" in text
    assert "- 87.5% of the equipment needs covered" in text


def test_markdown_bolds_each_figure_and_tabulates_profiles(figures):
    markdown = render_headline(big_figures(figures), "markdown", "fr", Settings())
    assert markdown.startswith("# L'ENT des collèges en chiffres, du 16 au 18 mars 2020\n")
    assert "- **Près de 4 millions de visites (3 987 212)** du 16 au 18 mars 2020. Une visite est" in markdown
    assert "| élèves | 2 500 000 | 20 000 000 | 60 000 |" in markdown
    assert "| parents | 0 | 0 | 0 |" in markdown


def test_visit_definition_follows_the_configured_timeout(figures):
    text = render_headline(figures, "text", "fr", dataclasses.replace(Settings(), visit_timeout_minutes=20))
    assert "sans pause de plus de 20 minutes" in text


def test_csv_has_one_row_per_figure_with_its_period(figures):
    rows = list(csv.DictReader(io.StringIO(headline_csv(figures))))
    values = {row["figure"]: row["value"] for row in rows}
    assert values["visits"] == "5"
    assert values["devices.provided_in_period.by_type.tablette"] == "3"
    assert values["needs.coverage_rate"] == "0.6667"
    assert values["by_profile.eleve.page_views"] == "6"
    assert values["colleges_with_all_needs_covered.count"] == "1"
    assert len(values) == len(rows)  # one row per figure
    assert {(row["period_start"], row["period_end"], row["data_date"]) for row in rows} == {
        ("2020-03-16", "2020-03-18", "2020-03-19")}


@pytest.mark.parametrize(("arguments", "message"), [
    (["--start", "2020-03-18", "--end", "2020-03-16"], "before the start date"),
    (["--start", "2021-01-01", "--end", "2021-01-31"], "outside the data, which covers 2020-03-15 to 2020-03-19"),
    (["--end", "2020-03-01"], "outside the data"),
    (["--start", "2020-04-01"], "outside the data"),
])
def test_bad_periods_end_with_one_line(settings, capsys, arguments, message):
    assert main(["headline", "--data-dir", str(settings.data_dir), *arguments]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and message in captured.err
    assert "Traceback" not in captured.err


def test_no_warehouse_says_to_run_first(tmp_path, capsys):
    assert main(["headline", "--data-dir", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "run `ent-analytics run` first" in err
    assert "Traceback" not in err


def test_warehouse_without_marts_says_to_run_first(tmp_path, capsys):
    (tmp_path / "warehouse").mkdir()
    duckdb.connect(str(tmp_path / "warehouse" / "ent.duckdb")).close()
    assert main(["headline", "--data-dir", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "lacks marts.fct_visits" in err


def test_warehouse_without_visits_says_so(tmp_path, capsys):
    path = build_warehouse(tmp_path)
    con = duckdb.connect(str(path))
    con.execute("delete from marts.fct_visits")
    con.close()
    assert main(["headline", "--data-dir", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no visit yet" in err


def test_the_warehouse_is_opened_read_only(settings):
    con = open_warehouse(settings)
    with pytest.raises(duckdb.Error):
        con.execute("create table marts.scratch (x integer)")
    con.close()
