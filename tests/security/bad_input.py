# ruff: noqa: E501  (one row a line reads best in a table)
"""The bad-input table: the single source that tests/security/test_bad_input.py reads.

Each row: area, case, what is submitted (a form POST of the console), the status and the words the
person sees, and the outcome: "refused" (nothing saved, nothing sent to Kaizala), "failed" (Kaizala's
answer was bad: the phone user is not activated and nothing is kept from the answer), or "accepted"
(the input is valid and is kept exactly as typed).

Placeholders in `data` and `url`: {connector}, {group}, {phone_user}, {message}. A GET row puts the input in the URL's query string. Kaizala rows run the onboarding's PIN request against
the sandbox with `fault` injected on /v1/generatePin.
"""

from dataclasses import dataclass, field

FOUR_THOUSAND_AND_ONE = "x" * 4001
HUGE_CSV = ("mobile_number,name\n" + "+919812345678,Huge\n" * 120_000).encode()  # ~2.4 MB


@dataclass(frozen=True)
class Row:
    area: str
    case: str
    url: str
    data: dict
    status: int
    sees: str  # words on the page the person gets back
    outcome: str = "refused"
    files: dict = field(default_factory=dict)
    fault: dict | None = None
    setup: str = "world"  # "world", "pin" (a phone user waiting for its PIN), or "kaizala"
    keep: str = ""  # for "accepted": the text that must be stored exactly
    method: str = "POST"  # "GET": `url` carries the input in its query string (list filters)
    create_form: bool = True  # a POST to a create form carries its one-time token (an action button does not)
    settings: dict = field(default_factory=dict)  # settings for this row only (a small upload limit, say)


ONBOARD = "/phone-users/onboard/"
COMPOSE = "/messages/compose/"
CREATE_GROUP = "/groups/new/"
PIN = "/phone-users/{phone_user}/pin/"
INVITE = "/users/invite/"


def onboard(number):
    return {"connector": "{connector}", "mobile_number": number}


def compose(text, **more):
    return {"groups": "{group}", "text": text, "when": "now", **more}


def post(kind, **fields):
    """A compose of another kind than text (messaging/forms.py names its fields)."""
    return {"groups": "{group}", "when": "now", "kind": kind, **fields}


def survey(**questions):
    count = len({key.split("-")[1] for key in questions})
    return post("survey", survey_title="Kit check", **{"q-TOTAL_FORMS": str(count), "q-INITIAL_FORMS": "0"},
                **questions)


def media(kind, filename, content, **fields):
    return {"data": post(kind, **fields), "files": {"media_file": (filename, content)}}


PDF = b"%PDF-1.4\n" + b"%" * 2000
WORLD_MEMBER = "+919800022222"  # tests/security/world.py


def once(at, text="Scheduled"):
    return {"groups": "{group}", "text": text, "when": "once", "send_at": at}


def invite(**fields):
    return {"username": "newcomer", "email": "", "role": "1", **fields}


def group_csv(content: bytes):
    return {"files": {"members_csv": ("members.csv", content)}}


TABLE = [
    # --- phone numbers (the onboarding form) ---
    Row("phone", "garbage", ONBOARD, onboard("!!@@##$$"), 200, "not a phone number"),
    Row("phone", "too short", ONBOARD, onboard("+91 123"), 200, "is too short for a mobile number"),
    Row("phone", "too long", ONBOARD, onboard("+91 98123 45678 98123 45678"), 200, "is not a phone number"),
    Row("phone", "letters", ONBOARD, onboard("+91 98123 ABCDE"), 200, "has letters in it"),
    Row("phone", "wrong region (not a mobile number in the default region IN)", ONBOARD, onboard("12345 67890"),
        200, "is not a mobile number"),
    # --- PINs (a phone user waiting for its PIN) ---
    Row("pin", "letters", PIN, {"pin": "12ab"}, 400, "The PIN is digits only.", setup="pin"),
    Row("pin", "wrong", PIN, {"pin": "WRONG"}, 302, "Kaizala said: Invalid PIN. 2 attempt(s) left.", setup="pin", outcome="failed"),
    Row("pin", "expired", PIN, {"pin": "RIGHT_AFTER_11_MINUTES"}, 302, "Kaizala said: PIN expired.", setup="pin",
        outcome="failed"),
    Row("pin", "too many attempts", PIN, {"pin": "RIGHT_AFTER_3_WRONG"}, 302, "Kaizala said: Too many wrong attempts", setup="pin",
        outcome="failed"),
    # --- message texts (compose) ---
    Row("text", "empty", COMPOSE, compose(""), 200, "Write the message text."),
    Row("text", "only spaces", COMPOSE, compose("   \n  "), 200, "only spaces"),
    Row("text", "4001 characters", COMPOSE, compose(FOUR_THOUSAND_AND_ONE), 200, "at most 4,000 characters (this one has 4001)"),
    Row("text", "NUL byte", COMPOSE, compose("hello\x00world"), 200, "Null characters are not allowed."),
    Row("text", "emoji", COMPOSE, compose("Meeting at 5 🎉👩‍👩‍👧‍👦🇮🇳"), 302, "1 message on the way", outcome="accepted",
        keep="Meeting at 5 🎉👩‍👩‍👧‍👦🇮🇳"),
    Row("text", "right-to-left scripts", COMPOSE, compose("مرحبا بالعالم — שלום עולם"), 302, "1 message on the way", outcome="accepted",
        keep="مرحبا بالعالم — שלום עולם"),
    Row("text", "only invisible format characters", COMPOSE, compose("\u200b\u2060\u202e\u2066\u200f"), 200,
        "only spaces or invisible characters"),
    Row("text", "right-to-left override kept in a text", COMPOSE, compose("abc\u202edef"), 302, "1 message on the way",
        outcome="accepted", keep="abc\u202edef"),
    # --- actions and media (compose of another kind) ---
    Row("actions", "poll with one choice", COMPOSE, post("poll", poll_question="Lunch?", poll_choices="Rice"), 200,
        "A poll needs at least 2 choices"),
    Row("actions", "poll with 11 choices", COMPOSE, post("poll", poll_question="Lunch?",
        poll_choices="\n".join(f"Choice {n}" for n in range(11))), 200, "A poll has at most 10 choices; it has 11."),
    Row("actions", "poll with an empty question", COMPOSE, post("poll", poll_question="  ", poll_choices="A\nB"), 200,
        "Write the poll question."),
    Row("actions", "poll with duplicate choices", COMPOSE, post("poll", poll_question="Lunch?", poll_choices="Rice\nRoti\nrice"),
        200, "“rice” is there twice"),
    Row("actions", "survey with no questions", COMPOSE, survey(), 200, "Add at least one question to the survey."),
    Row("actions", "survey: a choice question without options", COMPOSE,
        survey(**{"q-0-title": "Colour?", "q-0-type": "SingleOption", "q-0-options": ""}), 200,
        "is a choice question: give it at least two options"),
    Row("actions", "job with no assignee", COMPOSE, post("job", job_title="Fix the pump"), 200,
        "Assign the job to at least one member"),
    Row("actions", "job for someone who is not a member", COMPOSE,
        post("job", job_title="Fix the pump", job_assignees="+919899999999"), 200,
        "+919899999999 is not a member of “World”"),
    Row("actions", "due date in the past", COMPOSE,
        post("job", job_title="Fix the pump", job_assignees=WORLD_MEMBER, due_at="2020-01-01T10:00"), 200,
        "The due date is in the past"),
    Row("actions", "meeting that starts in the past", COMPOSE,
        post("letsmeet", meet_title="Review", meet_start="2020-01-01T10:00", meet_duration="30"), 200,
        "The meeting start is in the past"),
    Row("media", "a file of a type Kaizala refuses", COMPOSE, status=200, sees="Kaizala does not take a .txt file as a document",
        **media("document", "notes.txt", b"plain words")),
    Row("media", "a file over the size limit", COMPOSE, status=200, sees="at most 1000", settings={"MEDIA_MAX_BYTES": 1000},
        **media("document", "report.pdf", PDF)),
    Row("media", "content not matching its extension", COMPOSE, status=200, sees="The content of the file is not .png",
        **media("image", "photo.png", PDF)),
    Row("media", "an announcement image that is not an image", COMPOSE, status=200, sees="Kaizala does not take a .pdf file as an image",
        **media("announcement", "flyer.pdf", PDF, ann_title="Flyer", ann_message="See the flyer")),
    Row("media", "a media post without its file", COMPOSE, post("video", caption="Site"), 200, "Choose the video file to post."),
    # --- schedules (compose, once; the Admin's time zone is Europe/London) ---
    Row("schedule", "in the past", COMPOSE, once("2020-01-01T10:00"), 200, "in the past"),
    Row("schedule", "year 9999", COMPOSE, once("9999-12-31T23:59"), 200, "more than two years ahead"),
    Row("schedule", "DST gap (01:30 does not exist)", COMPOSE, once("NEXT_SPRING_GAP"), 200, "it may be ambiguous or it may not exist"),
    Row("schedule", "DST overlap (01:30 happens twice)", COMPOSE, once("NEXT_AUTUMN_OVERLAP"), 200, "it may be ambiguous or it may not exist"),
    # --- list filters (a query string): a bad value is ignored with a note, never a 500 ---
    Row("filter", "message list: group=abc", "/messages/?group=abc", {}, 200, "The group filter “abc” is not valid and was ignored.", method="GET"),
    Row("filter", "message list: phone_user=abc", "/messages/?phone_user=abc", {}, 200, "The phone user filter “abc” is not valid and was ignored.", method="GET"),
    Row("filter", "message list: group id past bigint", "/messages/?group=99999999999999999999999", {}, 200, "The group filter “99999999999999999999999” is not valid", method="GET"),
    Row("filter", "message list: unknown status", "/messages/?status=teapot", {}, 200, "The status filter “teapot” is not valid and was ignored.", method="GET"),
    Row("filter", "message list: impossible date", "/messages/?from=2026-02-30", {}, 200, "The from date filter “2026-02-30” is not valid", method="GET"),
    Row("filter", "message list: broadcast not a UUID", "/messages/?broadcast=abc", {}, 200, "The broadcast filter “abc” is not valid", method="GET"),
    # --- CSV uploads (create a group) ---
    Row("csv", "wrong header", CREATE_GROUP,
        {"phone_user": "{phone_user}", "name": "CSV", "welcome_message": "Hi", "group_type": "Group"}, 400,
        "must name the columns", **group_csv(b"phone;who\n+919812345678;A\n")),
    Row("csv", "binary", CREATE_GROUP,
        {"phone_user": "{phone_user}", "name": "CSV", "welcome_message": "Hi", "group_type": "Group"}, 400,
        "not a CSV text file (it holds binary data)", **group_csv(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00")),
    Row("csv", "huge", CREATE_GROUP,
        {"phone_user": "{phone_user}", "name": "CSV", "welcome_message": "Hi", "group_type": "Group"}, 400,
        "at most 1 MB", **group_csv(HUGE_CSV)),
    # --- list filters (query strings): the bad value is dropped with a note, the list still shows ---
    Row("filter", "phone users: connector=abc", "/phone-users/?connector=abc", {}, 200, "The connector filter “abc” is not valid and was ignored.", method="GET"),
    Row("filter", "phone users: unknown connector", "/phone-users/?connector=999999", {}, 200, "The connector filter “999999” is not valid", method="GET"),
    Row("filter", "API calls: connector=abc", "/api-calls/?connector=abc", {}, 200, "The connector filter “abc” is not valid and was ignored.", method="GET"),
    Row("filter", "API calls: phone_user=abc", "/api-calls/?phone_user=abc", {}, 200, "The phone user filter “abc” is not valid and was ignored.", method="GET"),
    Row("filter", "API calls: status=teapot", "/api-calls/?status=teapot", {}, 200, "The status filter “teapot” is not valid and was ignored.", method="GET"),
    # --- names (create a group) ---
    Row("name", "only bidi controls", CREATE_GROUP,
        {"phone_user": "{phone_user}", "name": "\u202e\u2066\u200e", "welcome_message": "Hi", "group_type": "Group"},
        400, "This field is required."),
    Row("name", "only invisible characters", CREATE_GROUP,
        {"phone_user": "{phone_user}", "name": "\u200b\u3164\u2060", "welcome_message": "Hi", "group_type": "Group"},
        400, "This text has no visible characters"),
    Row("name", "welcome message of only invisible characters", CREATE_GROUP,
        {"phone_user": "{phone_user}", "name": "Fine", "welcome_message": "\u200b\u202e", "group_type": "Group"},
        400, "This text has no visible characters"),
    # --- group pages and boxes of numbers ---
    Row("groups", "sync: a phone user that is not a number", "/groups/sync/", {"phone_user": "abc"}, 302,
        "That phone user does not exist", create_form=False),
    Row("groups", "send through: a phone user that is not a number", "/groups/{group}/send-through/",
        {"phone_user": "abc"}, 302, "That phone user does not reach this group", create_form=False),
    Row("numbers", "100,000 bad lines of chosen subscribers", COMPOSE, compose("Hi", subscribers="bad\n" * 100_000), 200,
        "Subscribers: at most 10,000 lines"),
    # --- users and the audit trail ---
    Row("actions", "daily reminder at a time that is not one", "/actions/{message}/reminders/", {"local_time": "25:99"}, 302,
        "Enter a time of day, like 09:00.", create_form=False),
    Row("actions", "daily reminder without a time", "/actions/{message}/reminders/", {}, 302, "This field is required.", create_form=False),
    Row("actions", "refresh of a message that is no action", "/actions/{message}/refresh/", {}, 302, "it has no responses", create_form=False),
    Row("actions", "reminder of a message that is no action", "/actions/{message}/remind/", {}, 302, "it has no responses", create_form=False),
    Row("users", "invite: a username with spaces", INVITE, invite(username="two words"), 200,
        "Enter a valid username"),
    Row("users", "invite: a role that does not exist", INVITE, invite(role="9"), 200, "Select a valid choice"),
    Row("users", "invite: an e-mail address that is not one", INVITE, invite(email="nope"), 200,
        "Enter a valid email address"),
    Row("filter", "audit: kind=abc", "/audit/?kind=abc", {}, 200,
        "The kind filter “abc” is not valid and was ignored.", method="GET"),
    Row("filter", "audit: a page position that is not one", "/audit/?after=yesterday", {}, 200,
        "The page position in the address is not valid", method="GET"),
    # --- Kaizala answers (the PIN request of an onboarding, with a fault at the sandbox) ---
    Row("kaizala", "HTML error page", ONBOARD, onboard("+919876543210"), 302, "Kaizala failed (502)", setup="kaizala",
        outcome="failed", fault={"status": 502}),
    Row("kaizala", "empty body", ONBOARD, onboard("+919876543210"), 302, "not its API", setup="kaizala",
        outcome="failed", fault={"malformed": "text"}),
    Row("kaizala", "malformed JSON", ONBOARD, onboard("+919876543210"), 302, "not its API", setup="kaizala",
        outcome="failed", fault={"malformed": "truncated"}),
    Row("kaizala", "HTML instead of JSON", ONBOARD, onboard("+919876543210"), 302, "not its API",
        setup="kaizala", outcome="failed", fault={"malformed": "html"}),
    Row("kaizala", "very slow", ONBOARD, onboard("+919876543210"), 302, "Kaizala could not be reached (no answer in time)", setup="kaizala",
        outcome="failed", fault={"timeout": 3}),
]
