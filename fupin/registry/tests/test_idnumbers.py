import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fupin.registry.idnumbers import IdNumberError, make_id_number, parse_id_number

TODAY = dt.date(2026, 11, 29)
address = st.sampled_from(["371502", "371521", "372501", "110105", "440524"])
birth = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
sequence = st.integers(min_value=0, max_value=999)


@pytest.mark.parametrize(
    "number", ["11010519491231002X", "440524188001010014", "513101198201130014"]
)
def test_published_examples_are_valid(number: str) -> None:
    # 1880 is before 1900, so the 1880 example is rejected for its birth date, not its checksum.
    if number[6:10] < "1900":
        with pytest.raises(IdNumberError) as exc:
            parse_id_number(number, today=TODAY)
        assert exc.value.code == "id_invalid"
    else:
        assert parse_id_number(number, today=TODAY).person_key == number


@given(address, birth, sequence)
def test_generated_numbers_parse_with_their_birth_date_and_sex(
    code: str, born: dt.date, seq: int
) -> None:
    number = make_id_number(code, born, seq)
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.birth_date == born
    assert parsed.sex == ("male" if seq % 2 else "female")
    assert parsed.person_key == number


@given(
    address,
    birth,
    sequence,
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=1, max_value=9),
)
def test_changing_one_digit_is_caught(
    code: str, born: dt.date, seq: int, position: int, delta: int
) -> None:
    number = make_id_number(code, born, seq)
    digit = (int(number[position]) + delta) % 10
    broken = number[:position] + str(digit) + number[position + 1 :]
    with pytest.raises(IdNumberError) as exc:
        parse_id_number(broken, today=TODAY)
    assert exc.value.code in {"id_checksum", "id_invalid"}
    if not 6 <= position < 14:  # outside the birth date only the check character can fail
        assert exc.value.code == "id_checksum"


@given(
    address,
    birth,
    sequence,
    st.integers(min_value=1, max_value=7),
    st.integers(min_value=1, max_value=4),
)
def test_disability_numbers_keep_the_person_id(
    code: str, born: dt.date, seq: int, cat: int, grade: int
) -> None:
    person = make_id_number(code, born, seq)
    parsed = parse_id_number(f"{person}{cat}{grade}", today=TODAY)
    assert parsed.as_given == f"{person}{cat}{grade}"
    assert parsed.person_key == person
    assert (parsed.disability_category, parsed.disability_grade) == (cat, grade)


@given(st.text(max_size=25))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        parse_id_number(text, today=TODAY)
    except IdNumberError as exc:
        assert exc.code in {"id_invalid", "id_checksum"}


def test_lower_case_x_and_full_width_digits_are_normalised() -> None:
    assert parse_id_number("11010519491231002x", today=TODAY).as_given == "11010519491231002X"
    full = "１１０１０５１９４９１２３１００２Ｘ"
    assert parse_id_number(full, today=TODAY).person_key == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("11010519491231002", "id_invalid"),  # 17 characters
        ("1101051949123100X2", "id_invalid"),  # X not last
        ("110105194902300020", "id_invalid"),  # 30 February
        ("110105203001010010", "id_invalid"),  # born in the future
        ("11010519491231002X8", "id_invalid"),  # 19 characters
        ("11010519491231002X85", "id_invalid"),  # disability category 8
        ("110105194912310021", "id_checksum"),
    ],
)
def test_bad_numbers_are_rejected_with_their_code(number: str, code: str) -> None:
    with pytest.raises(IdNumberError) as exc:
        parse_id_number(number, today=TODAY)
    assert exc.value.code == code
