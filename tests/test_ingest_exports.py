"""CSV exports (directory, collèges, loans, needs): one test per rule of the contract's CSV section."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.errors import UserError
from pipelines.ingest.exports import ParsedExport, parse_export
from pipelines.pseudonym import user_keys

KEY = b"test-key"
REFERENCE_FILE = Path(__file__).parents[1] / "pipelines" / "reference" / "colleges_92.csv"
LOANS_HEADER = "loan_id;device_serial;device_type;transfer;recipient_type;recipient_id;uai;start_date;end_date"
NEEDS_HEADER = "need_id;pupil_id;uai;criterion;identified_on"
REFERENCE_HEADER = "uai;name;commune;sector;education_priority;students"


def export_file(tmp_path: Path, lines: list[str], encoding: str = "cp1252", name: str = "export.csv") -> Path:
    """A file as Excel in French writes 'CSV (point-virgule)': Windows-1252, CRLF line ends."""
    path = tmp_path / name
    path.write_bytes("".join(line + "\r\n" for line in lines).encode(encoding))
    return path


def parse(kind: str, path: Path) -> ParsedExport:
    return parse_export(kind, path, f"{kind}/{path.name}", KEY)


def pseudonyms(*identifiers: str) -> list[str]:
    """The keyed hashes the logs give the same logins, so exports join with them."""
    return user_keys(KEY, pl.Series(identifiers)).to_list()


def rejects_of(parsed: ParsedExport) -> list[tuple[int, str]]:
    return list(parsed.rejects.select("line_number", "reason").iter_rows())


def test_semicolon_file_from_excel_is_read_with_hashed_user_ids(tmp_path: Path) -> None:
    path = export_file(tmp_path, ["user_id;profile;uai", "alice.martin;eleve;0921170X", "b.durand;enseignant;0921243B"])
    parsed = parse("directory", path)
    assert parsed.accepted.to_dicts() == [
        {"source_file": "directory/export.csv", "line_number": 2, "user_key": pseudonyms("alice.martin")[0],
         "profile": "eleve", "uai": "0921170X"},
        {"source_file": "directory/export.csv", "line_number": 3, "user_key": pseudonyms("b.durand")[0],
         "profile": "enseignant", "uai": "0921243B"},
    ]
    assert parsed.rejects.is_empty() and parsed.rows_read == 2


def test_comma_separated_file_with_unix_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "needs.csv"
    path.write_bytes(b"need_id,pupil_id,uai,criterion,identified_on\nN-1,pupil.7,0921170X,boursier,2020-03-18\n")
    parsed = parse("needs", path)
    assert parsed.accepted.drop("source_file").rows() == [
        (2, "N-1", pseudonyms("pupil.7")[0], "0921170X", "boursier", date(2020, 3, 18))
    ]


def test_utf8_bom_is_not_read_as_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = export_file(tmp_path, ["user_id;profile;uai", "élodie.petit;parent;0921170X"], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfuser_id;")
    parsed = parse("directory", path)
    assert parsed.accepted["user_key"].to_list() == pseudonyms("élodie.petit")


def test_windows_1252_accents_are_decoded(tmp_path: Path) -> None:
    path = export_file(tmp_path, [REFERENCE_HEADER, "0921589C;Collège Évariste Galois;Nanterre;public;REP+;512"])
    assert "Collège".encode("cp1252") in path.read_bytes()
    parsed = parse("reference", path)
    assert parsed.accepted.select("name", "commune", "education_priority", "students").rows() == [
        ("Collège Évariste Galois", "Nanterre", "REP+", 512)
    ]


def test_utf8_without_bom_is_decoded_as_utf8(tmp_path: Path) -> None:
    lines = [REFERENCE_HEADER, "0921589C;Collège Évariste Galois;Nanterre;public;REP+;512"]
    path = export_file(tmp_path, lines, encoding="utf-8")
    assert parse("reference", path).accepted["name"].to_list() == ["Collège Évariste Galois"]


def test_both_date_forms_are_read_even_in_one_file(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        LOANS_HEADER,
        "L1;SN-001;ultraportable;pret;eleve;pupil.1;0921170X;16/03/2020;2020-04-09",
        "L2;SN-002;tablette;don;eleve;pupil.2;0921170X;2020-03-17;",
        "L3;;pc_recycle;pret;enseignant;teacher.1;0921170X;1/4/2020;09/04/2020",
    ])
    parsed = parse("loans", path)
    assert parsed.accepted.select("loan_id", "device_serial", "start_date", "end_date").rows() == [
        ("L1", "SN-001", date(2020, 3, 16), date(2020, 4, 9)),
        ("L2", "SN-002", date(2020, 3, 17), None),
        ("L3", None, date(2020, 4, 1), date(2020, 4, 9)),
    ]
    assert parsed.accepted.schema["start_date"] == pl.Date and parsed.rejects.is_empty()


def test_unparseable_dates_are_rejected_with_their_line(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        NEEDS_HEADER,
        "N1;p1;0921170X;rep;2020-02-30",
        "N2;p2;0921170X;rep;16/03/20",
        "N3;p3;0921170X;rep;2020/03/16",
        "N4;p4;0921170X;rep;16 mars 2020",
        "N5;p5;0921170X;rep;2020-03-16",
    ])
    parsed = parse("needs", path)
    assert rejects_of(parsed) == [(line, "unparseable date in identified_on") for line in (2, 3, 4, 5)]
    assert parsed.accepted["need_id"].to_list() == ["N5"]


@pytest.mark.parametrize(
    ("kind", "header", "row", "column"),
    [
        ("directory", "user_id;profile;uai", "u1;élève;0921170X", "profile"),
        ("reference", REFERENCE_HEADER, "0921170X;Collège A;Antony;privé;none;500", "sector"),
        ("reference", REFERENCE_HEADER, "0921170X;Collège A;Antony;public;REP++;500", "education_priority"),
        ("loans", LOANS_HEADER, "L1;S1;laptop;pret;eleve;p1;0921170X;2020-03-16;", "device_type"),
        ("loans", LOANS_HEADER, "L1;S1;tablette;vente;eleve;p1;0921170X;2020-03-16;", "transfer"),
        ("loans", LOANS_HEADER, "L1;S1;tablette;pret;parent;p1;0921170X;2020-03-16;", "recipient_type"),
        ("needs", NEEDS_HEADER, "N1;p1;0921170X;handicap;2020-03-16", "criterion"),
    ],
)
def test_unknown_vocabulary_word_is_rejected_naming_its_column(
    tmp_path: Path, kind: str, header: str, row: str, column: str
) -> None:
    parsed = parse(kind, export_file(tmp_path, [header, row]))
    assert rejects_of(parsed) == [(2, f"unknown word in {column}")]
    assert parsed.accepted.is_empty() and parsed.rows_read == 1


def test_vocabulary_words_match_any_case_and_keep_the_canonical_spelling(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        REFERENCE_HEADER,
        "0921621M;Collège Guy Moquet;Gennevilliers; Public ;rep+;640",
        "0921170X;Collège La Fontaine;Antony;PRIVATE_UNDER_CONTRACT;None;559",
        "0922765F;Ecole secondaire privée Cours Hattemer;Asnières-sur-Seine;private_no_contract;;",
        "0921589C;Collège Evariste Galois;Nanterre;public;Rep;512",
    ])
    parsed = parse("reference", path)
    assert parsed.accepted.select("sector", "education_priority", "students").rows() == [
        ("public", "REP+", 640),
        ("private_under_contract", "none", 559),
        ("private_no_contract", None, None),
        ("public", "REP", 512),
    ]


@pytest.mark.parametrize(
    ("kind", "header", "row", "column"),
    [
        ("loans", LOANS_HEADER, ";S1;tablette;pret;eleve;p1;0921170X;2020-03-16;", "loan_id"),
        ("needs", NEEDS_HEADER, " ;p1;0921170X;rep;2020-03-16", "need_id"),
        ("directory", "user_id;profile;uai", ";eleve;0921170X", "user_id"),
        ("directory", "user_id;profile;uai", "u1;eleve;", "uai"),
        ("reference", REFERENCE_HEADER, ";Collège A;Antony;public;none;500", "uai"),
        ("reference", REFERENCE_HEADER, "0921170X;;Antony;public;none;500", "name"),
        ("loans", LOANS_HEADER, "L1;S1;tablette;pret;eleve;;0921170X;2020-03-16;", "recipient_id"),
        ("loans", LOANS_HEADER, "L1;S1;tablette;pret;eleve;p1;0921170X;;", "start_date"),
        ("needs", NEEDS_HEADER, "N1;;0921170X;rep;2020-03-16", "pupil_id"),
        ("needs", NEEDS_HEADER, "N1;p1;0921170X;;2020-03-16", "criterion"),
    ],
)
def test_row_with_an_empty_key_or_required_field_is_rejected(
    tmp_path: Path, kind: str, header: str, row: str, column: str
) -> None:
    parsed = parse(kind, export_file(tmp_path, [header, row]))
    assert rejects_of(parsed) == [(2, f"missing {column}")]


def test_end_date_before_start_date_is_rejected(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        LOANS_HEADER,
        "L1;S1;tablette;pret;eleve;p1;0921170X;2020-03-16;15/03/2020",
        "L2;S2;tablette;pret;eleve;p2;0921170X;2020-03-16;16/03/2020",
    ])
    parsed = parse("loans", path)
    assert rejects_of(parsed) == [(2, "end_date before start_date")]
    assert parsed.accepted.select("loan_id", "end_date").rows() == [("L2", date(2020, 3, 16))]


def test_row_with_the_wrong_number_of_fields_is_rejected_and_the_rest_kept(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        "user_id;profile;uai",
        "u1;eleve",
        "u2;eleve;0921170X;extra",
        "u3;eleve;0921170X;;",
        "u4;parent;0921243B",
    ])
    parsed = parse("directory", path)
    assert rejects_of(parsed) == [(2, "expected 3 fields, found 2"), (3, "expected 3 fields, found 4")]
    assert parsed.accepted.select("line_number", "profile").rows() == [(4, "eleve"), (5, "parent")]
    assert parsed.rows_read == 4


def test_bad_students_number_is_rejected_and_an_empty_one_is_null(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        REFERENCE_HEADER,
        "0921170X;Collège A;Antony;public;none;cinq cents",
        "0921243B;Collège B;Antony;public;none;409,5",
        "0921507N;Collège C;Antony;public;none;-3",
        "0921786S;Collège D;Antony;public;none;",
        "0921868F;Collège E;Antony;public;none; 687 ",
    ])
    parsed = parse("reference", path)
    assert rejects_of(parsed) == [(line, "bad number in students") for line in (2, 3, 4)]
    assert parsed.accepted.select("uai", "students").rows() == [("0921786S", None), ("0921868F", 687)]
    assert parsed.accepted.schema["students"] in (pl.Int32, pl.Int64)


def test_optional_reference_columns_are_typed_and_read_as_a_french_spreadsheet_writes_them(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        REFERENCE_HEADER + ";commune_insee;has_ulis;ips;latitude;longitude",
        "0921170X;Collège La Fontaine;Antony;public;none;559;92002;VRAI;139,1;48,769557;2,318683",
        "0921243B;Collège Anne Frank;Antony;public;none;409;92002;false;111.8;;",
        "0921507N;Collège François Furet;Antony;public;none;578;92002;peut-être;146,9;48,755593;2,298434",
        "0921786S;Collège Descartes;Antony;public;none;687;92002;true;128,5;48°44';2,316184",
    ])
    parsed = parse("reference", path)
    assert parsed.accepted.select("commune_insee", "has_ulis", "ips", "latitude", "longitude").rows() == [
        ("92002", True, 139.1, 48.769557, 2.318683),
        ("92002", False, 111.8, None, None),
    ]
    assert rejects_of(parsed) == [(4, "bad true/false value in has_ulis"), (5, "bad number in latitude")]


def test_reference_without_the_optional_columns_has_them_null(tmp_path: Path) -> None:
    parsed = parse("reference", export_file(tmp_path, [REFERENCE_HEADER, "0921170X;Collège A;Antony;public;none;559"]))
    assert parsed.accepted.columns == [
        "source_file", "line_number", "uai", "name", "commune", "sector", "education_priority", "students",
        "commune_insee", "has_ulis", "ips", "latitude", "longitude",
    ]
    assert parsed.accepted.select("commune_insee", "has_ulis", "ips", "latitude", "longitude").rows() == [
        (None, None, None, None, None)
    ]
    assert parsed.accepted.schema["has_ulis"] == pl.Boolean and parsed.accepted.schema["latitude"] == pl.Float64


@pytest.mark.parametrize(
    ("kind", "header", "rows", "column"),
    [
        ("loans", LOANS_HEADER, ["L1;S1;tablette;pret;eleve;p1;0921170X;2020-03-16;"] * 3, "loan_id"),
        ("needs", NEEDS_HEADER, ["N1;p1;0921170X;rep;2020-03-16", "", "N1;p2;0921170X;ase;2020-03-17"], "need_id"),
        ("directory", "user_id;profile;uai", ["u1;eleve;0921170X", "u1;parent;0921170X", "u1;eleve;0921243B"],
         "user_id"),
        ("reference", REFERENCE_HEADER,
         ["0921170X;Collège A;Antony;public;none;1", "0921170x;Collège A;Antony;public;none;2"], "uai"),
    ],
)
def test_repeated_id_keeps_the_first_row_and_rejects_each_repetition(
    tmp_path: Path, kind: str, header: str, rows: list[str], column: str
) -> None:
    parsed = parse(kind, export_file(tmp_path, [header, *rows]))
    repetitions = [line for line, row in enumerate(rows, start=2) if row][1:]
    assert rejects_of(parsed) == [(line, f"repeated {column} (first at line 2)") for line in repetitions]
    assert parsed.accepted["line_number"].to_list() == [2]


def test_first_good_row_of_an_id_is_kept_when_an_earlier_one_was_rejected(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        LOANS_HEADER,
        "L1;S1;tablette;pret;eleve;p1;0921170X;2020-13-01;",
        "L1;S1;tablette;pret;eleve;p1;0921170X;2020-03-16;",
        "L1;S1;tablette;pret;eleve;p1;0921170X;2020-03-17;",
    ])
    parsed = parse("loans", path)
    assert rejects_of(parsed) == [(2, "unparseable date in start_date"), (4, "repeated loan_id (first at line 3)")]
    assert parsed.accepted.select("line_number", "start_date").rows() == [(3, date(2020, 3, 16))]


def test_header_names_match_any_case_and_spacing_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        "Nom;Need_ID; PUPIL_ID ;Classe;UAI;Criterion;Identified_On",
        "Martin;N1;p1;4e B;0921170X;ASE;16/03/2020",
    ])
    parsed = parse("needs", path)
    assert parsed.accepted.columns == [
        "source_file", "line_number", "need_id", "pupil_key", "uai", "criterion", "identified_on"
    ]
    assert parsed.accepted.drop("source_file").rows() == [
        (2, "N1", pseudonyms("p1")[0], "0921170X", "ase", date(2020, 3, 16))
    ]


def test_quoted_fields_may_hold_the_separator_and_line_breaks(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        REFERENCE_HEADER,
        '0921170X;"Collège Paul Éluard; site annexe";Antony;public;none;559',
        '0921243B;"Collège ""Anne Frank""',
        'bâtiment B";Antony;public;none;409',
        "",
        '0921507N;Collège François Furet;Antony;public;none;578',
    ])
    parsed = parse("reference", path)
    assert parsed.accepted.select("line_number", "name").rows() == [
        (2, "Collège Paul Éluard; site annexe"),
        (3, 'Collège "Anne Frank"\r\nbâtiment B'),
        (6, "Collège François Furet"),
    ]
    assert parsed.rows_read == 3


def test_rows_read_counts_accepted_and_rejected_rows_but_not_blank_ones(tmp_path: Path) -> None:
    path = export_file(tmp_path, ["", "user_id;profile;uai", "u1;eleve;0921170X", "", ";;", "u2;inconnu;0921170X", ""])
    parsed = parse("directory", path)
    assert (parsed.accepted.height, parsed.rejects.height, parsed.rows_read) == (1, 1, 2)
    assert rejects_of(parsed) == [(6, "unknown word in profile")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"user_id;profile\r\nu1;eleve\r\n", "directory/export.csv: the header (line 1) lacks the column(s) uai"),
        (b"u1;eleve;0921170X\r\n", "no header line naming the directory columns user_id, profile, uai"),
        (b"", "directory/export.csv: the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "directory/export.csv: not a CSV text file"),
        (b"user_id profile uai\r\n", "no ';' or ',' separator in the header"),
        (b"user_id;profile;uai;UAI\r\n", "column uai appears more than once in the header"),
    ],
)
def test_unusable_file_raises_a_one_line_user_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(UserError, match=re.escape(message)) as raised:
        parse("directory", path)
    assert "\n" not in str(raised.value) and "u1" not in str(raised.value)


def test_no_raw_identifier_reaches_accepted_rows_or_rejects(tmp_path: Path) -> None:
    path = export_file(tmp_path, [
        LOANS_HEADER + ";beneficiaire",
        "L1;S1;tablette;pret;eleve;zoe.leroy;0921170X;2020-03-16;;Zoé Leroy",
        "L2;S2;tablette;pret;eleve;jules.moreau;0921170X;2020-03-16;01/03/2020;Jules Moreau",
        "L3;S3;tablette;pret;eleve;lina.bernard;0921170X;2020-03-16",
        "L4;S4;tablette;pret;eleve;0921170X;noah.petit;2020-03-16;;Noah Petit;x",
    ])
    parsed = parse("loans", path)
    assert rejects_of(parsed) == [
        (3, "end_date before start_date"), (4, "expected 10 fields, found 8"), (5, "expected 10 fields, found 11")
    ]
    secrets = ["zoe.leroy", "jules.moreau", "lina.bernard", "noah.petit", "Jules Moreau", "Noah Petit"]
    for frame in (parsed.accepted, parsed.rejects):
        for name, dtype in frame.schema.items():
            if dtype == pl.String:
                assert not frame[name].str.contains_any(secrets).any(), name
    jules = parsed.rejects.row(0, named=True)["text"]
    assert jules.split(";")[:6] == ["L2", "S2", "tablette", "pret", "eleve", pseudonyms("jules.moreau")[0]]
    assert parsed.accepted["recipient_key"].to_list() == pseudonyms("zoe.leroy")


def test_real_reference_file_of_the_hauts_de_seine_is_read_whole() -> None:
    parsed = parse_export("reference", REFERENCE_FILE, "reference/colleges_92.csv", KEY)
    colleges = parsed.accepted
    assert (colleges.height, parsed.rejects.height, parsed.rows_read) == (155, 0, 155)
    assert colleges["uai"].n_unique() == 155
    assert dict(colleges["sector"].value_counts().rows()) == {
        "public": 99, "private_under_contract": 35, "private_no_contract": 21
    }
    public = colleges.filter(pl.col("sector") == "public")
    assert dict(public["education_priority"].value_counts().rows()) == {"none": 79, "REP": 18, "REP+": 2}
    assert colleges["education_priority"].null_count() == 21
    assert (colleges["students"].sum(), colleges["students"].null_count()) == (73522, 21)
    assert dict(colleges["has_ulis"].value_counts().rows()) == {True: 62, False: 72, None: 21}
    assert (colleges["latitude"].null_count(), colleges["longitude"].null_count()) == (4, 4)
    assert colleges.row(0, named=True) == {
        "source_file": "reference/colleges_92.csv", "line_number": 2, "uai": "0921170X",
        "name": "Collège La Fontaine", "commune": "Antony", "sector": "public", "education_priority": "none",
        "students": 559, "commune_insee": "92002", "has_ulis": True, "ips": 139.1,
        "latitude": 48.769557, "longitude": 2.318683,
    }


def test_a_200000_row_directory_is_read_whole(tmp_path: Path) -> None:
    profiles = ("eleve", "enseignant", "parent", "personnel")
    lines = ["user_id;profile;uai"] + [f"user{n:06d};{profiles[n % 4]};092{n % 997:04d}X" for n in range(200_000)]
    path = export_file(tmp_path, lines)
    parsed = parse("directory", path)
    assert (parsed.accepted.height, parsed.rejects.height) == (200_000, 0)
