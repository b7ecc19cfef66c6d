"""The ingestion pipeline, one stage per module; only pipeline.py touches the database."""
