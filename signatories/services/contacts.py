"""Contacts of registry organizations: the people who receive action alerts.

A contact is identified within its organization by a keyed hash of its canonical
email (purpose "contact-email", so it never matches a signer's hash); the address
itself is kept encrypted. Saving a contact again updates it and never touches
`unsubscribed_at`: an import or an edit cannot resubscribe anyone.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ima_site.crypto import decrypt, encrypt, keyed_hash
from ima_site.languages import is_known_language
from signatories.canonical import address_problem, canonical_email, mailer_address
from signatories.models import Contact, Organization

HASH_PURPOSE = "contact-email"
# ISO 639-1 has "tl" (Tagalog); Filipino is "fil". People write either for the
# same language, and the site's content uses "fil".
LANGUAGE_ALIASES = {"tl": "fil"}
# How long a new address waits for its confirmation link; retention then forgets it.
PENDING_EMAIL_LIFETIME = timedelta(days=3)
NAME_MAX_LENGTH = 200


def contact_language(code: str) -> str:
    """The language code a contact is stored with ("tl" and "fil" are one);
    raises ValidationError for a code that is not a language."""
    code = (code or "").strip().lower().replace("_", "-")
    if not code:
        return "en"
    code = LANGUAGE_ALIASES.get(code, code)
    if not is_known_language(code):
        raise ValidationError(
            {
                "language": _("%(code)r is not an ISO 639-1 language code.")
                % {"code": code}
            }
        )
    return code


def contact_address(email: str) -> str:
    """The address as the mailer sends to it; raises ValidationError if unusable."""
    email = (email or "").strip()
    if not email:
        raise ValidationError({"email": _("An email address is required.")})
    address = mailer_address(email)
    if address_problem(email) or len(address) > 254:
        raise ValidationError(
            {"email": _("%(email)r is not an email address.") % {"email": email}}
        )
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(
            {"email": _("%(email)r is not an email address.") % {"email": email}}
        ) from None
    return address


def contact_email_hash(email: str) -> str:
    """The keyed hash a contact is found by (of the canonical address)."""
    return keyed_hash(HASH_PURPOSE, canonical_email(email))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": _("The name is longer than %(max)d characters.")
             % {"max": NAME_MAX_LENGTH}}
        )  # fmt: skip
    return name


def save_contact(
    *, organization: Organization, name: str, email: str, language: str
) -> tuple[Contact, str]:
    """Add the contact to the organization, or update the one with that email.

    Returns the contact and what happened: "created", "updated" or "unchanged".
    Idempotent: the same values again change nothing.
    An empty name keeps the name already known. Never touches unsubscribed_at.
    Raises ValidationError naming the field for a bad email, name or language.
    """
    address = contact_address(email)
    language = contact_language(language)
    name = _clean_name(name)
    email_hash = contact_email_hash(address)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                contact = (
                    Contact.objects.select_for_update()
                    .filter(organization=organization, email_hash=email_hash)
                    .first()
                )
                if contact is None:
                    contact = Contact.objects.create(
                        organization=organization,
                        name=name,
                        email_hash=email_hash,
                        email_encrypted=encrypt(address),
                        language=language,
                    )
                    return contact, "created"
                changed = _update(contact, name=name or contact.name,
                                  address=address, language=language)  # fmt: skip
                return contact, "updated" if changed else "unchanged"
        except IntegrityError:
            # Another import added the same address meanwhile: update that one.
            continue
    raise IntegrityError("contact saved concurrently twice")  # pragma: no cover


def update_contact(
    *, contact: Contact, name: str, email: str | None, language: str
) -> Contact:
    """Change a contact's details; an empty email keeps the address it has.

    A new address must not be another contact's of the same organization.
    Never touches unsubscribed_at.
    """
    language = contact_language(language)
    name = _clean_name(name)
    address = contact_address(email) if email else None
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if address is not None:
            email_hash = contact_email_hash(address)
            taken = (
                Contact.objects.filter(
                    organization_id=contact.organization_id, email_hash=email_hash
                )
                .exclude(pk=contact.pk)
                .exists()
            )
            if taken:
                raise ValidationError(
                    {"email": _("Another contact of this organization has that email.")}
                )
            contact.email_hash = email_hash
        _update(contact, name=name, address=address, language=language)
    return contact


def _update(contact: Contact, *, name: str, address: str | None, language: str) -> bool:
    changed = []
    if contact.name != name:
        contact.name = name
        changed.append("name")
    if contact.language != language:
        contact.language = language
        changed.append("language")
    # The same canonical address may be typed another way (capitals): keep the
    # spelling last given, which is the one the mail goes to.
    if address is not None and contact_email(contact) != address:
        contact.email_encrypted = encrypt(address)
        changed += ["email_encrypted", "email_hash"]
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return bool(changed)


def contact_email(contact: Contact) -> str:
    """The contact's address in clear ("" if it cannot be decrypted)."""
    return decrypt(contact.email_encrypted) or ""


def masked_email(email: str) -> str:
    """Enough of an address to recognise it, not to use it: a***@ex…"""
    local, at, domain = email.partition("@")
    if not at:
        return "…" if email else ""
    return f"{local[:1]}***@{domain[:2]}…"
