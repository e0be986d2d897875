"""The dashboard's forms for flows: import (paste or upload), and a backtest's period."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercart.flows.transfer import MAX_BYTES

STARTER = """\
name: My new flow
trigger: order.delivered
marketing: true
holdout: 0.1
steps:
  - wait: {days: 5, at_hour: 10}
  - if: not_refunded
  - send: review_request
"""


class FlowImportForm(forms.Form):
    key = forms.SlugField(
        label=_("Key"),
        required=False,
        max_length=60,
        help_text=_(
            "A short name such as after-delivery. Empty: the file's key, or one made from "
            "the flow's name. A flow with this key gets a new version."
        ),
    )
    definition = forms.CharField(
        label=_("Definition (JSON or YAML)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "class": "code", "spellcheck": "false"}),
    )
    upload = forms.FileField(label=_("Or upload a file"), required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("upload")
        if upload is not None:
            if upload.size > MAX_BYTES:
                raise forms.ValidationError(
                    _("The file is %(kb)s KB; a flow is at most %(max)s KB.")
                    % {"kb": upload.size // 1024, "max": MAX_BYTES // 1024}
                )
            data["text"] = upload.read(MAX_BYTES + 1)
        elif (data.get("definition") or "").strip():
            data["text"] = data["definition"]
        else:
            raise forms.ValidationError(_("Paste a flow's definition or choose a file."))
        return data

    def text_format(self) -> str | None:
        """What an uploaded file's name says it is; pasted text: read from the text."""
        upload = self.cleaned_data.get("upload")
        name = (upload.name if upload else "").lower()
        if name.endswith(".json"):
            return "json"
        return "yaml" if name.endswith((".yaml", ".yml")) else None


class BacktestForm(forms.Form):
    since = forms.DateField(
        label=_("Replay the orders placed since"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_since(self) -> date:
        since = self.cleaned_data["since"]
        if since >= self.today:
            raise forms.ValidationError(_("Choose a day before today."))
        if since < self.today - timedelta(days=3 * 366):
            raise forms.ValidationError(
                _("At most three years back; the command line goes further.")
            )
        return since

    def start(self, timezone_name: str) -> datetime:
        """Midnight at the start of the chosen day, in the shop's time zone."""
        return datetime.combine(self.cleaned_data["since"], time(), ZoneInfo(timezone_name))
