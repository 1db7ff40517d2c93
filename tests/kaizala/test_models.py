"""Tolerant parsing of results and the bodies built for actions."""

from datetime import UTC, datetime

import pytest

from kaizala import (
    AccessToken,
    Announcement,
    Group,
    Job,
    LoginResult,
    MalformedResponse,
    Poll,
    PollChoice,
    SendResult,
    Survey,
    SurveyQuestion,
    parse_time,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1518481686294, datetime(2018, 2, 13, 0, 28, 6, 294000, tzinfo=UTC)),
        (1518481686, datetime(2018, 2, 13, 0, 28, 6, tzinfo=UTC)),
        ("1518481686294", datetime(2018, 2, 13, 0, 28, 6, 294000, tzinfo=UTC)),
        ("2018-02-13T00:28:06Z", datetime(2018, 2, 13, 0, 28, 6, tzinfo=UTC)),
        ("2018-02-13T00:28:06", datetime(2018, 2, 13, 0, 28, 6, tzinfo=UTC)),
        (636674054802000000, datetime(2018, 7, 17, 6, 24, 40, 200000, tzinfo=UTC)),
        (None, None),
        ("not a date", None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected


def test_results_tolerate_unknown_fields_and_key_case():
    group = Group.from_json(
        {"GroupId": "g@1", "groupName": "Ops", "groupImageURL": "http://img", "hasSubGroups": "true", "new": 1}
    )
    assert (group.group_id, group.group_name, group.group_image_url, group.has_sub_groups) == (
        "g@1",
        "Ops",
        "http://img",
        True,
    )
    assert group.raw["new"] == 1


def test_tokens_parse_expiry_scope_and_rotation():
    login = LoginResult.from_json(
        {"refreshToken": "r", "grantedScope": "groupinfo.read, textmessage.read", "refreshTokenExpiry": 1893456000000}
    )
    assert login.granted_scope == ("groupinfo.read", "textmessage.read")
    assert login.refresh_token_expiry == datetime(2030, 1, 1, tzinfo=UTC)
    token = AccessToken.from_json({"accessToken": "a", "endpointUrl": "https://e/", "refreshToken": ""})
    assert token.refresh_token is None  # empty until 90 % of the refresh token's life
    with pytest.raises(MalformedResponse):
        AccessToken.from_json({"accessToken": "a"})


def test_send_result_lists_failed_recipients():
    result = SendResult.from_json(
        {"referenceId": "r", "failedResult": [{"subscriber": "+91", "errorReason": "NotASubscriber", "errorCode": "E"}]}
    )
    assert result.failed[0].subscriber == "+91"
    assert result.failed[0].error_reason == "NotASubscriber"


def test_action_bodies():
    assert Announcement("T", "M", ["m1"]).to_body() == {"Title": "T", "Message": "M", "MediaResources": ["m1"]}
    assert Poll("Q?", ["a", PollChoice("b", image="m2")], expiry_in_hours=5).to_body() == {
        "question": "Q?",
        "choices": [{"title": "a"}, {"title": "b", "image": "m2"}],
        "expiryInHours": 5,
    }
    survey = Survey("S", [SurveyQuestion("Pick", "SingleOption", ["x", "y"]), SurveyQuestion("Why", "Text")])
    assert survey.to_body()["questions"] == [
        {"title": "Pick", "type": "SingleOption", "options": [{"title": "x"}, {"title": "y"}]},
        {"title": "Why", "type": "Text"},
    ]
    assert Job("Fix", ["+91"], due_in_hours=3).to_body() == {"title": "Fix", "assignedTo": ["+91"], "dueDate": 3}
    assert (Announcement.action_type, Poll.action_type, Survey.action_type, Job.action_type) == (
        "Announcement",
        "Poll",
        "Survey",
        "Job",
    )
