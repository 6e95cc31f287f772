"""The demo department: reproducible, in every format of the contract, the whole département at every scale,
and its truth exact.

The truth is checked against an independent reading of the files the generator wrote: a small
regex parser of the logs and a plain reading of the CSV exports, applying the contract's rules.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.demo import estimated_log_lines, generate_demo
from pipelines.errors import UserError

TIMEZONE = "Europe/Paris"
LINE = r'^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d{3}) (\S+) "([^"]*)" "([^"]*)"$'
ASSET = r"\.(css|js|mjs|map|png|jpg|jpeg|gif|svg|ico|webp|woff|woff2|ttf|eot|otf)$"
# The real collèges the demo is drawn from (shipped open data), read here without the generator's code.
REAL_COLLEGES = Path(__file__).resolve().parents[1] / "pipelines" / "reference" / "colleges_92.csv"
VOCABULARY = {"device_type": ("ultraportable", "tablette", "pc_recycle"), "transfer": ("pret", "don"),
              "recipient_type": ("eleve", "enseignant"), "criterion": ("rep", "ulis", "ase", "boursier", "autre"),
              "profile": ("eleve", "enseignant", "parent", "personnel")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo department: its data folder (raw/ and truth.json)."""
    data_dir = tmp_path_factory.mktemp("demo")
    generate_demo(data_dir / "raw", seed=7, scale="small")
    return data_dir


@pytest.fixture(scope="module")
def quiet_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same seed as `demo` with a sixth of its traffic."""
    data_dir = tmp_path_factory.mktemp("quiet")
    generate_demo(data_dir / "raw", seed=7, scale=0.0005)
    return data_dir


def truth_of(data_dir: Path) -> dict:
    """The truth.json of a data folder."""
    return json.loads((data_dir / "truth.json").read_text(encoding="utf-8"))


def file_digests(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every file under a folder, by relative path."""
    return {path.relative_to(data_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(data_dir.rglob("*")) if path.is_file()}


# Reproducibility and the raw folder's ownership


def test_the_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    generate_demo(tmp_path / "a" / "raw", seed=11, scale=0.0005)
    generate_demo(tmp_path / "b" / "raw", seed=11, scale=0.0005)
    generate_demo(tmp_path / "c" / "raw", seed=12, scale=0.0005)
    first, second, other = (file_digests(tmp_path / name) for name in "abc")
    assert len(first) == 48
    assert first == second
    assert first["raw/logs/access.log-20200320.gz"] != other["raw/logs/access.log-20200320.gz"]


def test_a_second_demo_replaces_the_first_one(tmp_path: Path) -> None:
    generate_demo(tmp_path / "raw", seed=11, scale=0.0005)
    before = file_digests(tmp_path)
    generate_demo(tmp_path / "raw", seed=11, scale=0.0005)
    assert file_digests(tmp_path) == before
    generate_demo(tmp_path / "raw", seed=12, scale=0.0005)
    assert truth_of(tmp_path)["generator"] == {"seed": 12, "scale": 0.0005}


def test_a_file_the_demo_did_not_write_stops_it(tmp_path: Path) -> None:
    (tmp_path / "raw" / "logs").mkdir(parents=True)
    (tmp_path / "raw" / "logs" / "access.log").write_text("real traffic\n")
    with pytest.raises(UserError, match="did not write"):
        generate_demo(tmp_path / "raw", scale=0.0005)
    assert (tmp_path / "raw" / "logs" / "access.log").read_text() == "real traffic\n"


def test_a_bad_scale_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="scale"):
        generate_demo(tmp_path / "raw", scale="huge")


# Formats


def test_logs_are_rotated_daily_gzip_files_with_one_plain_and_one_duplicate(demo: Path) -> None:
    logs = demo / "raw" / "logs"
    names = sorted(path.name for path in logs.iterdir())
    assert names[0] == "access.log-20200303.gz" and names[-2] == "access.log-20200410"
    assert len([name for name in names if name.startswith("access.log-") and name.endswith(".gz")]) == 38
    assert all((logs / name).read_bytes()[:2] == b"\x1f\x8b" for name in names if name.endswith(".gz"))
    assert (logs / "access.log-20200410").read_bytes()[:2] != b"\x1f\x8b"
    assert (logs / "copie-access.log-20200318.gz").read_bytes() == (logs / "access.log-20200318.gz").read_bytes()
    # logrotate's dateext: the file of 3 March holds the lines of 2 March.
    with gzip.open(logs / "access.log-20200303.gz", "rt") as lines:
        assert {line.split("[", 1)[1][:11] for line in lines if "[" in line} == {"02/Mar/2020"}


def test_the_night_of_the_dst_change_has_both_offsets(demo: Path) -> None:
    with gzip.open(demo / "raw" / "logs" / "access.log-20200330.gz", "rt") as lines:
        stamps = [line.split("[", 1)[1].split("]", 1)[0] for line in lines if line.count("[") and "/Mar/2020:" in line]
    before = [stamp for stamp in stamps if stamp.endswith("+0100")]
    after = [stamp for stamp in stamps if stamp.endswith("+0200")]
    assert before and after
    assert max(stamp[12:14] for stamp in before) <= "01" and min(stamp[12:14] for stamp in after) >= "03"


def test_logs_hold_the_traffic_the_contract_describes(demo: Path) -> None:
    lines = read_log_lines(demo)
    text = lines["text"]
    for pattern in (r"^[0-9a-f]+:[0-9a-f:]+ ", r"\\x22", r"Googlebot|bingbot", r"^\S+ - - ", r'" 304 ', r'" 302 ',
                    r'" 404 ', r'"POST ', r'"HEAD ', r"/api/notifications/count", r"\.woff2 ", r"/espaces/[0-9a-f]{6}",
                    r"^195\.83\.", r" \+0100\] ", r" \+0200\] "):
        assert text.str.contains(pattern).any(), pattern


def read_csv_export(path: Path) -> pl.DataFrame:
    """An export as text cells, header names lowercased: UTF-8 (with or without BOM) or Windows-1252."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    separator = ";" if text.splitlines()[0].count(";") else ","
    frame = pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False)
    frame = frame.rename({name: name.lower() for name in frame.columns}).with_columns(pl.all().fill_null(""))
    return frame.with_row_index("line", offset=2)


def test_spreadsheet_exports_use_semicolons_french_dates_crlf_and_both_encodings(demo: Path) -> None:
    exports = sorted((demo / "raw" / "loans").iterdir()) + sorted((demo / "raw" / "needs").iterdir())
    contents = [path.read_bytes() for path in exports]
    assert all(data.split(b"\r\n", 1)[0].count(b";") >= 4 and data.endswith(b"\r\n") for data in contents)
    assert any(data.startswith(b"\xef\xbb\xbf") for data in contents)
    cp1252 = [data for data in contents if not data.startswith(b"\xef\xbb\xbf")]
    assert cp1252 and all(not is_utf8(data) for data in cp1252)
    assert any(b"/03/2020;" in data for data in contents)
    update = read_csv_export(demo / "raw" / "loans" / "2020-04-10_export_prets.csv")
    assert update["end_date"].str.contains(r"^\d\d/\d\d/2020$").any()


def is_utf8(data: bytes) -> bool:
    """Whether bytes decode as UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_the_reference_holds_the_99_public_colleges_in_the_contract_shape(demo: Path) -> None:
    colleges = read_csv_export(demo / "raw" / "reference" / "colleges.csv")
    assert colleges.height == 99
    assert {"uai", "name", "commune", "sector", "education_priority", "students"} <= set(colleges.columns)
    assert set(colleges["sector"]) == {"public"}
    assert set(colleges["education_priority"]) == {"REP+", "REP", "none"}


# The press release's shape


def test_every_device_category_of_the_press_release_is_present(demo: Path) -> None:
    loans = latest_loans(demo)[0]
    categories = set(loans.select("device_type", "transfer", "recipient_type").unique().iter_rows())
    assert categories == {("ultraportable", "pret", "enseignant"), ("tablette", "pret", "eleve"),
                          ("ultraportable", "pret", "eleve"), ("pc_recycle", "don", "eleve")}
    teachers = loans.filter(pl.col("recipient_type") == "enseignant")
    assert teachers["start_date"].max() < dt.date(2020, 3, 16)
    assert loans["end_date"].is_not_null().any()


def test_every_ulis_pupil_of_the_directory_has_a_tablet(demo: Path) -> None:
    directory = read_csv_export(demo / "raw" / "directory" / "annuaire_ent.csv")
    ulis = set(directory.filter(pl.col("classe") == "ULIS")["user_id"])
    tablets = set(latest_loans(demo)[0].filter(pl.col("device_type") == "tablette")["recipient_id"])
    assert ulis and ulis <= tablets


def test_needs_cover_every_criterion_rep_plus_and_rep_first(demo: Path) -> None:
    needs = valid_needs(demo)[0]
    assert set(needs["criterion"]) == set(VOCABULARY["criterion"])
    colleges = read_csv_export(demo / "raw" / "reference" / "colleges.csv").select("uai", "education_priority")
    first_day = needs.join(colleges, on="uai").group_by("education_priority").agg(pl.col("identified_on").min())
    days = dict(first_day.iter_rows())
    assert days["REP+"] <= days["REP"] <= days["none"]


def test_the_scale_estimate_holds_for_the_small_demo(demo: Path) -> None:
    read = truth_of(demo)["quality"]["log_lines_read"]
    assert abs(read - estimated_log_lines("small")) < 0.1 * read
    assert 150_000 < read < 300_000


# The whole département at every scale; only the traffic follows the scale


def real_public_colleges() -> pl.DataFrame:
    """The public collèges of the shipped reference file with their 2020 pupils and ULIS pupils."""
    colleges = pl.read_csv(REAL_COLLEGES, infer_schema=False).filter(pl.col("sector") == "public")
    return colleges.select("uai", "education_priority", pl.col("students_2020", "ulis_students_2020").cast(pl.Int64))


def test_the_directory_holds_every_college_at_its_real_headcount(demo: Path) -> None:
    accounts = directory_profiles(demo).join(
        read_csv_export(demo / "raw" / "directory" / "annuaire_ent.csv").select(user="user_id", uai="uai"),
        on="user").unique("user")
    profiles = counts_by(accounts, "profile")
    pupils = profiles["eleve"]
    colleges = real_public_colleges()
    assert sum(profiles.values()) > 130_000
    assert colleges["students_2020"].sum() - 401 <= pupils <= colleges["students_2020"].sum()
    assert abs(profiles["enseignant"] / pupils - 1 / 12.5) < 0.002 and abs(profiles["parent"] / pupils - 1.3) < 0.01
    per_college = accounts.filter(pl.col("profile") == "eleve").group_by("uai").len().join(colleges, on="uai")
    assert per_college.height == 99
    assert per_college.filter((pl.col("len") > pl.col("students_2020"))
                              | (pl.col("len") < 0.95 * pl.col("students_2020"))).is_empty()


def test_devices_and_needs_are_those_of_the_press_release(demo: Path) -> None:
    loans = latest_loans(demo)[0]
    categories = dict(loans.group_by("device_type", "transfer", "recipient_type").len().select(
        pl.concat_str("device_type", "transfer", "recipient_type", separator="/"), "len").iter_rows())
    assert categories == {"ultraportable/pret/enseignant": 4_000, "tablette/pret/eleve": 2_600 + 600,
                          "ultraportable/pret/eleve": 2_000, "pc_recycle/don/eleve": 30 + 2_000}
    needs = valid_needs(demo)[0]
    ulis = real_public_colleges()["ulis_students_2020"].sum()
    assert counts_by(needs, "criterion") == {"ase": 650, "autre": 1_500, "boursier": 3_400, "rep": 2_000, "ulis": ulis}


def test_most_colleges_have_enough_needs_and_devices_not_to_be_hidden(demo: Path) -> None:
    needs = valid_needs(demo)[0].group_by("uai").len()
    pupil_devices = latest_loans(demo)[0].filter(pl.col("recipient_type") == "eleve").group_by("uai").len()
    for per_college in (needs, pupil_devices):
        assert per_college.filter(pl.col("len") >= 5).height >= 90


def test_only_the_traffic_follows_the_scale(demo: Path, quiet_demo: Path) -> None:
    small, quiet = file_digests(demo / "raw"), file_digests(quiet_demo / "raw")
    exports = [name for name in small if not name.startswith("logs/")]
    assert len(exports) == 7 and all(small[name] == quiet[name] for name in exports)
    assert small["logs/access.log-20200320.gz"] != quiet["logs/access.log-20200320.gz"]
    for busy, calm in zip(truth_of(demo)["headlines"], truth_of(quiet_demo)["headlines"]):
        assert busy["devices"] == calm["devices"] and busy["needs"] == calm["needs"]
        # Six times the scale: about six times the visits and page views.
        assert 5 < busy["visits"] / calm["visits"] < 7 and 5 < busy["page_views"] / calm["page_views"] < 7
    lines = truth_of(quiet_demo)["quality"]["log_lines_read"]
    assert abs(lines - estimated_log_lines(0.0005)) < 0.1 * lines


# Truth: internal consistency


def test_truth_is_internally_consistent(demo: Path) -> None:
    truth = truth_of(demo)
    days = pl.DataFrame(truth["days"]).with_columns(pl.col("day").str.to_date())
    for figures in truth["headlines"]:
        start, end = (dt.date.fromisoformat(figures["period"][key]) for key in ("start", "end"))
        in_period = days.filter(pl.col("day").is_between(start, end))
        assert figures["visits"] == in_period["visits"].sum()
        assert figures["page_views"] == in_period["page_views"].sum()
        assert in_period["unique_visitors"].max() <= figures["unique_visitors"] <= in_period["unique_visitors"].sum()
        assert figures["page_views"] >= figures["visits"] > 0
        for key in ("visits", "page_views", "unique_visitors"):
            assert sum(row[key] for row in figures["by_profile"].values()) == figures[key]
        provided = figures["devices"]["provided_in_period"]
        assert provided["total"] == sum(provided["by_type"].values()) == sum(provided["by_recipient"].values())
        needs = figures["needs"]
        assert 0 < needs["covered"] <= needs["identified"]
        assert needs["coverage_rate"] == round(needs["covered"] / needs["identified"], 4) <= 1
    spaces = [figures["collaborative_spaces_used"] for figures in truth["headlines"]]
    assert spaces[0] >= spaces[1] >= spaces[2] > 0
    quality = truth["quality"]
    assert quality["log_lines_read"] == quality["log_lines_accepted"] + quality["log_lines_rejected"]
    assert quality["files_ingested"] == 46 and quality["files_skipped_duplicate"] == 1
    assert min(quality[key] for key in ("loan_rows_rejected", "need_rows_rejected", "directory_rows_rejected")) > 0


# Truth: exact, by an independent reading of the raw files


def read_log_lines(data_dir: Path) -> pl.DataFrame:
    """Every line of every log file but the duplicate, with its file."""
    frames = []
    for path in sorted((data_dir / "raw" / "logs").iterdir()):
        if path.name.startswith("copie-"):
            continue
        data = path.read_bytes()
        text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        lines = text.decode("utf-8").split("\n")[:-1]
        frames.append(pl.DataFrame({"text": lines}).with_columns(file=pl.lit(path.name)))
    return pl.concat(frames)


def parsed_log(data_dir: Path) -> pl.DataFrame:
    """Lines split into the combined format's fields; `ts` null for a line that does not parse."""
    lines = read_log_lines(data_dir).filter(pl.col("text") != "")
    fields = ["ip", "user", "time", "method", "target", "status", "size", "referer", "agent"]
    groups = pl.col("text").str.extract_groups(LINE).struct.rename_fields(fields)
    extracted = lines.with_columns(groups.alias("fields")).unnest("fields")
    return extracted.with_columns(
        ts=pl.col("time").str.strptime(pl.Datetime("us", "UTC"), "%d/%b/%Y:%H:%M:%S %z", strict=False),
        path=pl.col("target").str.split("?").list.first(),
        status=pl.col("status").cast(pl.Int32),
    )


def directory_profiles(data_dir: Path) -> pl.DataFrame:
    """Login to profile: the first valid row of each user id (the contract's rule for repeated ids)."""
    directory = read_csv_export(data_dir / "raw" / "directory" / "annuaire_ent.csv")
    valid = directory.filter(pl.col("user_id") != "", pl.col("profile").is_in(VOCABULARY["profile"]))
    return valid.unique("user_id", keep="first", maintain_order=True).select(user="user_id", profile="profile")


def page_views(data_dir: Path) -> pl.DataFrame:
    """The contract's page views with visitor, profile, local day and space."""
    log = parsed_log(data_dir)
    views = log.filter(
        pl.col("ts").is_not_null(), pl.col("method") == "GET",
        pl.col("status").is_between(200, 299) | (pl.col("status") == 304),
        ~pl.col("path").str.contains(ASSET), ~pl.col("path").str.starts_with("/api/"),
        ~pl.col("path").str.starts_with("/static/"), ~pl.col("agent").str.contains(r"(?i)bot|crawl|spider|slurp"))
    views = views.join(directory_profiles(data_dir), on="user", how="left")
    return views.with_columns(
        visitor=pl.when(pl.col("user") != "-").then("user").otherwise(pl.concat_str("ip", pl.lit("|"), "agent")),
        profile=pl.when(pl.col("user") == "-").then(pl.lit("anonyme")).otherwise(pl.col("profile").fill_null("inconnu")),
        day=pl.col("ts").dt.convert_time_zone(TIMEZONE).dt.date(),
        space=pl.col("path").str.extract(r"^/espaces/([A-Za-z0-9_-]+)(/|$)"))


def visits(views: pl.DataFrame) -> pl.DataFrame:
    """One row per visit: 30-minute rule in real time (30:00 stays), split at local midnight."""
    ordered = views.sort("visitor", "ts")
    gap = pl.col("ts").diff().over("visitor", "day")
    return ordered.filter(gap.is_null() | (gap > pl.duration(minutes=30)))


def test_truth_equals_an_independent_reading_of_the_logs(demo: Path) -> None:
    truth = truth_of(demo)
    views = page_views(demo)
    starts = visits(views)
    for figures in truth["headlines"]:
        start, end = (dt.date.fromisoformat(figures["period"][key]) for key in ("start", "end"))
        period = views.filter(pl.col("day").is_between(start, end))
        assert figures["page_views"] == period.height
        assert figures["visits"] == starts.filter(pl.col("day").is_between(start, end)).height
        assert figures["unique_visitors"] == period["visitor"].n_unique()
        assert figures["collaborative_spaces_used"] == period["space"].drop_nulls().n_unique()
        for profile, row in figures["by_profile"].items():
            assert row["page_views"] == period.filter(pl.col("profile") == profile).height, profile
    log = parsed_log(demo)
    quality = truth["quality"]
    assert quality["log_lines_read"] == log.height
    assert quality["log_lines_rejected"] == log.filter(pl.col("ts").is_null()).height


def latest_loans(data_dir: Path) -> tuple[pl.DataFrame, int]:
    """Valid loan rows after `last export wins`, and how many rows the exports reject."""
    kept, rejected = [], 0
    for path in sorted((data_dir / "raw" / "loans").iterdir()):
        rows = read_csv_export(path).with_columns(
            start_date=french_or_iso("start_date"), end_date=french_or_iso("end_date"), end_text="end_date",
            source=pl.lit(path.name))
        valid = rows.filter(
            pl.col("loan_id") != "", pl.col("recipient_id") != "", pl.col("uai") != "",
            pl.col("start_date").is_not_null(),
            (pl.col("end_text") == "") | pl.col("end_date").is_not_null(),
            pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("start_date")),
            *(pl.col(name).is_in(VOCABULARY[name]) for name in ("device_type", "transfer", "recipient_type")))
        first = valid.unique("loan_id", keep="first", maintain_order=True)
        kept.append(first)
        rejected += rows.height - first.height
    loans = pl.concat(kept, how="diagonal").sort("source", maintain_order=True).unique("loan_id", keep="last")
    return loans, rejected


def french_or_iso(column: str) -> pl.Expr:
    """A date column written DD/MM/YYYY or YYYY-MM-DD; null when it is neither."""
    values = pl.col(column)
    return pl.coalesce(values.str.strptime(pl.Date, "%d/%m/%Y", strict=False),
                       values.str.strptime(pl.Date, "%Y-%m-%d", strict=False))


def valid_needs(data_dir: Path) -> tuple[pl.DataFrame, int]:
    """Valid need rows (first of a repeated id), and how many rows the exports reject."""
    kept, rejected = [], 0
    for path in sorted((data_dir / "raw" / "needs").iterdir()):
        rows = read_csv_export(path).with_columns(identified_on=french_or_iso("identified_on"))
        valid = rows.filter(pl.col("need_id") != "", pl.col("pupil_id") != "", pl.col("uai") != "",
                            pl.col("identified_on").is_not_null(), pl.col("criterion").is_in(VOCABULARY["criterion"]))
        first = valid.unique("need_id", keep="first", maintain_order=True)
        kept.append(first.select("need_id", "pupil_id", "uai", "criterion", "identified_on"))
        rejected += rows.height - first.height
    return pl.concat(kept), rejected


def counts_by(rows: pl.DataFrame, column: str) -> dict[str, int]:
    """Rows per value of a column, values in alphabetical order."""
    return dict(rows.group_by(column).len().sort(column).iter_rows())


def test_truth_equals_an_independent_reading_of_the_exports(demo: Path) -> None:
    truth = truth_of(demo)
    loans, loans_rejected = latest_loans(demo)
    needs, needs_rejected = valid_needs(demo)
    directory = read_csv_export(demo / "raw" / "directory" / "annuaire_ent.csv")
    assert truth["quality"]["loan_rows_rejected"] == loans_rejected
    assert truth["quality"]["need_rows_rejected"] == needs_rejected
    assert truth["quality"]["directory_rows_rejected"] == directory.height - directory_profiles(demo).height
    for figures in truth["headlines"]:
        start, end = (dt.date.fromisoformat(figures["period"][key]) for key in ("start", "end"))
        provided = loans.filter(pl.col("start_date").is_between(start, end))
        in_service = loans.filter(pl.col("start_date") <= end, pl.col("end_date").is_null() | (pl.col("end_date") > end))
        devices = figures["devices"]
        assert devices["provided_in_period"]["by_type"] == counts_by(provided, "device_type")
        assert devices["provided_in_period"]["by_recipient"] == counts_by(provided, "recipient_type")
        assert devices["in_service_at_end"]["by_type"] == counts_by(in_service, "device_type")
        equipped = loans.filter(pl.col("recipient_type") == "eleve", pl.col("start_date") <= end)["recipient_id"]
        identified = needs.filter(pl.col("identified_on") <= end)
        assert figures["needs"]["identified"] == identified.height
        assert figures["needs"]["covered"] == identified.filter(pl.col("pupil_id").is_in(equipped.implode())).height
