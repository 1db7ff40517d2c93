"""What an action asks and how Kaizala's answers are read: pure functions, no database.

Kaizala's response schema is only partly documented (§12.5, §14.7): answers are positional, a choice may
come as the option's title or its index, and anything may come as something else. Whatever comes is kept
as it came; a value that fits its question is counted, one that does not is flagged and shown raw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils.dateparse import parse_datetime

CHOICE_TYPES = ("SingleOption", "MultiOption")
# How a question's type reads on the page (the compose card's words).
TYPE_LABELS = {"SingleOption": "one choice", "MultiOption": "several choices", "Text": "text", "Numeric": "a number",
               "Date": "a date", "DateTime": "a date and time", "Location": "a location", "Image": "a photo",
               "AttachmentList": "files"}
# Kinds whose responses are answers to questions (a job's is "completed or not").
ANSWERED_KINDS = ("poll", "survey", "job", "letsmeet")


@dataclass(frozen=True)
class Question:
    title: str
    type: str
    options: tuple[str, ...] = ()

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES


def questions_of(kind: str, card) -> list[Question]:
    """The questions of a sent action, from the card the console composed."""
    card = card if isinstance(card, dict) else {}
    if kind == "poll":
        choices = card.get("choices") if isinstance(card.get("choices"), list) else []
        return [Question(str(card.get("question") or "Question"), "SingleOption", tuple(str(c) for c in choices))]
    if kind == "survey":
        questions = []
        for raw in card.get("questions") if isinstance(card.get("questions"), list) else []:
            raw = raw if isinstance(raw, dict) else {}
            options = raw.get("options") if isinstance(raw.get("options"), list) else []
            questions.append(Question(str(raw.get("title") or f"Question {len(questions) + 1}"),
                                      str(raw.get("type") or "Text"),
                                      tuple(str(o.get("title", "")) if isinstance(o, dict) else str(o)
                                            for o in options)))
        return questions
    return []


def due_at(kind: str, card, sent_at: datetime | None) -> datetime | None:
    """When the action closes: its sending time plus the hours its card gives (polls: expiry)."""
    card = card if isinstance(card, dict) else {}
    hours = card.get("expiry_hours") if kind == "poll" else card.get("due_hours")
    if not isinstance(hours, int) or isinstance(hours, bool) or sent_at is None:
        return None
    return sent_at + timedelta(hours=hours)


def one_response_each(kind: str, card) -> bool:
    """Each member answers once (an answer again is an edit), unless a survey accepts several."""
    return not (kind == "survey" and isinstance(card, dict) and card.get("multiple_responses"))


# --- reading a response -----------------------------------------------------------------------------

@dataclass
class Parsed:
    response_id: str
    responder_phone: str
    responder_name: str
    answers: list
    is_completed: bool | None
    unexpected: bool
    responded_at: datetime | None = None


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def parse_response(payload: dict, *, fallback_phone: str = "", fallback_name: str = "") -> Parsed:
    """One response, from an event's `data` or a row of the details' `responses` (both shapes of §14.7 and
    the flat row of §12.3)."""
    unexpected = False
    details = payload.get("responseDetails")
    body = payload
    answers = payload.get("answers", payload.get("Answers"))
    if isinstance(details, dict):
        with_questions = details.get("responseWithQuestions")
        inner = details.get("response")
        if isinstance(with_questions, list):
            answers = [item.get("answer") if isinstance(item, dict) else item for item in with_questions]
        elif isinstance(inner, dict):
            body = inner
            answers = inner.get("answers", inner.get("Answers"))
    elif details is not None:
        unexpected = True
        answers = [details]
    if answers is None:
        answers = []
    elif not isinstance(answers, list):
        unexpected, answers = True, [answers]
    completed = body.get("isCompleted", payload.get("isCompleted"))
    if completed is not None and not isinstance(completed, bool):
        unexpected, answers, completed = True, [*answers, completed], None
    phone = (_text(payload.get("responder"), 32) or _text(body.get("assignee"), 32) or fallback_phone)
    name = (_text(payload.get("responderName"), 200) or _text(body.get("assigneeName"), 200)
            or _text(body.get("responseName"), 200) or fallback_name)
    response_id = payload.get("responseId")
    responded = payload.get("respondedAt")
    return Parsed(response_id=str(response_id)[:200] if isinstance(response_id, (str, int)) else "",
                  responder_phone=phone, responder_name=name, answers=answers, is_completed=completed,
                  unexpected=unexpected,
                  responded_at=parse_datetime(responded) if isinstance(responded, str) else None)


def _option_index(value, options: tuple[str, ...]) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < len(options):
        return value
    if isinstance(value, str) and value in options:
        return options.index(value)
    if isinstance(value, dict) and isinstance(value.get("title"), str) and value["title"] in options:
        return options.index(value["title"])
    return None


def chosen_options(questions: list[Question], answers: list) -> tuple[list[tuple[int, int]], bool]:
    """(question, option) for every option chosen, and whether some answer did not fit its question."""
    chosen, unexpected = [], False
    if len(answers) > len(questions) and questions:
        unexpected = True
    for number, (question, answer) in enumerate(zip(questions, answers, strict=False)):
        if answer is None:
            continue
        if not question.is_choice:
            unexpected |= isinstance(answer, (list, dict)) and question.type not in (
                "Location", "AttachmentList", "Image")
            continue
        values = answer if isinstance(answer, list) and question.type == "MultiOption" else [answer]
        indexes = [_option_index(v, question.options) for v in values]
        if any(i is None for i in indexes):
            unexpected = True
        for index in dict.fromkeys(i for i in indexes if i is not None):
            chosen.append((number, index))
    return chosen, unexpected


def display(answer, question: Question | None) -> str:
    """An answer as a person reads it: option titles for choices, the value for the rest, raw JSON for
    anything unexpected."""
    if answer is None:
        return ""
    if question is not None and question.is_choice:
        values = answer if isinstance(answer, list) else [answer]
        titles = [question.options[i] if (i := _option_index(v, question.options)) is not None else None
                  for v in values]
        if all(t is not None for t in titles):
            return "; ".join(titles)
    if isinstance(answer, str):
        return answer
    kind = question.type if question is not None else ""
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        if kind in ("Date", "DateTime") and abs(answer) < 1e14:
            # §12.5: a date answers as epoch milliseconds.
            when = datetime.fromtimestamp(answer / 1000, tz=UTC)
            return f"{when:%Y-%m-%d}" if kind == "Date" else f"{when:%Y-%m-%d %H:%M} UTC"
        if isinstance(answer, float) and answer.is_integer() and abs(answer) < 1e15:
            return str(int(answer))
        return str(answer)
    if isinstance(answer, dict) and {"lt", "lg"} <= answer.keys():
        return f"{answer.get('n') or ''} ({answer['lt']}, {answer['lg']})".strip()
    return json.dumps(answer, ensure_ascii=False, sort_keys=True)


def cells(questions: list[Question], answers) -> list[str]:
    answers = answers if isinstance(answers, list) else [answers]
    row = [display(answers[i] if i < len(answers) else None, q) for i, q in enumerate(questions)]
    if not questions:  # a kind without known questions: every answer, raw
        return [display(a, None) for a in answers]
    if len(answers) > len(questions):
        row.append(display(answers[len(questions):], None))
    return row
