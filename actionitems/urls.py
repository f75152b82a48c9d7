from django.urls import path

from . import views

app_name = "actionitems"

urlpatterns = [
    path("", views.action_item_list, name="list"),
    path("<int:pk>/", views.action_item_detail, name="detail"),
    path("email/", views.preferences, name="preferences"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("email/act/<str:token>/", views.email_action, name="email_action"),
    path("teams/<slug:slug>/email/", views.team_settings, name="team_settings"),
]
