"""The email that carries a sign-on letter to one target, and sending it so that
the mail server's answer can be recorded; the download link that stands in for a
letter too large to attach."""

from __future__ import annotations

import contextlib
import email.policy
import smtplib
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .models import (
    Letter,
    LetterCompilation,
    LetterCover,
    LetterTarget,
)

DOWNLOAD_SALT = "campaigns.letter-download"


class LetterError(ValueError):
    """What the organizer asked for cannot be done; the message says why."""


def original_language(letter: Letter) -> str:
    version = letter.statement.original_version()
    return version.language if version else ""


def cover_for(letter: Letter, language: str) -> LetterCover:
    """The cover in that language, else the original's."""
    covers = {cover.language: cover for cover in letter.covers.all()}
    original = original_language(letter)
    cover = covers.get(language or original) or covers.get(original)
    if cover is None:
        raise LetterError(
            _("The letter has no cover text in its original language (%(language)s).")
            % {"language": original or "?"}
        )
    return cover


def site_domain() -> str:
    """The domain of the site's sender address, else of SITE_URL."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    domain = address.rpartition("@")[2]
    return domain or urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id(letter_id: int, target_id: int) -> str:
    """The same for every attempt: a receiving server that got one already can
    recognise a second copy."""
    return f"<letter-{letter_id}-target-{target_id}@{site_domain()}>"


def download_token(compilation: LetterCompilation) -> str:
    """A signed value naming the compilation: unguessable without SECRET_KEY."""
    return signing.dumps(compilation.pk, salt=DOWNLOAD_SALT)


def compilation_for_token(token: str) -> LetterCompilation | None:
    """The compilation a download link names, while its file is kept."""
    try:
        pk = signing.loads(token, salt=DOWNLOAD_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(pk, int):
        return None
    return LetterCompilation.objects.filter(pk=pk, erased_at__isnull=True).first()


def download_url(compilation: LetterCompilation) -> str:
    path = reverse("campaigns:letter_download", args=[download_token(compilation)])
    return settings.SITE_URL.rstrip("/") + path


def build_email(
    *,
    letter: Letter,
    target: LetterTarget,
    compilation: LetterCompilation,
    message_id: str = "",
) -> EmailMultiAlternatives:
    """The email to one target: the cover in its language (else the original's),
    the PDF attached, or above LETTER_ATTACHMENT_LIMIT a link to download it."""
    cover = cover_for(letter, target.language)
    attach = compilation.size <= settings.LETTER_ATTACHMENT_LIMIT
    context = {
        "language": cover.language,
        "cover_text": cover.text,
        "signatures": compilation.signatures,
        "download_url": "" if attach else download_url(compilation),
        "size": filesizeformat(compilation.size),
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
    }
    with translation.override(cover.language):
        text = render_to_string("emails/letter_delivery.txt", context)
        html = render_to_string("emails/letter_delivery.html", context)
    headers = {"Message-ID": message_id} if message_id else {}
    message = EmailMultiAlternatives(
        subject=cover.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[target.email],
        headers=headers,
        reply_to=[settings.ALERT_REPLY_TO] if settings.ALERT_REPLY_TO else None,
    )
    message.attach_alternative(html, "text/html")
    if attach:
        with compilation.pdf.open("rb") as handle:
            message.attach(
                f"letter-{letter.statement.slug}.pdf", handle.read(), "application/pdf"
            )
    return message


def send_recording_answer(backend, message: EmailMultiAlternatives) -> str:
    """Send through `backend`; the SMTP server's answer to DATA ("250 2.0.0 Ok:
    queued as …") over Django's SMTP connection, "" with any other backend."""
    if not isinstance(backend, SMTPBackend):
        backend.send_messages([message])
        return ""
    if backend.connection is None:
        backend.open()
    smtp = backend.connection
    if smtp is None:
        raise smtplib.SMTPServerDisconnected("No connection to the mail server.")
    sender = backend.prep_address(message.from_email)
    recipients = [backend.prep_address(address) for address in message.recipients()]
    data = message.message(policy=email.policy.SMTP).as_bytes()
    smtp.ehlo_or_helo_if_needed()
    # smtplib's sendmail() keeps the answer to DATA to itself: the same steps,
    # one by one, so that the answer can be recorded.
    try:
        code, text = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, sender)
        for recipient in recipients:
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({recipient: (code, text)})
        code, text = smtp.data(data)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
        # The next message starts a fresh transaction on the same connection.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.rset()
        raise
    return f"{code} {text.decode('utf-8', 'replace')}"


def close_quietly(backend) -> None:
    # A connection that died mid-conversation closes as well as it can.
    with contextlib.suppress(Exception):
        backend.close()
