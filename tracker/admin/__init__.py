"""The editors' daily tool, one module per family of models. Changelists annotate
their counts so a page costs the same few queries however many rows it shows."""

from tracker.admin import ingestion, review, timeline

__all__ = ["ingestion", "review", "timeline"]
