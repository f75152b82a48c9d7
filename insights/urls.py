from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/<slug:chart>.csv", views.chart_csv, name="chart_csv"),
]
