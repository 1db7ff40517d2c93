"""The CSV of an action's responses: one row per response, one column per question, streamed in keyset
chunks (flat memory whatever the number of responses), every cell made safe (kaizala_console.exports)."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.utils import timezone

from actions import answers as answer_rules
from actions import selectors
from actions.models import ResponseSource
from kaizala_console.exports import CHUNK, _Line, safe_cell
from kaizala_console.keyset import keyset_chunks
from messaging.models import Message

ORDER = ("-responded_at", "-id")


def responses_csv(message: Message) -> StreamingHttpResponse:
    zone = timezone.get_current_timezone()  # taken now: the response streams after the middleware is done
    questions = answer_rules.questions_of(message.kind, message.card)
    is_job = message.kind == Message.Kind.JOB
    # With known questions, one column each and one for answers beyond them; without, the answers raw.
    answer_columns = [*(q.title for q in questions), "Extra answers"] if questions else ["Answers"]
    header = ["Responded at", "Responder phone", "Responder name", "Response id", "Source", *answer_columns,
              *(["Completed"] if is_job else []), "Unexpected answer"]
    rows = selectors.responses(message).values(*selectors.RESPONSE_FIELDS)
    writer = csv.writer(_Line())
    sources = dict(ResponseSource.choices)

    def line(row) -> list:
        cells = answer_rules.cells(questions, row["answers"])
        cells = cells + [""] * (len(questions) + 1 - len(cells)) if questions else ["; ".join(cells)]
        return [safe_cell(value, zone) for value in (
            row["responded_at"], row["responder_phone"], row["responder_name"], row["response_id"],
            sources.get(row["source"], row["source"]), *cells,
            *([row["is_completed"]] if is_job else []), row["has_unexpected"])]

    def lines() -> Iterable[str]:
        yield "\ufeff" + writer.writerow(header)  # the BOM: Excel reads UTF-8
        for chunk in keyset_chunks(rows, order=ORDER, size=CHUNK):
            yield "".join(writer.writerow(line(row)) for row in chunk)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="responses-{message.pk}.csv"'
    return response

