"""Reads for the results pages. The counts and tallies are the action's running counts (ActionCount rows,
kept by the services in the transaction of each response change), the member figures are counted in the
database: the number and cost of a results page's queries do not grow with its responses, and no response
is loaded into Python except the page of the table that is shown."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from actions import answers as answer_rules
from actions.models import ActionCount, ActionResponse, ActionWork, ReminderSchedule
from groups.models import GroupMember
from messaging.models import Message

# Members listed under "answered" and "not answered"; the counts cover all of them.
LIST_LIMIT = 200
# Member rows that are members at Kaizala (or on their way out / changing role): pending and failed adds
# never reached the group.
MEMBER_STATES = (GroupMember.State.ADDED, GroupMember.State.REMOVING, GroupMember.State.CHANGING_ROLE)


def message(pk) -> Message | None:
    return Message.objects.select_related("group").filter(pk=pk).first()


@dataclass
class Option:
    title: str
    count: int
    percent: int


@dataclass
class QuestionResult:
    number: int
    title: str
    type: str
    is_choice: bool
    options: list[Option] = field(default_factory=list)
    answered: int = 0

    @property
    def type_label(self) -> str:
        return answer_rules.TYPE_LABELS.get(self.type, self.type)


@dataclass
class Results:
    questions: list[QuestionResult]
    total: int
    responders: int
    completed: int
    unexpected: int
    member_total: int
    members_answered: int
    answered: list
    not_answered: list
    assignees: list  # jobs: [(phone, completed)]
    last_response_at: object
    work: ActionWork | None
    reminder: ReminderSchedule | None
    due_at: object = None

    @property
    def is_open(self) -> bool:
        """Still taking answers (or no due date known): the page keeps polling."""
        return self.due_at is None or self.due_at > timezone.now()

    @property
    def rate(self) -> int:
        return round(100 * self.members_answered / self.member_total) if self.member_total else 0

    @property
    def members_not_answered(self) -> int:
        return self.member_total - self.members_answered

    @property
    def chart(self) -> dict:
        """What the charts draw (json_script): per choice question, its option titles and counts."""
        return {"questions": [{"id": f"q{q.number}", "title": q.title, "labels": [o.title for o in q.options],
                               "counts": [o.count for o in q.options]} for q in self.questions if q.is_choice]}


def results(message: Message) -> Results:
    action_id = message.action_id
    questions = answer_rules.questions_of(message.kind, message.card)
    responses = ActionResponse.objects.filter(action_id=action_id)
    # The running counts (actions/models.py ActionCount): a few dozen rows, however many responses.
    counted = dict(ActionCount.objects.filter(action_id=action_id).values_list("name", "count"))
    counts = {"total": counted.get("responses", 0), "completed": counted.get("completed", 0),
              "unexpected": counted.get("unexpected", 0),
              "latest": responses.order_by("-responded_at", "-id").values_list("responded_at", flat=True).first()}
    if answer_rules.one_response_each(message.kind, message.card):
        counts["responders"] = counts["total"]
    else:  # several responses per person: how many people is a DISTINCT (a sort), only then
        counts["responders"] = responses.exclude(responder_phone="").values("responder_phone").distinct().count()
    tallies = {}
    per_question = {}
    for name, n in counted.items():
        if name.startswith("q") and "." in name:
            q, _, o = name[1:].partition(".")
            if q.isdigit() and o.isdigit():
                tallies[(int(q), int(o))] = n
                per_question[int(q)] = per_question.get(int(q), 0) + n
    question_results = []
    for number, question in enumerate(questions):
        result = QuestionResult(number=number, title=question.title, type=question.type, is_choice=question.is_choice)
        if question.is_choice:
            denominator = counts["total"] or 1
            for index, title in enumerate(question.options):
                n = tallies.get((number, index), 0)
                result.options.append(Option(title=title, count=n, percent=round(100 * n / denominator)))
            result.answered = per_question.get(number, 0)
        question_results.append(result)

    members = GroupMember.objects.filter(group_id=message.group_id, state__in=MEMBER_STATES)
    answered = Exists(ActionResponse.objects.filter(action_id=action_id, responder_phone=OuterRef("mobile_number")))
    member_counts = members.aggregate(total=Count("id"), answered=Count("id", filter=Q(answered)))
    columns = ("mobile_number", "name")
    answered_list = list(members.filter(answered).order_by("name", "mobile_number").values(*columns)[:LIST_LIMIT])
    not_answered = list(members.exclude(answered).order_by("name", "mobile_number").values(*columns)[:LIST_LIMIT])
    assignees = []
    if message.kind == Message.Kind.JOB:
        phones = [p for p in (message.card or {}).get("assignees", []) if isinstance(p, str)]
        done = set(responses.filter(is_completed=True, responder_phone__in=phones)
                   .values_list("responder_phone", flat=True))
        assignees = [(phone, phone in done) for phone in phones]
    return Results(
        questions=question_results, total=counts["total"], responders=counts["responders"],
        completed=counts["completed"], unexpected=counts["unexpected"], member_total=member_counts["total"],
        members_answered=member_counts["answered"], answered=answered_list, not_answered=not_answered,
        assignees=assignees, last_response_at=counts["latest"],
        work=ActionWork.objects.filter(message=message).first(),
        reminder=ReminderSchedule.objects.filter(message=message, state=ReminderSchedule.State.ACTIVE).first(),
        due_at=answer_rules.due_at(message.kind, message.card, message.sent_at),
    )


def responses(message: Message):
    """The responses of an action, for the table (keyset-paged by the view) and the export."""
    return ActionResponse.objects.filter(action_id=message.action_id)


def response_feed():
    """Every stored response for the API's feed, with the console message that posted its action (None
    while the send has not recorded the action id, or for an action the console did not post)."""
    posted_by = Message.objects.filter(action_id=OuterRef("action_id")).exclude(action_id="").values("pk")[:1]
    return ActionResponse.objects.order_by().annotate(message_id=Subquery(posted_by))


RESPONSE_FIELDS = ("id", "response_id", "responder_phone", "responder_name", "answers", "is_completed",
                   "has_unexpected", "responded_at", "source")


@dataclass
class ResponseRow:
    responder_phone: str
    responder_name: str
    responded_at: object
    source: str
    is_completed: bool | None
    has_unexpected: bool
    cells: list[str]


def response_rows(rows, questions) -> list[ResponseRow]:
    """One cell per column of `column_titles`: per question, or (no known questions) the answers in one."""
    def cells(answers) -> list[str]:
        found = answer_rules.cells(questions, answers)
        return found if questions else ["; ".join(c for c in found if c)]

    return [ResponseRow(responder_phone=r.responder_phone, responder_name=r.responder_name,
                        responded_at=r.responded_at, source=r.get_source_display(), is_completed=r.is_completed,
                        has_unexpected=r.has_unexpected, cells=cells(r.answers))
            for r in rows]


def column_titles(message: Message) -> list[str]:
    questions = answer_rules.questions_of(message.kind, message.card)
    return [q.title for q in questions] or ["Answers"]
