"""Alembic migrations of the store's schema.

They run programmatically: :meth:`desklink.store.Store.open` upgrades to head
over its own connection (see :func:`desklink.store._engine.upgrade`); there is
no ``alembic.ini``. To write a new revision, change
:mod:`desklink.store.models`, then autogenerate against a database at head::

    from alembic import command
    from desklink.store._engine import alembic_config
    command.revision(alembic_config("sqlite+aiosqlite:///dev.db"),
                     "what changed", autogenerate=True)

and read the result before committing it: autogenerate misses renames and
server-side defaults. Revision ids are short sequence numbers (``0002``...),
passed as ``rev_id=``. ``tests/store/test_migrations.py`` checks that the
migrated schema equals the models on SQLite and PostgreSQL.
"""
