from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "aftercart.api"
    label = "api"
