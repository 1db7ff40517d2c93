"""How Kaizala's response payloads are read: the three shapes seen (§14.7's responseWithQuestions, an
undocumented response.answers, a job's assignee/isCompleted, and §12.3's flat details row), and which answers
fit their question. Pure functions: no database."""

from datetime import UTC, datetime

from actions.answers import Question, cells, chosen_options, due_at, parse_response, questions_of

SINGLE = Question("Shift?", "SingleOption", ("Morning", "Evening"))
MULTI = Question("Tools", "MultiOption", ("Drill", "Saw", "Tape"))
TEXT = Question("Notes", "Text")


def test_documented_event_shape_with_questions():
    parsed = parse_response({"responseId": "r1", "responder": "+911", "responderName": "Asha",
                             "responseDetails": {"responseWithQuestions": [
                                 {"title": "Shift?", "type": "SingleOption", "answer": "Evening"},
                                 {"title": "Tools", "type": "MultiOption", "answer": ["Saw"]}]}})
    assert (parsed.response_id, parsed.responder_phone, parsed.responder_name) == ("r1", "+911", "Asha")
    assert parsed.answers == ["Evening", ["Saw"]] and not parsed.unexpected


def test_documented_job_response_shape():
    parsed = parse_response({"responseId": "j1", "responseDetails": {"response": {
        "assignee": "+912", "assigneeName": "Ravi", "isCompleted": True}}})
    assert (parsed.responder_phone, parsed.responder_name, parsed.is_completed) == ("+912", "Ravi", True)


def test_details_row_shape_carries_its_time():
    parsed = parse_response({"responseId": "r2", "responder": "+913", "respondedAt": "2026-03-01T10:00:00Z",
                             "answers": ["Morning"]})
    assert parsed.responded_at == datetime(2026, 3, 1, 10, tzinfo=UTC) and parsed.answers == ["Morning"]


def test_odd_shapes_are_kept_and_flagged():
    assert parse_response({"responseDetails": "text"}).answers == ["text"]
    assert parse_response({"responseDetails": "text"}).unexpected
    odd = parse_response({"responseDetails": {"response": {"isCompleted": "yes"}}})
    assert odd.unexpected and odd.is_completed is None and odd.answers == ["yes"]
    assert parse_response({"answers": {"a": 1}}).answers == [{"a": 1}]


def test_choices_by_title_or_index_and_what_does_not_fit():
    assert chosen_options([SINGLE, MULTI, TEXT], ["Evening", ["Drill", 2], "fine"]) == ([(0, 1), (1, 0), (1, 2)],
                                                                                        False)
    assert chosen_options([SINGLE], [5]) == ([], True)
    assert chosen_options([SINGLE], [True]) == ([], True)
    assert chosen_options([SINGLE], ["Evening", "extra"]) == ([(0, 1)], True)
    assert chosen_options([TEXT], [{"x": 1}]) == ([], True)


def test_cells_show_titles_and_raw_json():
    assert cells([SINGLE, MULTI], [1, ["Saw", "Tape"]]) == ["Evening", "Saw; Tape"]
    assert cells([SINGLE], [{"odd": "<b>"}]) == ['{"odd": "<b>"}']
    assert cells([], ["a", 2]) == ["a", "2"]


def test_numbers_and_dates_read_as_a_person_writes_them():
    # §12.5: Numeric and Date answer as numbers (a date in epoch milliseconds).
    when = int(datetime(2026, 3, 1, 9, 30, tzinfo=UTC).timestamp() * 1000)
    questions = [Question("Hours", "Numeric"), Question("Weight", "Numeric"), Question("Day", "Date"),
                 Question("At", "DateTime")]
    assert cells(questions, [3.0, 2.5, when, when]) == ["3", "2.5", "2026-03-01", "2026-03-01 09:30 UTC"]


def test_questions_and_due_date_from_the_card():
    assert questions_of("poll", {"question": "Q?", "choices": ["a", "b"]}) == [
        Question("Q?", "SingleOption", ("a", "b"))]
    assert questions_of("survey", {"questions": "not a list"}) == []
    sent = datetime(2026, 3, 1, tzinfo=UTC)
    assert due_at("poll", {"expiry_hours": 48}, sent) == datetime(2026, 3, 3, tzinfo=UTC)
    assert due_at("survey", {"due_hours": "soon"}, sent) is None
