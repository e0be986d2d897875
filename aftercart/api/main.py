"""The REST API, version 1. Routers stay thin: parse, authorise, call a service, return."""

import json

from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from aftercart.api.auth import ShopKey
from aftercart.api.events import router as events_router
from aftercart.api.reads import router as reads_router
from aftercart.api.returns import router as returns_router
from aftercart.api.tickets import router as tickets_router


class ParseFailure(ValueError):
    pass


class JsonParser(Parser):
    def parse_body(self, request):
        try:
            return json.loads(request.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ParseFailure(f"body is not UTF-8: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ParseFailure(
                f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None


api = NinjaAPI(
    title="Aftercart API",
    version="1",
    description=(
        "Send order facts in, read orders and customers out. Authenticate with the shop's "
        "API key as `Authorization: Bearer <key>`; every call sees only that shop's data."
    ),
    urls_namespace="api-v1",
    auth=ShopKey(),
    parser=JsonParser(),
    docs_url="/docs",
)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    cause = exc.__cause__
    message = str(cause) if isinstance(cause, ParseFailure) else str(exc)
    return api.create_response(request, {"error": message}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def unauthorised(request, exc):
    return api.create_response(
        request, {"error": "missing or unknown API key (Authorization: Bearer <key>)"}, status=401
    )


@api.exception_handler(ValidationError)
def invalid(request, exc: ValidationError):
    problems = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query")]
        problems.append({"field": ".".join(loc) or "body", "problem": err.get("msg", "invalid")})
    return api.create_response(
        request,
        {"error": "the request is missing fields or has wrong ones", "problems": problems},
        status=422,
    )


api.add_router("/", events_router)
api.add_router("/", reads_router)
api.add_router("/", returns_router)
api.add_router("/", tickets_router)
