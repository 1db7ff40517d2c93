"""Parsing typed and uploaded member lists: every bad line named, duplicates folded, bad files refused."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from groups.member_input import MAX_ROWS, Entry, merge, parse_csv, parse_lines


def csv_file(content: bytes | str, name="members.csv"):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_lines_are_normalised_and_duplicates_folded():
    entries = parse_lines("+91 98123 45678\n\n9812345678\n+919800000002\n")
    assert entries == [Entry("+919812345678"), Entry("+919800000002")]


def test_every_bad_line_is_named_by_its_number():
    with pytest.raises(ValidationError) as caught:
        parse_lines("+919812345678\nabc\n+91123\n+919800000002")
    messages = caught.value.messages
    assert len(messages) == 2
    assert messages[0].startswith("Members: line 2:") and "letters" in messages[0]
    assert messages[1].startswith("Members: line 3:") and "too short" in messages[1]


def test_a_long_list_of_bad_lines_is_cut_short():
    with pytest.raises(ValidationError) as caught:
        parse_lines("\n".join(["nope"] * 30))
    assert len(caught.value.messages) == 21
    assert caught.value.messages[-1] == "… and 10 more bad lines."


@pytest.mark.parametrize("header", ["mobile", "Mobile Number", "phone", "mobile_number"])
def test_csv_with_a_mobile_column_and_names(header):
    entries = parse_csv(csv_file(f"name,{header}\nAsha,+919812345678\n,+919800000002\nAsha again,9812345678\n"))
    assert entries == [Entry("+919812345678", "Asha"), Entry("+919800000002")]


def test_csv_bad_rows_are_named_by_their_line():
    with pytest.raises(ValidationError) as caught:
        parse_csv(csv_file("mobile\n+919812345678\n\nnot a number\n"))
    assert caught.value.messages == ["CSV line 4: “not a number” has letters in it; a mobile number has only digits "
                                     "(and a leading +)."]


def test_csv_with_a_wrong_header_is_refused():
    with pytest.raises(ValidationError, match=r"first row must name the columns.*Found “email”, “city”"):
        parse_csv(csv_file("email,city\na@b.c,Pune\n"))


def test_binary_content_is_refused():
    with pytest.raises(ValidationError, match="binary"):
        parse_csv(csv_file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))


def test_non_utf8_text_is_refused():
    with pytest.raises(ValidationError, match="not UTF-8"):
        parse_csv(csv_file("mobile,name\n+919812345678,Jos\xe9\n".encode("latin-1")))


def test_a_file_over_one_megabyte_is_refused():
    with pytest.raises(ValidationError, match="at most 1 MB"):
        parse_csv(csv_file("mobile\n" + "+919812345678\n" * 80_000))


def test_too_many_rows_are_refused():
    with pytest.raises(ValidationError, match="more than 10,000 rows"):
        parse_csv(csv_file("mobile\n" + "+919812345678\n" * (MAX_ROWS + 1)))


def test_merge_keeps_the_first_and_learns_names():
    merged = merge([Entry("+919812345678")], [Entry("+919812345678", "Asha"), Entry("+919800000002")])
    assert merged == [Entry("+919812345678", "Asha"), Entry("+919800000002")]


def test_a_box_of_more_than_1_mb_is_refused_before_reading_a_line():
    with pytest.raises(ValidationError) as caught:
        parse_lines("x" * (1024 * 1024 + 1), label="Subscribers")
    assert caught.value.messages == ["Subscribers: at most 1 MB of text, please (got 1,024 KB)."]


@pytest.mark.django_db
def test_the_chosen_subscribers_box_shares_the_limits_and_the_summary():
    """Issue 13.7: 100,000 invalid lines in the compose form's "chosen subscribers" box were each reported
    (an 11.7 MB page); the box now reads through groups.member_input like every other box of numbers."""
    from messaging.forms import ComposeForm

    def errors(subscribers: str) -> list[str]:
        form = ComposeForm({"text": "Hi", "when": "now", "subscribers": subscribers}, time_zone="UTC")
        assert not form.is_valid()
        return form.errors["subscribers"]

    assert errors("bad\n" * 100_000) == ["Subscribers: at most 10,000 lines, please (got 100,000)."]
    thirty = errors("bad\n" * 30)
    assert len(thirty) == 21 and thirty[0].startswith("Subscribers: line 1:")
    assert thirty[-1] == "… and 10 more bad lines."
    form = ComposeForm({"text": "Hi", "when": "now", "subscribers": "+91 98123 45678\n9812345678\n"}, time_zone="UTC")
    form.is_valid()
    assert form.cleaned_data["subscribers"] == ("+919812345678",)


def test_the_compose_page_with_100000_bad_subscriber_lines_stays_small(client_for, db):
    from accounts.roles import Role

    typed = "bad\n" * 100_000
    response = client_for(Role.OPERATOR).post("/messages/compose/", {"text": "Hi", "when": "now", "subscribers": typed})
    assert response.status_code == 200
    assert "at most 10,000 lines" in response.content.decode()
    # The box is shown again as typed; the errors add little (they were 11.7 MB).
    assert len(response.content) < len(typed) + 100_000
