"""The dashboard's filter and confirmation forms: they parse query strings and posts."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercart.orders.models import Order

ANY = [("", _("Any"))]
YES_NO = [*ANY, ("yes", _("Yes")), ("no", _("No"))]


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Number, email or name")}),
    )
    financial = forms.ChoiceField(
        label=_("Payment"), required=False, choices=ANY + list(Order.Financial.choices)
    )
    fulfilment = forms.ChoiceField(
        label=_("Shipping"), required=False, choices=ANY + list(Order.Fulfilment.choices)
    )
    cancelled = forms.ChoiceField(label=_("Cancelled"), required=False, choices=YES_NO)
    placed_from = forms.DateField(
        label=_("Placed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = forms.DateField(
        label=_("Placed until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def query(self, timezone_name: str) -> dict:
        """Keyword arguments for orders.queries.find_orders; invalid fields are left out."""
        data = self.cleaned_data if self.is_valid() else getattr(self, "cleaned_data", {})
        tz = ZoneInfo(timezone_name)
        placed_to = data.get("placed_to")
        return {
            "search": data.get("q") or "",
            "financial_status": data.get("financial") or "",
            "fulfilment_status": data.get("fulfilment") or "",
            "cancelled": _yes_no(data.get("cancelled")),
            "placed_from": _start_of(data.get("placed_from"), tz),
            # "until" includes the whole day named, in the shop's time zone.
            "placed_to": _start_of(placed_to + timedelta(days=1), tz) if placed_to else None,
        }


class CustomerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Email or name")}),
    )
    marketing = forms.ChoiceField(label=_("Accepts marketing"), required=False, choices=YES_NO)

    def query(self) -> dict:
        data = self.cleaned_data if self.is_valid() else getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q") or "",
            "accepts_marketing": _yes_no(data.get("marketing")),
        }


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that this removes the customer's personal data for good."),
        required=True,
    )


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _start_of(day: date | None, tz: ZoneInfo) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=tz) if day else None
