"""Collèges, directory and the ingestion marts: latest file wins, log lines and rejects counted per day."""

from __future__ import annotations

import datetime as dt

from sql_fixtures import build, insert, log_line, raw_connection, records, select


def college(uai: str, name: str, source_file: str, **extra) -> dict:
    """One accepted collège row."""
    return {"source_file": source_file, "uai": uai, "name": name, "commune": "Antony", "sector": "public",
            "education_priority": "none", "students": 559} | extra


def test_colleges_latest_reference_file_wins_and_missing_optional_columns_are_null():
    con = raw_connection()
    insert(con, "colleges", [college("0921170X", "Collège La Fontaine", "reference/colleges.csv",
                                     commune_insee="92002", has_ulis=True, latitude=48.77, longitude=2.32)], "f1")
    insert(con, "colleges", [college("0921170X", "Collège Jean de La Fontaine", "reference/colleges_2021.csv",
                                     education_priority=None),
                             college("0921243B", "Collège Anne Frank", "reference/colleges_2021.csv")], "f2")
    build(con, "marts.dim_colleges")
    assert records(con, "SELECT uai, name, education_priority, commune_insee, has_ulis, latitude "
                        "FROM marts.dim_colleges ORDER BY uai") == [
        {"uai": "0921170X", "name": "Collège Jean de La Fontaine", "education_priority": None,
         "commune_insee": None, "has_ulis": None, "latitude": None},
        {"uai": "0921243B", "name": "Collège Anne Frank", "education_priority": "none",
         "commune_insee": None, "has_ulis": None, "latitude": None},
    ]


def test_directory_last_export_wins_for_profile_and_college():
    con = raw_connection()
    insert(con, "directory", [{"source_file": "directory/annuaire-2020-03-15.csv", "user_key": "u1",
                               "profile": "enseignant", "uai": "0921243B"}], "f2")
    insert(con, "directory", [{"source_file": "directory/annuaire-2020-03-01.csv", "user_key": "u1",
                               "profile": "eleve", "uai": "0921170X"}], "f1")
    insert(con, "access_log", [log_line("2020-03-16 08:00:00", visitor="u1", user="u1")])
    build(con, "marts.fct_visits")
    assert select(con, "SELECT profile, uai FROM marts.fct_visits") == [("enseignant", "0921243B")]


def test_log_lines_daily_counts_accepted_lines_and_rejects_by_reason():
    con = raw_connection()
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00"),
        log_line("2020-03-16 08:00:01", path="/app.js"),  # an asset is still an accepted line
        log_line("2020-03-17 08:00:00", method="POST"),
    ])
    day = dt.date(2020, 3, 16)
    insert(con, "log_rejects", [
        {"source_file": "logs/access.log", "local_day": day, "reason": "bad status", "text": "x"},
        {"source_file": "logs/access.log", "local_day": day, "reason": "bad status", "text": "y"},
        {"source_file": "logs/access.log", "local_day": None, "reason": "not a log line", "text": "z"},
    ])
    build(con, "marts.fct_log_lines_daily")
    assert select(con, "SELECT local_day::varchar, outcome, reason, lines FROM marts.fct_log_lines_daily "
                       "ORDER BY local_day NULLS FIRST, outcome") == [
        (None, "rejected", "not a log line", 1),
        ("2020-03-16", "accepted", None, 2),
        ("2020-03-16", "rejected", "bad status", 2),
        ("2020-03-17", "accepted", None, 1),
    ]


def test_csv_rejects_are_kept_row_by_row():
    con = raw_connection()
    insert(con, "csv_rejects", [
        {"source_file": "loans/prets.csv", "kind": "loans", "line_number": 4, "reason": "unknown transfer 'vente'",
         "text": "L9,SN9,tablette,vente,eleve,3f2a,0921170X,2020-03-20,"},
        {"source_file": "needs/besoins.csv", "kind": "needs", "line_number": 7, "reason": "missing need_id",
         "text": ",91ac,0921170X,rep,2020-03-20"},
    ])
    build(con, "marts.fct_csv_rejects")
    assert select(con, "SELECT kind, source_file, line_number, reason FROM marts.fct_csv_rejects ORDER BY kind") == [
        ("loans", "loans/prets.csv", 4, "unknown transfer 'vente'"),
        ("needs", "needs/besoins.csv", 7, "missing need_id"),
    ]
