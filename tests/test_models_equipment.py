"""Devices lent or given, needs and their coverage: de-duplication across exports and the dates that matter."""

from __future__ import annotations

import datetime as dt

from sql_fixtures import build, insert, raw_connection, records, select

D = dt.date.fromisoformat


def loan(loan_id: str, start: str, end: str | None = None, transfer: str = "pret", recipient: str = "p1",
         recipient_type: str = "eleve", device_type: str = "ultraportable", uai: str = "0921170X",
         source_file: str = "loans/prets.csv") -> dict:
    """One accepted loan row."""
    return {"source_file": source_file, "loan_id": loan_id, "device_serial": f"SN-{loan_id}", "device_type": device_type,
            "transfer": transfer, "recipient_type": recipient_type, "recipient_key": recipient, "uai": uai,
            "start_date": D(start), "end_date": D(end) if end else None}


def need(need_id: str, pupil: str, identified_on: str, uai: str = "0921170X", criterion: str = "boursier",
         source_file: str = "needs/besoins.csv") -> dict:
    """One accepted need row."""
    return {"source_file": source_file, "need_id": need_id, "pupil_key": pupil, "uai": uai, "criterion": criterion,
            "identified_on": D(identified_on)}


def in_service(con, end: str) -> list[str]:
    """The contract's devices in service at a period's end, read from fct_devices."""
    rows = select(con, "SELECT loan_id FROM marts.fct_devices WHERE start_date <= ? "
                       "AND (end_date IS NULL OR end_date > ?) ORDER BY loan_id", [D(end), D(end)])
    return [loan_id for (loan_id,) in rows]


def test_loans_returned_before_and_after_the_period_end():
    con = raw_connection()
    insert(con, "loans", [
        loan("L1", "2020-03-20", "2020-04-01"),  # returned before the end
        loan("L2", "2020-03-25", "2020-04-15"),  # returned after the end
        loan("L3", "2020-03-18"),  # still out
        loan("L4", "2020-04-10"),  # lent after the end
        loan("L5", "2020-03-20", "2020-04-09"),  # returned on the last day: no longer in service
    ])
    build(con, "marts.fct_devices", "marts.fct_device_days")
    assert select(con, "SELECT loan_id, start_date::varchar, end_date::varchar FROM marts.fct_devices "
                       "ORDER BY loan_id") == [
        ("L1", "2020-03-20", "2020-04-01"), ("L2", "2020-03-25", "2020-04-15"), ("L3", "2020-03-18", None),
        ("L4", "2020-04-10", None), ("L5", "2020-03-20", "2020-04-09"),
    ]
    assert in_service(con, "2020-04-09") == ["L2", "L3"]
    assert select(con, "SELECT sum(devices_in_service), sum(devices_returned) FROM marts.fct_device_days "
                       "WHERE day = DATE '2020-04-09'") == [(2, 1)]


def test_gifts_never_come_back():
    con = raw_connection()
    insert(con, "loans", [loan("G1", "2020-03-20", transfer="don"), loan("L1", "2020-03-20", "2020-03-27")])
    build(con, "marts.fct_devices", "marts.fct_device_days")
    assert in_service(con, "2020-04-09") == ["G1"]
    assert select(con, "SELECT day::varchar, transfer, devices_provided, devices_returned, devices_in_service "
                       "FROM marts.fct_device_days WHERE day IN ('2020-03-20', '2020-03-27') ORDER BY day, transfer") == [
        ("2020-03-20", "don", 1, 0, 1), ("2020-03-20", "pret", 1, 0, 1),
        ("2020-03-27", "don", 0, 0, 1), ("2020-03-27", "pret", 0, 1, 0),
    ]


def test_the_export_whose_name_sorts_last_wins():
    con = raw_connection()
    # the later export was ingested first: its name decides, not the order of ingestion
    insert(con, "loans", [loan("L1", "2020-03-20", "2020-03-30", source_file="loans/prets-2020-04-01.csv")], "f-april")
    insert(con, "loans", [loan("L1", "2020-03-20", source_file="loans/prets-2020-03-20.csv"),
                          loan("L2", "2020-03-21", source_file="loans/prets-2020-03-20.csv")], "f-march")
    build(con, "marts.fct_devices")
    assert select(con, "SELECT loan_id, end_date::varchar FROM marts.fct_devices ORDER BY loan_id") == [
        ("L1", "2020-03-30"), ("L2", None)
    ]


def test_an_export_seen_again_under_a_later_name_wins():
    con = raw_connection()
    insert(con, "loans", [loan("L1", "2020-03-20", source_file="loans/a-2020-03-20.csv")], "f-first")
    insert(con, "loans", [loan("L1", "2020-03-20", "2020-03-24", source_file="loans/a-2020-03-25.csv")], "f-second")
    # the 30 March export repeats the 20 March content byte for byte, so ingestion skipped it as a duplicate
    insert(con, "ledger", [
        {"path": "loans/a-2020-03-20.csv", "kind": "loans", "file_id": "f-first", "status": "ingested"},
        {"path": "loans/a-2020-03-25.csv", "kind": "loans", "file_id": "f-second", "status": "ingested"},
        {"path": "loans/a-2020-03-30.csv", "kind": "loans", "file_id": "f-first", "status": "skipped_duplicate"},
    ])
    build(con, "marts.fct_devices")
    assert select(con, "SELECT loan_id, end_date FROM marts.fct_devices") == [("L1", None)]


def test_needs_last_export_wins():
    con = raw_connection()
    insert(con, "needs", [need("N1", "p1", "2020-03-20", criterion="autre", source_file="needs/b-1.csv")], "f1")
    insert(con, "needs", [need("N1", "p1", "2020-03-20", criterion="ulis", source_file="needs/b-2.csv")], "f2")
    build(con, "marts.fct_needs")
    assert select(con, "SELECT need_id, criterion FROM marts.fct_needs") == [("N1", "ulis")]


def test_need_covered_by_a_device_given_before_it_was_identified():
    con = raw_connection()
    insert(con, "loans", [loan("G1", "2020-03-18", transfer="don", recipient="p1")])
    insert(con, "needs", [need("N1", "p1", "2020-04-01")])
    build(con, "marts.fct_needs", "marts.fct_coverage_days")
    assert records(con, "SELECT first_equipped_on, days_to_equipment FROM marts.fct_needs") == [
        {"first_equipped_on": D("2020-03-18"), "days_to_equipment": 0}
    ]
    assert select(con, "SELECT day::varchar, needs_identified, needs_covered, coverage_rate "
                       "FROM marts.fct_coverage_days ORDER BY day LIMIT 1") == [("2020-04-01", 1, 1, 1.0)]


def test_days_to_equipment_count_from_identification_to_the_first_pupil_device():
    con = raw_connection()
    insert(con, "loans", [
        loan("L1", "2020-03-27", recipient="p1"),
        loan("L2", "2020-04-03", recipient="p1"),
        loan("T1", "2020-03-21", recipient="p2", recipient_type="enseignant"),  # not a pupil's device
    ])
    insert(con, "needs", [need("N1", "p1", "2020-03-20"), need("N2", "p2", "2020-03-20"), need("N3", "p3", "2020-03-20")])
    build(con, "marts.fct_needs")
    assert select(con, "SELECT need_id, first_equipped_on::varchar, days_to_equipment FROM marts.fct_needs "
                       "ORDER BY need_id") == [("N1", "2020-03-27", 7), ("N2", None, None), ("N3", None, None)]


def test_coverage_days_accumulate_needs_and_covered_pupils_per_college():
    con = raw_connection()
    insert(con, "loans", [loan("L1", "2020-03-22", recipient="p1")])
    insert(con, "needs", [need("N1", "p1", "2020-03-20"), need("N2", "p2", "2020-03-21"),
                          need("N3", "p3", "2020-03-21", uai="0921243B")])
    build(con, "marts.fct_coverage_days")
    assert select(con, "SELECT day::varchar, uai, needs_identified, needs_covered, coverage_rate "
                       "FROM marts.fct_coverage_days ORDER BY uai, day") == [
        ("2020-03-20", "0921170X", 1, 0, 0.0),
        ("2020-03-21", "0921170X", 2, 0, 0.0),
        ("2020-03-22", "0921170X", 2, 1, 0.5),
        ("2020-03-21", "0921243B", 1, 0, 0.0),
        ("2020-03-22", "0921243B", 1, 0, 0.0),
    ]
