from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "aftercart.portal"
    label = "portal"
