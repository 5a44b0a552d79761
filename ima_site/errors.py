"""Error reports without signers' personal data.

An error report mailed to DJANGO_ADMINS travels through mail servers and sits in
inboxes for years; a signer's email or IP address in it ties that person to a
political statement. So, whatever raised:

- the filter blanks the request's address headers and every posted value;
- the reporter replaces anything that looks like an email or an IP address in the
  finished report (exception messages, SQL, local variables, URLs) and any text that
  is not valid Unicode (a lone surrogate would make the debug page itself fail);
- the mail handler does the same to the subject and the log message.
"""

import ipaddress
import logging
import re

from django.conf import settings
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

EMAIL = re.compile(
    r"[\w.!#$%&*+/=?^`{|}~-]+(?:@|%40|&#0*64;|&#x0*40;)[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
# Candidates only: ipaddress decides, so times (17:19:20) and versions stay.
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.I)
# Request headers that carry the client's address (directly or through proxies).
ADDRESS_HEADER = re.compile(r"ADDR|FORWARDED|CLIENT_IP|REAL_IP|REMOTE_HOST", re.I)

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
    """Django's filter, plus: no client address in META, no posted values at all."""

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {
            key: self.cleansed_substitute if ADDRESS_HEADER.search(key) else value
            for key, value in meta.items()
        }

    def get_post_parameters(self, request):
        # Everything posted here is a signer's or an organizer's input.
        if request is None or not self.is_active(request):
            return super().get_post_parameters(request)
        cleansed = request.POST.copy()
        for key in cleansed:
            cleansed.setlist(key, [self.cleansed_substitute])
        return cleansed


class PrivateExceptionReporter(ExceptionReporter):
    """Django's report (the debug page and the mails), scrubbed as a whole."""

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
