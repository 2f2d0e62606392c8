"""Domain logic: plain functions over a SQLAlchemy session that raise domain errors."""
