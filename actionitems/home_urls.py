"""Top-level routes of this app, outside its /action-items/ namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("my-work/", views.my_work, name="my_work"),
]
