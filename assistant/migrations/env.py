"""Alembic environment: runs on the connection that `assistant.migrations` hands over.

Offline (`sql=True`) it writes the SQL for the `sqlalchemy.url` option instead.
"""

from __future__ import annotations

from alembic import context

from assistant.feedback import metadata

config = context.config

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
else:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("Lotse's migrations need a connection: use assistant.migrations.upgrade_database")
    context.configure(connection=connection, target_metadata=metadata)

with context.begin_transaction():
    context.run_migrations()
