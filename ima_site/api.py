"""What every endpoint of the API shares: how bodies are read, how errors look."""

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.validators import RegexValidator
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser

JSON_TYPE_NAMES = {
    list: gettext_lazy("an array"),
    str: gettext_lazy("a string"),
    int: gettext_lazy("a number"),
    float: gettext_lazy("a number"),
    bool: gettext_lazy("a boolean"),
    type(None): "null",  # JSON's own word, the same in every language
}


def lone_surrogate_in(data) -> str | None:
    """The first string (key or value) in parsed JSON that is not valid Unicode."""
    # Iterative: a body nested almost to the recursion limit parses, and walking it
    # again recursively would then fail.
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
    return None


class JSONObjectParser(JSONParser):
    """JSON bodies, which must be objects; anything else is a 400 naming the problem.

    Python's json module reads an escaped lone surrogate ("\\ud800") as a string that
    cannot be encoded, stored, or even shown on the debug page, and raises
    RecursionError (not ValueError, which DRF catches) on deeply nested input.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                _("JSON parse error: the body is nested too deeply.")
            ) from None
        if not isinstance(data, dict):
            raise ParseError(
                _("The request body must be a JSON object, not %(kind)s.")
                % {"kind": JSON_TYPE_NAMES.get(type(data), type(data).__name__)}
            )
        if lone_surrogate_in(data) is not None:
            raise ParseError(
                _(
                    "The body holds an escaped lone surrogate (such as \\ud800), "
                    "which is not a character: send text as valid UTF-8."
                )
            )
        return data


class PatternValidator(RegexValidator):
    """A regex as JSON Schema reads a pattern: a final $ is the very end of the
    string (Python's $ also lets a trailing newline through). drf-spectacular puts
    the pattern in the schema as written."""

    def __init__(self, pattern: str, message):
        super().__init__(pattern, message=message)
        self.python_regex = re.compile(re.sub(r"\$$", r"\\Z", pattern))

    def __call__(self, value):
        if not isinstance(value, str) or not self.python_regex.search(value):
            raise serializers.ValidationError(self.message, code=self.code)


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField also takes numbers."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, as JSON says: DRF's BooleanField also takes "yes", 1, "on"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class Pagination(PageNumberPagination):
    """Pages numbered 1, 2, 3…; anything else (" 2", "2.0", "last", "") is a 404."""

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if not (raw.isascii() and raw.isdigit() and raw[0] != "0" and len(raw) < 10):
            raise NotFound(_("Invalid page."))
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


# The shape of every 4xx body: {"detail": "..."} for the request as a whole, or
# {"field": ["message", ...]} for named fields.
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ERROR_SCHEMA, description=description)


BAD_REQUEST = error("A field, a parameter or the body is wrong; the answer names it.")
UNAUTHORIZED = error(
    "The token is missing, wrong or expired, or its user is no longer an organizer."
)
FORBIDDEN = error("The user may not do this.")
NOT_FOUND = error("No such statement, or no such page.")
UNSUPPORTED = error("The body is not JSON (Content-Type: application/json).")


def bad_request(request, exception):
    """400 for what Django refuses before any view (a body above
    DATA_UPLOAD_MAX_MEMORY_SIZE, say): JSON naming it under /api/, the site's page
    elsewhere."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        detail = _("The request body is too large: the API takes at most %(size)s.") % {
            "size": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        }
    else:
        detail = _("The request could not be read.")
    return JsonResponse({"detail": detail}, status=400)


def not_found(request, exception):
    """404: JSON under /api/ (clients read it), the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)
