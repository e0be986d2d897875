from django.urls import path

from aftercart.portal import views

app_name = "portal"
urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/preferences/", views.preferences, name="preferences"),
]
