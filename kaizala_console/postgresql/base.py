"""Django's PostgreSQL backend, with bulk statements kept within what server-side binding can send.

With `server_side_binding` (settings.py) every value is a protocol parameter, and one statement carries at
most 65,535 of them; Django 5.2 does not split a `bulk_create`, or a deletion's batches, for that limit
(a CSV of 10,000 group members is 90,000 parameters).
"""

from django.db.backends.postgresql import base, operations

MAX_PARAMETERS = 65_535  # the protocol's Bind message counts parameters in 16 bits


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        if fields and self.connection.features.uses_server_side_binding:
            return MAX_PARAMETERS // len(fields)
        return super().bulk_batch_size(fields, objs)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
