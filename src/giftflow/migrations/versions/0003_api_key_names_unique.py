"""Make API key names unique, revoked keys included.

A name then always means one key, in `giftflow apikey list`, in logs and in audit trails; a
revoked key's name is not reused (rotation creates the new key under a new name while the old
one is still live, then revokes the old one).

Databases created before this revision may hold several keys with one name (`apikey create`
did not refuse it). Before the constraint is added, every such key but the oldest is renamed to
`<name> #<id>`, so the upgrade never fails on existing data and no key is lost.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME_MAX_LENGTH = 100

_api_keys = sa.table(
    "api_keys",
    sa.column("id", sa.BigInteger()),
    sa.column("name", sa.String(NAME_MAX_LENGTH)),
)


def _rename_duplicates() -> None:
    conn = op.get_bind()
    taken = {name for (name,) in conn.execute(sa.select(_api_keys.c.name))}
    seen: set[str] = set()
    rows = conn.execute(sa.select(_api_keys.c.id, _api_keys.c.name).order_by(_api_keys.c.id))
    for key_id, name in list(rows):
        if name not in seen:
            seen.add(name)
            continue
        suffix = f" #{key_id}"
        new_name = name[: NAME_MAX_LENGTH - len(suffix)] + suffix
        counter = 1
        while new_name in taken:
            suffix = f" #{key_id}.{counter}"
            new_name = name[: NAME_MAX_LENGTH - len(suffix)] + suffix
            counter += 1
        taken.add(new_name)
        seen.add(new_name)
        conn.execute(sa.update(_api_keys).where(_api_keys.c.id == key_id).values(name=new_name))


def upgrade() -> None:
    _rename_duplicates()
    with op.batch_alter_table("api_keys") as batch:
        batch.create_unique_constraint(op.f("uq_api_keys_name"), ["name"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("uq_api_keys_name"), type_="unique")
