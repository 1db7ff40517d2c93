"""PostgreSQL runs with server-side binding (settings.py), where one statement carries at most 65,535
parameters: the backend (kaizala_console/postgresql) keeps Django's own batches within that."""

import pytest
from django.db import connection

from kaizala_console.postgresql.base import MAX_PARAMETERS
from messaging.models import Attempt, Message

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's parameter limit")


def test_a_deletion_batch_never_names_more_rows_than_a_statement_has_parameters_for():
    # Deleting messages deletes their attempts by the messages' ids, a batch at a time (seed_bench --reset
    # empties 200,000); one IN (…) of every id would not fit in a statement (measured: 65,536 fail).
    messages = [Message(pk=pk) for pk in range(200_000)]
    batch = connection.ops.bulk_batch_size([Attempt._meta.get_field("message")], messages)
    assert batch == MAX_PARAMETERS


def test_a_bulk_insert_batch_stays_within_the_parameters_of_a_statement():
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, [Message() for _ in range(10_000)])
    assert batch * len(fields) <= MAX_PARAMETERS
