"""A shop's stored return policy (ReturnPolicy), read into policy.Policy and checked on save.

Reasons and exclusions are JSON a merchant edits as a whole; a label is either one text
or one per language ({"en": "Too small", "nl": "Te klein"}), read in the active language.
An empty list of reasons means the default reasons, translated by us.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import translation

from aftercart.core.models import Shop
from aftercart.returns.models import ReturnPolicy
from aftercart.returns.policy import DEFAULT_REASONS, Exclusion, Policy, Reason, Resolution

REASON_KEYS = {
    "code",
    "label",
    "needs_photo",
    "needs_comment",
    "resolutions",
    "customer_pays_shipping",
}
EXCLUSION_KEYS = {"label", "products", "categories", "tags"}


# What a policy is written as: plain fields, and the two lists (JSON in the dashboard).
FIELDS = (
    "window_days",
    "restocking_fee_percent",
    "store_credit_bonus_percent",
    "return_shipping_fee",
    "review_after",
    "return_address",
    "instructions",
)
LISTS = ("reasons", "exclusions")


class PolicyProblem(ValueError):
    """A policy that cannot be saved; the message says which field and why."""


def stored_policy(shop: Shop) -> ReturnPolicy:
    """The shop's row, or the defaults (not saved) when the merchant never set one."""
    try:
        return shop.return_policy
    except ReturnPolicy.DoesNotExist:
        return ReturnPolicy(shop=shop)


def policy_for(shop: Shop) -> Policy:
    """The shop's policy with labels in the active language."""
    row = stored_policy(shop)
    reasons = tuple(_reason(r) for r in row.reasons) if row.reasons else DEFAULT_REASONS
    return Policy(
        window_days=row.window_days,
        reasons=reasons,
        exclusions=tuple(_exclusion(e) for e in row.exclusions),
        restocking_fee_percent=Decimal(row.restocking_fee_percent),
        store_credit_bonus_percent=Decimal(row.store_credit_bonus_percent),
        return_shipping_fee=Decimal(row.return_shipping_fee),
        review_after=row.review_after,
    )


def reason_labels(shop: Shop) -> dict[str, str]:
    """Each reason's words, by its code, in the active language (a page or an email reads
    them in its own, whatever language she asked in)."""
    return {reason.code: str(reason.label) for reason in policy_for(shop).reasons}


def reason_label(shop: Shop, code: str, kept: str = "") -> str:
    """One reason's words; the words she read when she asked, for a reason the policy no
    longer has."""
    return reason_labels(shop).get(code) or kept or code


def label(value: str | dict) -> str:
    """A merchant's text in the active language, else English, else any."""
    if isinstance(value, str):
        return value
    language = (translation.get_language() or "en").split("-")[0]
    return value.get(language) or value.get("en") or next(iter(value.values()), "")


def _reason(raw: dict) -> Reason:
    return Reason(
        code=raw["code"],
        label=label(raw["label"]),
        needs_photo=raw.get("needs_photo", False),
        needs_comment=raw.get("needs_comment", False),
        resolutions=tuple(Resolution(r) for r in raw.get("resolutions", list(Resolution))),
        customer_pays_shipping=raw.get("customer_pays_shipping", True),
    )


def _exclusion(raw: dict) -> Exclusion:
    return Exclusion(
        label=label(raw["label"]),
        products=frozenset(raw.get("products", ())),
        categories=frozenset(raw.get("categories", ())),
        tags=frozenset(raw.get("tags", ())),
    )


@transaction.atomic
def save_policy(shop: Shop, data: dict[str, Any]) -> ReturnPolicy:
    """Check everything first, then save: a policy with one bad field changes nothing."""
    row = stored_policy(shop)
    unknown = sorted(set(data) - set(FIELDS) - set(LISTS))
    if unknown:
        raise PolicyProblem(f"{unknown[0]}: not a field of the return policy")
    if "window_days" in data:
        row.window_days = _whole(data["window_days"], "window_days", 0, 3650)
    if "review_after" in data:
        value = data["review_after"]
        row.review_after = None if value in (None, "") else _whole(value, "review_after", 0, 1000)
    for name in ("restocking_fee_percent", "store_credit_bonus_percent"):
        if name in data:
            setattr(row, name, _decimal(data[name], name, Decimal(100)))
    if "return_shipping_fee" in data:
        row.return_shipping_fee = _decimal(data["return_shipping_fee"], "return_shipping_fee")
    if "reasons" in data:
        row.reasons = _checked_reasons(data["reasons"])
    if "exclusions" in data:
        row.exclusions = _checked_exclusions(data["exclusions"])
    for name in ("return_address", "instructions"):
        if name in data:
            if not isinstance(data[name], str) or len(data[name]) > 2000:
                raise PolicyProblem(f"{name}: text of at most 2,000 characters")
            setattr(row, name, data[name].strip())
    row.save()
    return row


def _whole(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise PolicyProblem(f"{name}: {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise PolicyProblem(f"{name}: between {low} and {high}")
    return number


def _decimal(value: Any, name: str, high: Decimal | None = None) -> Decimal:
    if value is None or str(value).strip() == "":
        return Decimal("0.00")  # a field left empty: none
    text = str(value).strip().replace("%", "").replace("€", "").strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # "4,95": the Dutch way of writing it
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PolicyProblem(f"{name}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or (high is not None and number > high):
        limit = f" and at most {high}" if high is not None else ""
        raise PolicyProblem(f"{name}: zero or more{limit}")
    return number.quantize(Decimal("0.01"))


def _checked_label(value: Any, where: str) -> str | dict:
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items())
    ):
        return {k: v.strip()[:200] for k, v in value.items()}
    raise PolicyProblem(f'{where}.label: a text, or texts per language {{"en": …, "nl": …}}')


def _checked_reasons(raw: Any) -> list[dict]:
    if not isinstance(raw, list):
        raise PolicyProblem("reasons: a list")
    reasons, codes = [], set()
    for i, item in enumerate(raw):
        where = f"reasons[{i}]"
        if not isinstance(item, dict):
            raise PolicyProblem(f"{where}: an object with code and label")
        extra = sorted(set(item) - REASON_KEYS)
        if extra:
            raise PolicyProblem(f"{where}.{extra[0]}: not a field of a reason")
        code = item.get("code")
        if not isinstance(code, str) or not code.strip() or len(code) > 40:
            raise PolicyProblem(f"{where}.code: a short name such as too_small")
        if code in codes:
            raise PolicyProblem(f"{where}.code: {code!r} is used twice")
        codes.add(code)
        resolutions = item.get("resolutions", [r.value for r in Resolution])
        if (
            not isinstance(resolutions, list)
            or not resolutions
            or any(r not in {x.value for x in Resolution} for r in resolutions)
        ):
            offer = ", ".join(r.value for r in Resolution)
            raise PolicyProblem(f"{where}.resolutions: a list of one or more of {offer}")
        reason = {"code": code.strip(), "label": _checked_label(item.get("label"), where)}
        for flag in ("needs_photo", "needs_comment", "customer_pays_shipping"):
            if flag in item:
                if not isinstance(item[flag], bool):
                    raise PolicyProblem(f"{where}.{flag}: true or false")
                reason[flag] = item[flag]
        reason["resolutions"] = list(dict.fromkeys(resolutions))
        reasons.append(reason)
    return reasons


def _checked_exclusions(raw: Any) -> list[dict]:
    if not isinstance(raw, list):
        raise PolicyProblem("exclusions: a list")
    exclusions = []
    for i, item in enumerate(raw):
        where = f"exclusions[{i}]"
        if not isinstance(item, dict):
            raise PolicyProblem(f"{where}: an object with a label and products, categories or tags")
        extra = sorted(set(item) - EXCLUSION_KEYS)
        if extra:
            raise PolicyProblem(f"{where}.{extra[0]}: not a field of an exclusion")
        exclusion: dict[str, Any] = {"label": _checked_label(item.get("label"), where)}
        for name in ("products", "categories", "tags"):
            values = item.get(name, [])
            if not isinstance(values, list) or any(
                not isinstance(v, str) or not v.strip() for v in values
            ):
                raise PolicyProblem(f"{where}.{name}: a list of texts")
            exclusion[name] = [v.strip() for v in values]
        if not any(exclusion[n] for n in ("products", "categories", "tags")):
            raise PolicyProblem(f"{where}: name at least one product, category or tag")
        exclusions.append(exclusion)
    return exclusions
