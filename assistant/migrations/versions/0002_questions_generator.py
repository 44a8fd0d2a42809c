"""questions.generator: which generator wrote the answer (extractive, openai, …); NULL for older rows.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable column (code without it still writes rows)."""
    op.add_column("questions", sa.Column("generator", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop the column again."""
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("generator")
