"""The emails signers receive, rendered when the outbox sends them."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from ima_site.outbox import RenderedEmail, register
from signatories.links import link_path
from signatories.models import Signature


def _render(
    template: str, subject: str, signature: Signature, **extra
) -> RenderedEmail:
    """The email in its templates, which get the statement's text and the links.

    Not the signature: until an address has confirmed, anyone may have typed it,
    and an email to it must carry nothing they typed (their name, organization…),
    or the site would deliver their text to any inbox. Nor what they ticked: the
    confirmation carries its "stop emails" link whether or not "keep me informed"
    was ticked.
    """
    statement = signature.statement
    version = statement.version_for(signature.language)
    context = {
        "language": signature.language,
        "title": version.title if version else statement.slug,
        "statement_url": settings.SITE_URL + statement.get_absolute_url(),
        "site_name": settings.SITE_NAME,
        **extra,
    }
    return RenderedEmail(
        subject=subject,
        text=render_to_string(f"emails/{template}.txt", context),
        html=render_to_string(f"emails/{template}.html", context),
    )


def _links(signature: Signature, *actions: str) -> dict[str, str]:
    return {
        f"{action}_url": settings.SITE_URL + link_path(signature, action)
        for action in actions
    }


def _pending(signature_id: int) -> Signature | None:
    signature = Signature.objects.filter(pk=signature_id).first()
    if signature is None or signature.status != Signature.Status.PENDING:
        return None
    return signature


@register("signature.confirm")
def confirmation(signature_id: int) -> RenderedEmail | None:
    signature = _pending(signature_id)
    if signature is None:
        return None
    return _render(
        "signature_confirm",
        _("Please confirm your signature"),
        signature,
        **_links(signature, "confirm", "cancel", "withdraw", "unsubscribe"),
    )


@register("signature.reminder")
def reminder(signature_id: int) -> RenderedEmail | None:
    signature = _pending(signature_id)
    if signature is None:
        return None
    return _render(
        "signature_confirm",
        _("Reminder: your signature is not confirmed yet"),
        signature,
        reminder=True,
        **_links(signature, "confirm", "cancel", "withdraw", "unsubscribe"),
    )


@register("signature.duplicate")
def already_signed(signature_id: int) -> RenderedEmail | None:
    signature = Signature.objects.filter(pk=signature_id).first()
    if signature is None or signature.status != Signature.Status.CONFIRMED:
        return None
    return _render(
        "signature_duplicate",
        _("You have already signed"),
        signature,
        # The name this address confirmed itself, not the one typed this time.
        name=signature.name,
        # This address confirmed: "stop emails" only if it asked for them.
        **_links(
            signature, "withdraw", *(["unsubscribe"] if signature.consent else [])
        ),
    )
