"""The review dashboard on the admin index, and feed HTML made safe to show."""

from django import template

from tracker.admin import dashboard, review

register = template.Library()


@register.simple_tag
def review_dashboard() -> dict:
    """Usage: {% review_dashboard as dashboard %} (the numbers per story)."""
    return dashboard.story_dashboard()


@register.filter
def clean_html(markup: str):
    """Sanitize feed HTML again at render time; the result may be shown as is."""
    return review.clean_html(markup)
