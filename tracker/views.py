from django.views.generic import DetailView, ListView

from tracker.models import Event, Story


class StoryListView(ListView):
    model = Story

    def get_queryset(self):
        return Story.objects.public()


class StoryTimelineView(DetailView):
    model = Story

    def get_queryset(self):
        return Story.objects.public()


class EventDetailView(DetailView):
    model = Event

    def get_queryset(self):
        return Event.objects.published().filter(story__slug=self.kwargs["story_slug"])
