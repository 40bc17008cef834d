"""Rosters as teachers export them: headers in any case, ; or tab separators, first/last name columns,
empty rows; ambiguous rows, duplicate ids and legacy encodings refused with the row and the fix."""

from pathlib import Path

import pytest

from derivbook import spec
from derivbook.model import UserError


def roster(tmp_path: Path, content: str | bytes, name: str = "class.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def read(path: Path) -> tuple[list[spec.Student], list[str]]:
    warnings: list[str] = []
    return spec.read_roster(path, warnings), warnings


@pytest.mark.parametrize("header", ["name", "Name", "NAME", " Name ", "Student Name", "student_name", "Full name",
                                    "FullName", "Student"])
def test_name_header_in_any_case_and_spelling(tmp_path, header):
    students, warnings = read(roster(tmp_path, f"{header}\nAda Lovelace\nAlan Turing\n"))
    assert [s.name for s in students] == ["Ada Lovelace", "Alan Turing"] and warnings == []


@pytest.mark.parametrize(
    "content",
    [
        "First name,Last name\nAda,Lovelace\nAlan,Turing\n",
        "Surname;Given name;Email\nLovelace;Ada;ada@example.org\nTuring;Alan;alan@example.org\n",
        "last_name\tfirst_name\nLovelace\tAda\nTuring\tAlan\n",
        "Family name,First\nLovelace,Ada\nTuring,Alan\n",
    ],
)
def test_first_and_last_name_columns_are_joined_first_last(tmp_path, content):
    students, _ = read(roster(tmp_path, content))
    assert [s.name for s in students] == ["Ada Lovelace", "Alan Turing"]


@pytest.mark.parametrize(
    "content",
    [
        "\ufeffName;Student ID;Section\r\nAda Lovelace;s17;A\r\nAlan Turing;s18;B\r\n",  # European Excel
        "Name\tID number\r\nAda Lovelace\ts17\r\nAlan Turing\ts18\r\n",  # tab-separated
        "Student number,Full name\ns17,Ada Lovelace\ns18,Alan Turing\n",
        "name;matriculation number\nAda Lovelace;s17\nAlan Turing;s18\n",
    ],
)
def test_separator_and_id_column_detected(tmp_path, content):
    students, _ = read(roster(tmp_path, content))
    assert students == [spec.Student("Ada Lovelace", "s17"), spec.Student("Alan Turing", "s18")]


def test_empty_rows_and_rows_of_separators_are_skipped(tmp_path):
    students, _ = read(roster(tmp_path, "\r\nname,id\r\nAda,1\r\n,\r\n\r\nAlan,2\r\n,\r\n , \r\n"))
    assert students == [spec.Student("Ada", "1"), spec.Student("Alan", "2")]


def test_quoted_name_with_comma_is_kept_whole(tmp_path):
    students, _ = read(roster(tmp_path, 'name\n"Lovelace, Ada"\n'))
    assert students == [spec.Student("Lovelace, Ada")]


def test_trailing_empty_fields_are_not_extra_columns(tmp_path):
    students, _ = read(roster(tmp_path, "name,\nAda,\nAlan,\n"))
    assert [s.name for s in students] == ["Ada", "Alan"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("name\nAda Lovelace\nLovelace, Ada\n",
         "class.csv, row 3: 2 fields, but the header has 1 column (header 'name', separator ','): put a name that "
         "contains a comma in double quotes (\"Lovelace, Ada\") or separate the columns with ';'"),
        ("name,id\nLovelace, Ada,17\n", "class.csv, row 2: 3 fields, but the header has 2 columns"),
        ("name;id\nAda;1;x\n", "class.csv, row 2: 3 fields, but the header has 2 columns (header 'name;id', "
                               "separator ';'): put a field that contains ';' in double quotes"),
    ],
)
def test_rows_with_more_fields_than_columns_are_refused(tmp_path, content, message):
    with pytest.raises(UserError) as caught:
        read(roster(tmp_path, content))
    assert message in str(caught.value)


def test_duplicate_ids_are_refused_naming_both_rows(tmp_path):
    with pytest.raises(UserError) as caught:
        read(roster(tmp_path, "name;id\nAda;17\nGrace;18\nAlan;17\n"))
    assert "class.csv, rows 2 and 4: the same id '17'; each student needs their own id" in str(caught.value)
    assert "separator ';'" in str(caught.value)


def test_duplicate_names_without_id_warn_and_get_distinct_keys(tmp_path):
    students, warnings = read(roster(tmp_path, "name\nAda\nAlan\nAda\nGrace\nAda\n"))
    assert [s.name for s in students] == ["Ada", "Alan", "Ada", "Grace", "Ada"]
    assert len({s.key for s in students}) == 5
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "class.csv: rows 2, 4 and 6 have the same name 'Ada' and no id" in warnings[0]


def test_duplicate_names_with_distinct_ids_are_fine(tmp_path):
    students, warnings = read(roster(tmp_path, "name,id\nAda,1\nAda,2\n"))
    assert warnings == [] and [s.key for s in students] == ["id:1", "id:2"]


def test_student_key_follows_the_student_not_the_row(tmp_path):
    """The id when the row has one, else the name (with its occurrence): sorting the roster or adding a
    student changes no one else's key."""
    before, _ = read(roster(tmp_path, "name,id\nZed,9\nAda,\nAlan,4\n"))
    after, _ = read(roster(tmp_path, "name,id\nAda,\nAlan,4\nBarbara,7\nZed Zimmer,9\n", "sorted.csv"))
    assert [s.key for s in before] == ["id:9", "name:Ada", "id:4"]
    assert {s.key for s in before} < {s.key for s in after}  # Zed's corrected name keeps his id key
    twice, _ = read(roster(tmp_path, "name\nAda\nAda\nAda#2\n", "twice.csv"))
    assert [s.key for s in twice] == ["name:Ada", "name:Ada\n2", "name:Ada#2"]  # three students, three keys


def test_windows_1252_file_names_the_row_and_the_fix(tmp_path):
    path = roster(tmp_path, "name\nAda Lovelace\nJosé Martí\n".encode("cp1252"))
    with pytest.raises(UserError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, row 3: not UTF-8 text (byte 0xE9, 'é' in Windows-1252/Latin-1")
    assert 'save it as "CSV UTF-8"' in message


def test_utf16_file_is_refused_with_the_fix(tmp_path):
    with pytest.raises(UserError, match='UTF-16 text .* save it as "CSV UTF-8"'):
        read(roster(tmp_path, "name\nAda\n".encode("utf-16")))


@pytest.mark.parametrize(
    "content, message",
    [
        ("email;section\nada@example.org;A\n",
         "class.csv, row 1: no name column in the header 'email;section'; allowed: a header row with a column name"),
        ("\n\nnom,courriel\nAda,a\n", "class.csv, row 3: no name column in the header 'nom,courriel'"),
        ("name,Student Name\nAda,Ada\n",
         "class.csv, row 1: columns 1 ('name') and 2 ('Student Name') are both read as the name; keep one"),
        ("name,id,Student ID\nAda,1,2\n", "columns 2 ('id') and 3 ('Student ID') are both read as the id"),
        ("name,id\n,17\n", "class.csv, row 2: empty name (column 'name'; header 'name,id', separator ',')"),
        ("First name,Last name,Email\n,,\n,,ada@example.org\n",
         "class.csv, row 3: empty name (column 'First name' + 'Last name'"),
        (",,\n,\n", "class.csv: the roster is empty"),
        ("name;id\n;\n", "class.csv: the roster has no names, only a header (header 'name;id', separator ';')"),
    ],
)
def test_header_errors_say_what_was_found_and_what_is_allowed(tmp_path, content, message):
    with pytest.raises(UserError) as caught:
        read(roster(tmp_path, content))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_header_errors_list_the_allowed_headers_and_separators(tmp_path):
    with pytest.raises(UserError) as caught:
        read(roster(tmp_path, "email\nx\n"))
    for allowed in ("name", "First name", "Last name", "Student ID", "';'", "tab"):
        assert allowed in str(caught.value)


def test_spec_load_reads_an_exported_roster_and_collects_warnings(tmp_path):
    (tmp_path / "week.toml").write_text("[[problem]]\nderivation = 'softmax-jacobian'\n")
    path = roster(tmp_path, "\ufeffFirst name;Surname\r\nAda;Lovelace\r\nAda;Lovelace\r\n;\r\n")
    workbook = spec.load(tmp_path / "week.toml", roster=path)
    assert [s.name for s in workbook.students] == ["Ada Lovelace", "Ada Lovelace"]
    assert len(workbook.warnings) == 1 and "rows 2 and 3 have the same name 'Ada Lovelace'" in workbook.warnings[0]
