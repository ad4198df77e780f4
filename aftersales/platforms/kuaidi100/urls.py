from django.urls import path

from . import views

app_name = "kuaidi100"
urlpatterns = [path("<int:shop_id>/", views.push, name="push")]
