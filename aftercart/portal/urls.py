from django.urls import path

from aftercart.portal import views

app_name = "portal"
urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/preferences/", views.preferences, name="preferences"),
    path("o/<str:token>/", views.order_status, name="order_status"),
    path("status/<slug:shop_slug>/", views.find_order, name="find_order"),
]
