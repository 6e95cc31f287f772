"""The model runner: ordering, refused references, raw views over Parquet, checks and the atomic swap."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest
from sql_fixtures import insert, log_line, raw_connection, write_parquet

from pipelines import transform
from pipelines.errors import UserError
from pipelines.settings import Settings
from pipelines.transform import CheckFailed, ModelError


def write_models(sql_dir: Path, models: dict[str, str]) -> Path:
    """Write `layer/name.sql` files, each a select with its grain line."""
    for path, body in models.items():
        file = sql_dir / f"{path}.sql"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"-- grain: one row per test row\n{body}\n", encoding="utf-8")
    return sql_dir


def names(models: list[transform.Model]) -> list[str]:
    return [model.name for model in models]


def test_models_are_built_after_the_models_they_read(tmp_path: Path):
    sql_dir = write_models(tmp_path, {
        "marts/fct_a": "select * from intermediate.int_b join staging.stg_c using (x)",
        "intermediate/int_b": "select x from staging.stg_c -- not intermediate.int_z, a comment",
        "staging/stg_c": "select 1 as x from raw.loans",
    })
    assert names(transform.order_models(transform.discover_models(sql_dir))) == [
        "staging.stg_c", "intermediate.int_b", "marts.fct_a"
    ]


def test_every_shipped_model_comes_after_what_it_reads():
    ordered = transform.order_models(transform.discover_models())
    position = {model.name: index for index, model in enumerate(ordered)}
    for model in ordered:
        for reference in model.references & position.keys():
            assert position[reference] < position[model.name], (model.name, reference)
    assert {"marts.fct_visits", "marts.fct_daily_usage", "marts.fct_needs", "marts.dim_colleges"} <= position.keys()


def test_a_cycle_is_refused(tmp_path: Path):
    sql_dir = write_models(tmp_path, {
        "intermediate/int_a": "select * from intermediate.int_b",
        "intermediate/int_b": "select * from intermediate.int_a",
    })
    with pytest.raises(ModelError, match=r"cycle: intermediate\.int_. → intermediate\.int_. → intermediate\.int_."):
        transform.order_models(transform.discover_models(sql_dir))


@pytest.mark.parametrize(("models", "message"), [
    ({"staging/stg_a": "select * from intermediate.int_b", "intermediate/int_b": "select 1 as x"},
     "staging.stg_a (stg_a.sql) reads intermediate.int_b: layers read downward only "
     "(raw → staging → intermediate → marts)"),
    ({"marts/fct_a": "select * from marts.fct_b", "marts/fct_b": "select 1 as x"},
     "marts.fct_a (fct_a.sql) reads marts.fct_b: a mart never reads another mart"),
    ({"intermediate/int_a": "select * from raw.loans"},
     "intermediate.int_a (int_a.sql) reads raw.loans: only staging models read raw.*"),
    ({"marts/fct_a": "select * from intermediate.int_missing"},
     "marts.fct_a (fct_a.sql) reads intermediate.int_missing: there is no such model in sql/"),
    ({"staging/stg_a": "select * from raw.payments"},
     "staging.stg_a (stg_a.sql) reads raw.payments: there is no such warehouse table"),
])
def test_an_upward_or_unknown_reference_is_refused(tmp_path: Path, models: dict[str, str], message: str):
    with pytest.raises(ModelError) as refused:
        transform.order_models(transform.discover_models(write_models(tmp_path, models)))
    assert str(refused.value) == message
    assert isinstance(refused.value, UserError)


def test_a_model_must_state_its_grain(tmp_path: Path):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "fct_a.sql").write_text("select 1 as x\n", encoding="utf-8")
    with pytest.raises(ModelError, match="first line must state the grain"):
        transform.discover_models(tmp_path)


def test_raw_views_are_typed_and_empty_before_anything_was_ingested(tmp_path: Path):
    con = transform.connect(":memory:")
    transform.expose_raw(con, tmp_path)
    for table, columns in transform.RAW_TABLES.items():
        described = con.execute(f"DESCRIBE raw.{table}").fetchall()
        assert [(name, kind) for name, kind, *_ in described] == [
            (name, kind) for name, kind in columns.items()
        ], table
        assert con.execute(f"SELECT count(*) FROM raw.{table}").fetchone() == (0,)


def sample_warehouse(data_dir: Path, device_type: str = "ultraportable") -> Path:
    """Ingestion's Parquet layout for two days of logs, a directory, a loan and a need."""
    con = raw_connection()
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", visitor="u1", user="u1", path="/messagerie"),
        log_line("2020-03-16 08:20:00", visitor="u1", user="u1", path="/espaces/club"),
        log_line("2020-03-16 09:00:00", visitor="anon-1", path="/"),
    ])
    warehouse = data_dir / "warehouse"
    write_parquet(con, "access_log", warehouse / "access_log" / "day=2020-03-16" / "f1.parquet")
    con.execute("DELETE FROM raw.access_log")
    insert(con, "access_log", [log_line("2020-03-17 10:00:00", visitor="u1", user="u1", path="/notes")], "f2")
    write_parquet(con, "access_log", warehouse / "access_log" / "day=2020-03-17" / "f2.parquet")
    insert(con, "directory", [{"source_file": "directory/a.csv", "user_key": "u1", "profile": "eleve", "uai": "0921170X"}])
    insert(con, "loans", [{"source_file": "loans/p.csv", "loan_id": "L1", "device_type": device_type, "transfer": "pret",
                           "recipient_type": "eleve", "recipient_key": "u1", "uai": "0921170X",
                           "start_date": dt.date(2020, 3, 20)}], "f3")
    insert(con, "needs", [{"source_file": "needs/b.csv", "need_id": "N1", "pupil_key": "u1", "uai": "0921170X",
                           "criterion": "boursier", "identified_on": dt.date(2020, 3, 18)}], "f4")
    for table, file_id in (("directory", "f5"), ("loans", "f3"), ("needs", "f4")):
        write_parquet(con, table, warehouse / table / f"{file_id}.parquet")
    return warehouse


def marts(database: Path) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted, read from a warehouse database file."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()]
        return {name: sorted(con.execute(f"SELECT * FROM marts.{name}").fetchall(), key=repr) for name in tables}


def test_build_publishes_the_marts_from_the_parquet_files(tmp_path: Path):
    sample_warehouse(tmp_path)
    report = transform.build(Settings(data_dir=tmp_path))
    database = tmp_path / "warehouse" / "ent.duckdb"
    built = marts(database)
    assert report.mart_rows["fct_visits"] == 3 and report.mart_rows["fct_needs"] == 1
    assert {name: len(rows) for name, rows in built.items()} == report.mart_rows
    assert "marts.fct_visits" in report.models and "fct_visits__visit_id_unique_not_null" in report.checks
    assert sorted(row[1:6] for row in built["fct_visits"]) == [
        ("anon-1", "anonyme", None, dt.date(2020, 3, 16), dt.datetime(2020, 3, 16, 8, 0)),
        ("u1", "eleve", "0921170X", dt.date(2020, 3, 16), dt.datetime(2020, 3, 16, 7, 0)),
        ("u1", "eleve", "0921170X", dt.date(2020, 3, 17), dt.datetime(2020, 3, 17, 9, 0)),
    ]
    assert built["fct_needs"] == [("N1", "u1", "0921170X", "boursier", dt.date(2020, 3, 18), dt.date(2020, 3, 20), 2)]
    # the published file stands alone: no view over Parquet paths, nothing left beside it
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)
    assert sorted(path.name for path in database.parent.iterdir() if path.is_file()) == ["ent.duckdb"]


def test_running_twice_gives_identical_marts(tmp_path: Path):
    sample_warehouse(tmp_path)
    settings = Settings(data_dir=tmp_path)
    transform.build(settings)
    first = marts(tmp_path / "warehouse" / "ent.duckdb")
    transform.build(settings)
    assert marts(tmp_path / "warehouse" / "ent.duckdb") == first
    assert first["fct_visits"]


def test_a_failing_check_leaves_the_previous_warehouse_in_place(tmp_path: Path):
    warehouse = sample_warehouse(tmp_path)
    settings = Settings(data_dir=tmp_path)
    transform.build(settings)
    before = marts(warehouse / "ent.duckdb")
    # a later export holds a device type outside the vocabulary
    con = raw_connection()
    insert(con, "loans", [{"source_file": "loans/q.csv", "loan_id": "L2", "device_type": "smartphone",
                           "transfer": "pret", "recipient_type": "eleve", "recipient_key": "u2", "uai": "0921170X",
                           "start_date": dt.date(2020, 3, 21)}], "f6")
    write_parquet(con, "loans", warehouse / "loans" / "f6.parquet")
    with pytest.raises(CheckFailed) as failed:
        transform.build(settings)
    message = str(failed.value)
    assert message.startswith("check fct_devices__accepted_values failed: (loan_id=L2, device_type=smartphone")
    assert "\n" not in message and isinstance(failed.value, UserError)
    assert marts(warehouse / "ent.duckdb") == before
    assert sorted(path.name for path in warehouse.iterdir()) == ["access_log", "directory", "ent.duckdb", "loans", "needs"]


def test_a_failing_model_leaves_the_previous_warehouse_in_place(tmp_path: Path):
    sql_dir = write_models(tmp_path / "sql", {"staging/stg_a": "select count(*) as loans from raw.loans"})
    (tmp_path / "sql" / "checks").mkdir()
    settings = Settings(data_dir=tmp_path / "data")
    transform.build(settings, sql_dir)
    database = settings.warehouse_dir / "ent.duckdb"
    published = database.read_bytes()
    write_models(sql_dir, {"staging/stg_a": "select count(*) as loans from raw.loans where no_such_column"})
    with pytest.raises(ModelError, match="^model staging.stg_a failed: Binder Error"):
        transform.build(settings, sql_dir)
    assert database.read_bytes() == published
    assert sorted(path.name for path in settings.warehouse_dir.iterdir()) == ["ent.duckdb"]


def test_timestamps_written_with_a_time_zone_are_read_as_utc(tmp_path: Path):
    # polars writes a UTC datetime as a Parquet timestamp adjusted to UTC
    frame = pl.DataFrame([log_line("2020-03-29 03:02:00", visitor="v", user=None)]).with_columns(
        file_id=pl.lit("f1"), line_number=pl.lit(1, pl.Int64), status=pl.col("status").cast(pl.Int16),
        ts_utc=pl.col("ts_utc").dt.replace_time_zone("UTC"),
    )
    (tmp_path / "warehouse" / "access_log" / "day=2020-03-29").mkdir(parents=True)
    frame.write_parquet(tmp_path / "warehouse" / "access_log" / "day=2020-03-29" / "f1.parquet")
    transform.build(Settings(data_dir=tmp_path))
    with duckdb.connect(str(tmp_path / "warehouse" / "ent.duckdb"), read_only=True) as con:
        assert con.execute("SELECT started_at, started_at_local FROM marts.fct_visits").fetchall() == [
            (dt.datetime(2020, 3, 29, 1, 2), dt.datetime(2020, 3, 29, 3, 2))
        ]


def test_a_warehouse_file_without_a_required_column_is_a_user_error(tmp_path: Path):
    (tmp_path / "warehouse" / "needs").mkdir(parents=True)
    pl.DataFrame({"need_id": ["N1"], "pupil_key": ["p"]}).write_parquet(tmp_path / "warehouse" / "needs" / "f.parquet")
    with pytest.raises(UserError, match=r"^warehouse/needs/\*\.parquet lacks column\(s\) file_id, source_file"):
        transform.build(Settings(data_dir=tmp_path))
    assert not (tmp_path / "warehouse" / "ent.duckdb").exists()


def test_a_missing_services_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="the services table .*nowhere.csv does not exist"):
        transform.build(Settings(data_dir=tmp_path, services_file=tmp_path / "nowhere.csv"))


def test_build_models_builds_only_what_the_named_models_need():
    con = raw_connection()
    built = transform.build_models(con, Settings(), only=["marts.fct_devices"])
    assert built == ["staging.stg_equipment__loans", "staging.stg_ingestion__ledger", "intermediate.int_files__named",
                     "intermediate.int_loans__deduplicated", "marts.fct_devices"]


def test_a_services_table_without_its_columns_is_a_user_error(tmp_path: Path):
    services = tmp_path / "services.csv"
    services.write_text("chemin,service\n/,Accueil\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"services.csv lacks column\(s\) segment$"):
        transform.build(Settings(data_dir=tmp_path, services_file=services))


def test_a_second_build_of_the_same_warehouse_waits_for_none_and_says_so(tmp_path: Path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    descriptor = os.open(warehouse, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        with pytest.raises(UserError, match="another build of .* is running"):
            transform.build(Settings(data_dir=tmp_path))
    finally:
        os.close(descriptor)
    assert list(warehouse.iterdir()) == []


def test_a_reference_file_without_the_optional_columns_reads_them_as_null(tmp_path: Path):
    (tmp_path / "warehouse" / "colleges").mkdir(parents=True)
    pl.DataFrame({
        "file_id": ["f1"], "source_file": ["reference/colleges.csv"], "line_number": [2], "uai": ["0921170X"],
        "name": ["Collège La Fontaine"], "commune": ["Antony"], "sector": ["public"], "education_priority": ["none"],
        "students": [559],
    }).write_parquet(tmp_path / "warehouse" / "colleges" / "f1.parquet")
    transform.build(Settings(data_dir=tmp_path))
    with duckdb.connect(str(tmp_path / "warehouse" / "ent.duckdb"), read_only=True) as con:
        assert con.execute("SELECT uai, students, commune_insee, latitude FROM marts.dim_colleges").fetchall() == [
            ("0921170X", 559, None, None)
        ]


def test_archived_days_are_read_from_the_archive_files_even_without_rows(tmp_path: Path):
    warehouse = sample_warehouse(tmp_path)
    con = raw_connection()
    insert(con, "archive_daily_usage", [{"local_day": dt.date(2020, 3, 16), "uai": None, "profile": "anonyme",
                                         "service": "Accueil", "page_views": 7, "visits": 3, "visitors": 2}])
    insert(con, "archive_hourly_usage", [{"local_day": dt.date(2020, 3, 16), "hour": 9, "page_views": 7,
                                          "visits_started": 3}])
    for mart, table in (("fct_daily_usage", "archive_daily_usage"), ("fct_hourly_usage", "archive_hourly_usage"),
                        ("fct_space_days", "archive_space_days"), ("fct_log_lines_daily", "archive_log_lines_daily")):
        write_parquet(con, table, warehouse / "archive" / mart / "day=2020-03-16.parquet")
    transform.build(Settings(data_dir=tmp_path))
    built = marts(warehouse / "ent.duckdb")
    assert [row[:5] for row in built["fct_daily_usage"] if row[0] == dt.date(2020, 3, 16)] == [
        (dt.date(2020, 3, 16), None, "anonyme", "Accueil", 7)
    ]
    # no space was used that day: its empty archive still marks the day archived
    assert [row for row in built["fct_space_days"] if row[1] == dt.date(2020, 3, 16)] == []
    assert [row[4] for row in built["fct_visits"]] == [dt.date(2020, 3, 17)]


def test_the_line_check_finds_a_page_view_repeated_by_a_join():
    con = raw_connection()
    insert(con, "access_log", [log_line("2020-03-16 08:00:00"), log_line("2020-03-16 08:05:00", visitor="v2")])
    transform.build_models(con, Settings(), only=["intermediate.int_page_views__sessionised"])
    check = transform.discover_checks()["int_page_views__sessionised__line_unique"]
    assert con.execute(check).fetchall() == []
    con.execute("INSERT INTO intermediate.int_page_views__sessionised "
                "SELECT * FROM intermediate.int_page_views__sessionised WHERE visitor_key = 'v2'")
    assert con.execute(check).fetchall() == [("f1", 3, 2)]
