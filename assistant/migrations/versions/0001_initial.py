"""The schema as Lotse created it before it had migrations: questions, slack_events, feedback.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "questions",
        sa.Column("answer_id", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user", sa.String(64)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("query", sa.Text),
        sa.Column("language", sa.String(4)),
        sa.Column("refused", sa.Boolean, nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("citations", sa.Text),
        sa.Column("latency_ms", sa.Float),
    )
    op.create_index("ix_questions_conversation_id", "questions", ["conversation_id"])
    op.create_index("ix_questions_created_at", "questions", ["created_at"])
    op.create_table(
        "slack_events",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_slack_events_created_at", "slack_events", ["created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user", sa.String(64)),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
    )
    op.create_index("ix_feedback_answer_id", "feedback", ["answer_id"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("feedback")
    op.drop_table("slack_events")
    op.drop_table("questions")
