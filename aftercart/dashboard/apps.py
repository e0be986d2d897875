from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "aftercart.dashboard"
    label = "dashboard"
