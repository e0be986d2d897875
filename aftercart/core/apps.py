from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "aftercart.core"
    label = "core"
    verbose_name = "Aftercart core"
