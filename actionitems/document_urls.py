"""Routes under an incident's document (postmortems.urls includes them in its namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/status/", views.action_item_status, name="action_item_status"),
]
