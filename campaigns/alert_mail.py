"""One rendered alert email, as SMTP bytes or as a Django message, and sending it.

The bulk sender writes the MIME bytes itself (AlertEmail.as_bytes): the headers
and parts Django's message has, for a fraction of the cost of the email package's
header objects, which were most of an email's time. Previews, tests and backends
other than SMTP get Django's message (AlertEmail.as_django).
"""

from __future__ import annotations

import binascii
import email.message
import email.policy
import functools
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils import timezone

# The email package's SMTP policy: how Django serialises a message for SMTP.
SMTP_POLICY = email.policy.SMTP


class _DjangoAlertMessage(EmailMultiAlternatives):
    """Django's message with lines up to the 998 characters a line may have: the
    default 78 would fold List-Unsubscribe's long <URL> into encoded words, which
    RFC 2369 does not allow and mail programs do not read back."""

    def message(self, *, policy=email.policy.default):
        return super().message(policy=policy.clone(max_line_length=998))


@dataclass(frozen=True)
class AlertEmail:
    """One contact's alert, rendered; sent as SMTP bytes or as a Django message."""

    to: str
    subject: str
    text: str
    html: str
    ics: str
    headers: dict[str, str] = field(default_factory=dict)

    def as_django(self) -> EmailMultiAlternatives:
        """The email as Django's message: for previews, tests and other backends."""
        message = _DjangoAlertMessage(
            subject=self.subject,
            body=self.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[self.to],
            headers=dict(self.headers),
            reply_to=[settings.ALERT_REPLY_TO] if settings.ALERT_REPLY_TO else None,
        )
        message.attach_alternative(self.html, "text/html")
        part = email.message.MIMEPart()
        part.set_content(
            self.ics,
            subtype="calendar",
            charset="utf-8",
            disposition="attachment",
            filename="action.ics",
            params={"method": "PUBLISH"},
        )
        message.attach(part)
        return message

    def as_bytes(self) -> bytes:
        """The email as an SMTP server receives it from Django, written directly.

        The headers Django's message has, folded by the same policy (except
        List-Unsubscribe, below); text and HTML as alternatives, then the .ics.
        """
        text = _text_part(b'text/plain; charset="utf-8"', self.text)
        html = _text_part(b'text/html; charset="utf-8"', self.html)
        ics = _text_part(
            b'text/calendar; charset="utf-8"; method="PUBLISH"',
            self.ics,
            disposition=b'attachment; filename="action.ics"',
        )
        outer, inner = _boundary(), _boundary()
        while any(b in part for part in (text, html, ics) for b in (outer, inner)):
            outer, inner = _boundary(), _boundary()
        lines = [
            b"MIME-Version: 1.0\r\n",
            b'Content-Type: multipart/mixed; boundary="' + outer + b'"\r\n',
            _folded("Subject", self.subject),
            _sender_header("From", settings.DEFAULT_FROM_EMAIL),
            _address_header("To", self.to),
        ]
        if settings.ALERT_REPLY_TO:
            lines.append(_sender_header("Reply-To", settings.ALERT_REPLY_TO))
        lines.append(b"Date: " + _date().encode() + b"\r\n")
        for name, value in self.headers.items():
            # List-Unsubscribe up to the 998 characters a line may have: the
            # policy would fold its long <URL> into encoded words, which RFC 2369
            # does not allow there and mail programs do not read back.
            limit = 998 if name == "List-Unsubscribe" else 78
            lines.append(_header(name, value, limit=limit))
        lines += [
            b"\r\n--", outer, b"\r\n",
            b'Content-Type: multipart/alternative; boundary="', inner, b'"\r\n\r\n',
            b"--", inner, b"\r\n", text, b"\r\n--", inner, b"\r\n", html,
            b"\r\n--", inner, b"--\r\n",
            b"\r\n--", outer, b"\r\n", ics, b"\r\n--", outer, b"--\r\n",
        ]  # fmt: skip
        return b"".join(lines)


def _boundary() -> bytes:
    # "=_" cannot occur in quoted-printable text; the 7bit parts are checked.
    return b"=_alert_" + secrets.token_hex(16).encode()


def _text_part(content_type: bytes, text: str, *, disposition: bytes = b"") -> bytes:
    # As the email package encodes text: 7bit when it is ASCII in short lines,
    # else quoted-printable; the content always ends with a line break.
    data = text.replace("\r\n", "\n").encode()
    if not data.endswith(b"\n"):
        data += b"\n"
    if data.isascii() and max(map(len, data.split(b"\n"))) <= 78:
        encoding = b"7bit"
    else:
        encoding = b"quoted-printable"
        data = binascii.b2a_qp(data, istext=True)
    headers = b"Content-Type: " + content_type + b"\r\n"
    if disposition:
        headers += b"Content-Disposition: " + disposition + b"\r\n"
    headers += b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n"
    return headers + data.replace(b"\n", b"\r\n")


@functools.lru_cache(maxsize=64)
def _folded(name: str, value: str) -> bytes:
    """The header as Django's message serialises it for SMTP, made once: the
    subjects repeat in every email."""
    return SMTP_POLICY.fold_binary(*SMTP_POLICY.header_store_parse(name, value))


def _django_header(name: str, address: str) -> bytes:
    # Through Django's own message, which encodes an internationalised domain.
    message = EmailMessage(
        from_email=address, to=[address], reply_to=[address]
    ).message(policy=SMTP_POLICY)
    return SMTP_POLICY.fold_binary(name, message[name])


# The site's own addresses: the same in every email.
_sender_header = functools.lru_cache(maxsize=8)(_django_header)

# An address Django passes through as it is.
_SIMPLE_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)
# A value the policy writes as it is on one line: printable ASCII words.
_PLAIN_VALUE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")


def _address_header(name: str, address: str) -> bytes:
    if _SIMPLE_ADDRESS.fullmatch(address) and len(name) + 2 + len(address) <= 78:
        return f"{name}: {address}\r\n".encode()
    return _django_header(name, address)


def _header(name: str, value: str, *, limit: int = 78) -> bytes:
    if (
        _PLAIN_VALUE.fullmatch(value)
        and "=?" not in value
        and len(name) + 2 + len(value) <= limit
    ):
        return f"{name}: {value}\r\n".encode()
    return SMTP_POLICY.fold_binary(*SMTP_POLICY.header_store_parse(name, value))


def _date() -> str:
    zone = timezone.get_current_timezone() if settings.EMAIL_USE_LOCALTIME else UTC
    return format_datetime(datetime.now(zone).replace(microsecond=0))


def envelope_address(address: str, backend: SMTPBackend) -> str:
    """The address for MAIL FROM / RCPT TO, as Django's SMTP backend makes it."""
    if _SIMPLE_ADDRESS.fullmatch(address):
        return address
    return backend.prep_address(address)


@functools.lru_cache(maxsize=8)
def _envelope_sender(address: str) -> str:
    # Making the backend opens no connection.
    return SMTPBackend(fail_silently=True).prep_address(address)


def send_alert_email(backend, alert_email: AlertEmail) -> None:
    """Send through `backend`: over its open connection as bytes for Django's SMTP
    backend, as Django's message for any other (files, console, tests' memory)."""
    if isinstance(backend, SMTPBackend) and backend.connection is not None:
        backend.connection.sendmail(
            _envelope_sender(settings.DEFAULT_FROM_EMAIL),
            [envelope_address(alert_email.to, backend)],
            alert_email.as_bytes(),
        )
    else:
        backend.send_messages([alert_email.as_django()])
