"""Benchmark: the results pages of actions at scale, and the CSV export of their responses.

Not a test. Run: .venv/bin/python bench/bench_actions.py [--repeat 30] [--reseed]

Needs PostgreSQL (127.0.0.1:5432): uses its own database `kaizala_bench_actions` (plus BENCH_DB_SUFFIX),
seeded on first use with bulk inserts: one group with 500 members, a poll (3 choices) with 100,000
responses, and a 10-question survey (6 single-choice, 2 multiple-choice, a text and a number question) with
20,000 responses, with their counted options (ResponseChoice rows) as the webhook path stores them, then
their running counts recounted.
Then, in-process with Django's test Client logged in as a Viewer: server time p50/p95 over `--repeat`
requests (after 3 warm-ups) and the SQL query count of each results page, its live (polled) part, and a
page of its responses table deep by cursor (target: p95 <= 150 ms, the same query count for both actions).
Last, the CSV export of the poll's 100,000 responses and the survey's 20,000, streamed: seconds, the
queries (one per keyset chunk), and the peak of Python's allocations (tracemalloc) and of the process's
RSS against the body's size (flat: the peak must not grow with the rows).
Writes bench/results/actions-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
import uuid
from datetime import timedelta

import harness

ACTIONS_DB = "kaizala_bench_actions"
POLL_RESPONSES = 100_000
SURVEY_RESPONSES = 20_000
MEMBERS = 500
BATCH = 5_000
POLL_CARD = {"question": "Which day suits the field visit?", "choices": ["Monday", "Wednesday", "Friday"],
             "expiry_hours": 720}
SURVEY_QUESTIONS = (
    [{"title": f"Single choice {n}", "type": "SingleOption", "options": ["A", "B", "C", "D"], "required": True}
     for n in range(1, 7)]
    + [{"title": f"Multiple choice {n}", "type": "MultiOption", "options": ["V", "W", "X", "Y", "Z"],
        "required": False} for n in (1, 2)]
    + [{"title": "Comments", "type": "Text", "options": [], "required": False},
       {"title": "Hours worked", "type": "Numeric", "options": [], "required": False}]
)
SURVEY_CARD = {"title": "Weekly field survey", "questions": SURVEY_QUESTIONS, "due_hours": 720,
               "anonymous": False, "multiple_responses": False}


def _phone(n: int) -> str:
    return f"+9197{n:08d}"


def seed() -> None:
    """Empty the benchmark's tables and fill them with bulk inserts."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group as RoleGroup
    from django.utils import timezone

    from accounts.roles import Role
    from actions.models import ActionResponse, ResponseChoice
    from connectors.models import Connector, PhoneUser
    from groups.models import Group, GroupMember
    from messaging.models import Message

    ResponseChoice.objects.all().delete()
    ActionResponse.objects.all().delete()
    Message.objects.all().delete()
    Group.objects.all().delete()
    PhoneUser.objects.all().delete()
    Connector.objects.all().delete()
    now = timezone.now()
    connector = Connector.objects.create(name="Bench", application_id="bench-actions", application_secret="s",
                                         auth_base_url="http://127.0.0.1:9")
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919700000000", token_kind="user",
                                          state=PhoneUser.State.ACTIVE, refresh_token="rt", access_token="at",
                                          access_token_expires_at=now, endpoint_url="http://127.0.0.1:9/kms/")
    group = Group.objects.create(phone_user=phone_user, kaizala_id="bench@actions", name="Field force",
                                 state=Group.State.ACTIVE)
    GroupMember.objects.bulk_create(GroupMember(group=group, mobile_number=_phone(n), name=f"Member {n}",
                                                state=GroupMember.State.ADDED) for n in range(MEMBERS))
    user, created = get_user_model().objects.get_or_create(username="bench-actions-viewer")
    if created:
        user.set_password(uuid.uuid4().hex)
        user.save()
    user.groups.add(RoleGroup.objects.get(name=Role.VIEWER.group_name))

    def message(kind, card, action_id):
        return Message.objects.create(group=group, kind=kind, card=card, text=card.get("question", card.get("title")),
                                      broadcast_id=uuid.uuid4(), status=Message.Status.SENT, due_at=now,
                                      scheduled_for=now, status_changed_at=now, sent_at=now, action_id=action_id)

    rng = random.Random(15)

    def fill(action_id, count, answers_for):
        for start in range(0, count, BATCH):
            batch = []
            for n in range(start, min(start + BATCH, count)):
                answers, chosen = answers_for(n)
                # The first 400 members answer; the rest are others (subscribers, say) so counts stay exact.
                phone = _phone(n) if n < 400 else f"+9196{n:08d}"
                batch.append((ActionResponse(action_id=action_id, key=f"p:{phone}", response_id=str(uuid.uuid4()),
                                             responder_phone=phone, responder_name=f"Responder {n}",
                                             answers=answers, responded_at=now - timedelta(seconds=n),
                                             source="event", tallied=True),
                              chosen))
            rows = ActionResponse.objects.bulk_create([row for row, _ in batch])
            ResponseChoice.objects.bulk_create(
                [ResponseChoice(response_id=row.pk, action_id=action_id, question=q, option=o)
                 for row, (_, chosen) in zip(rows, batch, strict=True) for q, o in chosen], batch_size=BATCH * 4)

    message("poll", POLL_CARD, "bench-poll")

    def poll_answer(_n):
        choice = rng.choices(range(3), weights=(5, 3, 2))[0]
        return [POLL_CARD["choices"][choice]], [(0, choice)]

    fill("bench-poll", POLL_RESPONSES, poll_answer)
    message("survey", SURVEY_CARD, "bench-survey")

    def survey_answer(n):
        answers, chosen = [], []
        for q, question in enumerate(SURVEY_QUESTIONS):
            if question["type"] == "SingleOption":
                pick = rng.randrange(4)
                answers.append(question["options"][pick])
                chosen.append((q, pick))
            elif question["type"] == "MultiOption":
                picks = sorted(rng.sample(range(5), rng.randint(1, 3)))
                answers.append([question["options"][p] for p in picks])
                chosen.extend((q, p) for p in picks)
            elif question["type"] == "Text":
                answers.append(f"Comment number {n}: the pump at site {n % 97} needs a new seal")
            else:
                answers.append(rng.randint(1, 12))
        return answers, chosen

    fill("bench-survey", SURVEY_RESPONSES, survey_answer)
    from actions.services import action_counts_rebuild

    for action_id in ("bench-poll", "bench-survey"):  # bulk-loaded: the running counts are recounted
        action_counts_rebuild(action_id=action_id)


def targets() -> list[tuple[str, str]]:
    from actions.models import ActionResponse
    from kaizala_console.keyset import encode_cursor
    from messaging.models import Message

    rows = []
    for kind, count in (("poll", POLL_RESPONSES), ("survey", SURVEY_RESPONSES)):
        message = Message.objects.get(kind=kind)
        deep = ActionResponse.objects.filter(action_id=message.action_id).order_by("-responded_at", "-id").values_list(
            "responded_at", "id")[count - 100]
        rows += [(f"{kind} results ({count:,})", f"/actions/{message.pk}/"),
                 (f"{kind} live part", f"/actions/{message.pk}/live/"),
                 (f"{kind} table deep by cursor", f"/actions/{message.pk}/?rafter={encode_cursor(list(deep))}")]
    return rows


def _client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench-actions-viewer"))
    return client


def measure_pages(repeat: int) -> list[dict]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client = _client()
    rows = []
    for name, url in targets():
        for _ in range(3):
            reply = client.get(url)
        assert reply.status_code == 200, f"{url} -> {reply.status_code}"
        reset_queries()  # the request_started signal empties the log: capture from an empty one
        with CaptureQueriesContext(connection) as capture:
            client.get(url)
        queries = list(capture.captured_queries)
        times, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            reset_queries()
        rows.append({"page": name, "url": url, "queries": len(queries),
                     "p50ms": round(harness.percentile(times, 50), 1), "p95ms": round(harness.percentile(times, 95), 1),
                     "maxms": round(max(times), 1), "cpuP50ms": round(harness.percentile(cpu, 50), 1),
                     "sql": [q["sql"][:300] for q in queries]})
        print(f"  {name:<34} {rows[-1]['p95ms']:>8} ms p95  {rows[-1]['queries']:>3} queries", flush=True)
    return rows


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_export(kind: str) -> dict:
    """One streamed export: the body is read piece by piece, as a client would, and dropped."""
    import tracemalloc

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from messaging.models import Message

    message = Message.objects.get(kind=kind)
    client = _client()
    reset_queries()
    rss_before = _rss_mib()
    rss_peak = rss_before
    tracemalloc.start()
    started, started_cpu = time.perf_counter(), time.process_time()
    size = lines = pieces = 0
    with CaptureQueriesContext(connection) as capture:
        response = client.get(f"/actions/{message.pk}/responses.csv")
        assert response.status_code == 200 and response.streaming
        for piece in response.streaming_content:
            size += len(piece)
            lines += piece.count(b"\r\n")
            pieces += 1
            if pieces % 10 == 0:
                rss_peak = max(rss_peak, _rss_mib())
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {"action": kind, "rows": lines - 1, "bytes": size, "seconds": round(seconds, 2),
              "cpuSeconds": round(cpu, 2), "queries": len(capture), "peakPythonMiB": round(peak / 2**20, 1),
              "rssBeforeMiB": round(rss_before, 1), "rssPeakMiB": round(rss_peak, 1),
              "bodyMiB": round(size / 2**20, 1)}
    print(f"  export of {result['rows']:,} {kind} responses: {result['seconds']} s ({result['cpuSeconds']} CPU-s), "
          f"{result['bodyMiB']} MiB of CSV, peak {result['peakPythonMiB']} MiB of Python allocations, RSS "
          f"{result['rssBeforeMiB']} → {result['rssPeakMiB']} MiB, {result['queries']} queries", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reseed", action="store_true", help="empty and seed the database again")
    args = parser.parse_args()

    services = harness.Services(db=ACTIONS_DB).start(sandbox_url="http://127.0.0.1:8700", require_postgres=True)
    try:
        from actions.models import ActionResponse

        seeded = None
        counts = (ActionResponse.objects.filter(action_id="bench-poll").count(),
                  ActionResponse.objects.filter(action_id="bench-survey").count())
        if args.reseed or counts != (POLL_RESPONSES, SURVEY_RESPONSES):
            started = time.perf_counter()
            seed()
            seeded = round(time.perf_counter() - started, 1)
        from django.db import connection

        # As autovacuum leaves a table after bulk inserts: statistics, and a visibility map for index-only scans.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            for table in ("actions_actionresponse", "actions_responsechoice", "actions_actioncount",
                          "groups_groupmember"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        load_before = harness.load()
        print(f"in-process, {args.repeat} requests per page (p95 target <= 150 ms); load {load_before}:", flush=True)
        pages = measure_pages(args.repeat)
        exports = [measure_export("poll"), measure_export("survey")]
        load_after = harness.load()
    finally:
        services.stop()

    print(f"\nAction results at scale ({'; '.join(services.notes)}; load {load_before} → {load_after}); "
          f"seed took {seeded} s")
    print(harness.table(["page", "queries", "p50 ms", "p95 ms", "max ms", "CPU p50 ms"],
                        [[p["page"], p["queries"], p["p50ms"], p["p95ms"], p["maxms"], p["cpuP50ms"]] for p in pages]))
    print(harness.table(["export", "rows", "queries", "s", "CPU s", "MiB CSV", "peak Python MiB", "RSS MiB"],
                        [[e["action"], e["rows"], e["queries"], e["seconds"], e["cpuSeconds"], e["bodyMiB"],
                          e["peakPythonMiB"], f"{e['rssBeforeMiB']} → {e['rssPeakMiB']}"] for e in exports]))
    print(f"max RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    harness.write_result("actions", {"benchmark": "action results at scale", "machine": harness.machine(),
                                     "services": services.notes, "seedSeconds": seeded, "repeat": args.repeat,
                                     "loadBefore": load_before, "loadAfter": load_after, "pages": pages,
                                     "exports": exports})


if __name__ == "__main__":
    main()
