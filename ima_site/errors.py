"""Error reports without signers' personal data.

An error report mailed to DJANGO_ADMINS travels through mail servers and sits in
inboxes for years; a signer's email or IP address in it ties that person to a
political statement. So, whatever raised:

- the filter blanks the request's address headers, every posted value, every query
  string value and every frame's local variables (a SignerData or a form holds a
  name, and no pattern can tell a name from other text);
- the reporter replaces anything that looks like an email or an IP address in the
  finished report (exception messages, SQL, URLs) and any text that is not valid
  Unicode (a lone surrogate would make the debug page itself fail);
- the mail handler does the same to the subject and the log message.
"""

import ipaddress
import logging
import re

from django.conf import settings
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# An address as it can appear in a report: in a repr, URL-encoded or HTML-escaped,
# with a quoted local part ("ana"@…), and with look-alike or invisible characters
# (a soft hyphen, a zero-width space, a full-width letter or dot) that an address
# field may have let through. So every character but a separator is taken as part
# of it: removing a little too much from a report costs nothing.
_QUOTE = r"(?:\\?\"|&quot;|&#x0*22;|&#0*34;)"
_QUOTED_LOCAL = rf"{_QUOTE}(?:(?!{_QUOTE})[^\r\n<>]){{1,64}}?{_QUOTE}"
_ENTITY = r"&(?:[a-z]+|#x?[0-9a-f]+);"
_AT = r"(?:@|%40|&#0*64;|&#x0*40;|\uff20|\ufe6b)"
# Bounded repeats (an address's local part has at most 64 characters, its domain
# 255): unbounded ones would rescan a long run without "@" from every position, and
# a long header in a report would then hold the process for seconds.
EMAIL = re.compile(
    rf"(?:{_QUOTED_LOCAL}|{_ENTITY}|\\.|[^\s<>()\[\],;:=@\"\\]){{1,64}}"
    rf"{_AT}(?:{_ENTITY}|[^\s<>()\",;=@\\]){{1,255}}",
    re.IGNORECASE,
)
# Candidates only: ipaddress decides, so times (17:19:20) and versions stay.
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.I)
# Request headers that carry the client's address (directly or through proxies),
# and those that carry the query string (gunicorn's RAW_URI, uWSGI's REQUEST_URI).
ADDRESS_HEADER = re.compile(r"ADDR|FORWARDED|CLIENT_IP|REAL_IP|REMOTE_HOST", re.I)
QUERY_HEADER = re.compile(r"QUERY_STRING|RAW_URI|REQUEST_URI", re.I)

EMAIL_SUBSTITUTE = "[email removed]"
IP_SUBSTITUTE = "[IP address removed]"


def _ip_or_same(match: re.Match) -> str:
    text = match.group(0)
    if ":" in text and sum(1 for group in text.split(":") if group) < 2:
        # "::", "::2": slicing in a source line, or the loopback; nobody's address.
        return text
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return text
    return IP_SUBSTITUTE


def scrub(text: str) -> str:
    """text without emails, IP addresses or lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = EMAIL.sub(EMAIL_SUBSTITUTE, text)
    text = IPV4.sub(_ip_or_same, text)
    return IPV6.sub(_ip_or_same, text)


class PrivateExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: no client address or query string in META, no posted
    values and no local variables at all."""

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {
            key: self.cleansed_substitute
            if ADDRESS_HEADER.search(key) or QUERY_HEADER.search(key)
            else value
            for key, value in meta.items()
        }

    def get_post_parameters(self, request):
        # Everything posted here is a signer's or an organizer's input; blanked
        # whatever DEBUG says, like the local variables below (a debug page on a
        # staging copy of the site shows real signers too).
        if request is None:
            return super().get_post_parameters(request)
        cleansed = request.POST.copy()
        for key in cleansed:
            cleansed.setlist(key, [self.cleansed_substitute])
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        # Every frame, whatever DEBUG says: a signer's name in a SignerData, a form
        # or a string is personal data that no scrubbing pattern recognizes. The
        # names stay, to show what the frame held.
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]


class PrivateExceptionReporter(ExceptionReporter):
    """Django's report (the debug page and the mails), scrubbed as a whole."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None:
            # A query string can hold a name too (a search for a signer).
            blank = self.filter.cleansed_substitute
            data["request_GET_items"] = [(key, blank) for key in self.request.GET]
            data["request_insecure_uri"] = data["request_insecure_uri"].split("?")[0]
        return data

    def get_traceback_html(self):
        return scrub(super().get_traceback_html())

    def get_traceback_text(self):
        return scrub(super().get_traceback_text())


class PrivateAdminEmailHandler(AdminEmailHandler):
    """Mails errors to DJANGO_ADMINS with the subject and message scrubbed too."""

    def emit(self, record: logging.LogRecord) -> None:
        if not settings.ADMINS:
            return
        super().emit(record)

    def send_mail(self, subject, message, *args, **kwargs):
        if kwargs.get("html_message"):
            kwargs["html_message"] = scrub(kwargs["html_message"])
        super().send_mail(scrub(subject), scrub(message), *args, **kwargs)
