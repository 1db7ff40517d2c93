"""Trigram GIN indexes for the lists' `?q=` search (kaizala_console.filters.SearchFilter), PostgreSQL only.

`icontains` on PostgreSQL compiles to UPPER(column::text) LIKE UPPER('%…%'), so each index is on
UPPER(column) with gin_trgm_ops: a search in 200k messages or 500k API calls reads the index instead of
every row. The indexes are raw SQL, not in the models' Meta: on SQLite there is nothing to create (the
same lookup scans), and a table SQLite rebuilds in a later migration must not try to make a GIN index.
"""

from django.db import migrations

INDEXES = [
    ("msg_text_trgm", "messaging_message", "text"),
    ("group_name_trgm", "groups_group", "name"),
    ("phone_user_mobile_trgm", "connectors_phoneuser", "mobile_number"),
    ("api_call_url_trgm", "connectors_apicall", "url"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin (UPPER("{column}") gin_trgm_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("kaizala_console", "0002_heartbeat"),
        ("messaging", "0003_held_status_and_state_checks"),
        ("groups", "0005_one_row_per_kaizala_group"),
        ("connectors", "0002_states_checked_and_kaizala_error_code"),
    ]

    operations = [
        # The extension is created in `create` (on PostgreSQL only) and kept on the way back: Django's
        # TrigramExtension reads pg_extension when unapplied, which fails on SQLite.
        migrations.RunPython(create, drop),
    ]
