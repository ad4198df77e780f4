"""The knowledge base in the workbench, mounted at /knowledge/ (see `views`)."""

from django.urls import path

from . import views

app_name = "knowledge"
urlpatterns = [
    path("", views.article_list, name="list"),
    path("new/", views.article_new, name="new"),
    path("<int:pk>/", views.article_edit, name="edit"),
    path("<int:pk>/retire/", views.article_retire, name="retire"),
    path("<int:pk>/restore/", views.article_restore, name="restore"),
    path("cases/<int:pk>/search/", views.case_search, name="case_search"),
]
