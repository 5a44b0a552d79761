"""Organizers' API tokens: made and revoked in the admin, good only for organizers.

A token is django-rest-knox's: 64 random hex characters shown once, stored as a
SHA-512 hash, with an expiry (API_TOKEN_DAYS). Clients send `Authorization: Token …`.
A browser session on the API is held to the same rule: it counts only while its
user is an organizer.
"""

import re
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from ima_site.models import ApiToken, record_audit_entry
from ima_site.roles import ROLES

# What knox makes with its default settings (no prefix, 64 characters).
TOKEN_SHAPE = re.compile(rb"[0-9a-f]{64}")


def is_organizer(user) -> bool:
    """Active staff in a role's group, or a superuser: who may hold tokens."""
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name__in=ROLES).exists()


class OrganizerTokenAuthentication(TokenAuthentication):
    """knox's token check, plus: the token's user is still an organizer, now.

    Deactivating a user, taking away staff status or the Editors/Publishers group
    stops their tokens on the next request; nobody has to remember to revoke them.
    """

    def authenticate_credentials(self, token: bytes):
        # knox decodes the header as UTF-8 and looks it up as text: other bytes
        # would be a 500 or a query with a NUL in it. A wrong shape is simply wrong.
        if not TOKEN_SHAPE.fullmatch(token):
            raise AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)

    def validate_user(self, auth_token):
        if not is_organizer(auth_token.user):
            raise AuthenticationFailed(
                _("This token no longer works: its user is not an organizer.")
            )
        return auth_token.user, auth_token


class OrganizerSessionAuthentication(SessionAuthentication):
    """DRF's session check, plus: the session's user is still an organizer, now.

    Someone whose staff status, group or account is taken away may still hold an
    open session (the admin refuses them, the API did not): to the API they are
    anonymous from the next request on, as their tokens stop working.
    """

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None or not is_organizer(found[0]):
            return None
        return found


class OrganizerSessionScheme(SessionScheme):
    # drf-spectacular matches the exact class: name the session cookie for ours.
    target_class = "ima_site.tokens.OrganizerSessionAuthentication"


class IsOrganizer(BasePermission):
    """Only organizers, whichever way they came in (token or session)."""

    def has_permission(self, request, view):
        return is_organizer(request.user)


class OrganizerTokenScheme(OpenApiAuthenticationExtension):
    target_class = OrganizerTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106 - the header's scheme, not a secret
        )


def create_api_token(*, user, name: str) -> tuple[ApiToken, str]:
    """Make a named token for user; returns it and its value, which is never stored."""
    with transaction.atomic():
        # knox's manager makes the value and stores only its hash.
        token, value = ApiToken.objects.create(
            user=user, name=name, expiry=timedelta(days=settings.API_TOKEN_DAYS)
        )
        record_audit_entry(
            actor=user,
            action="api_token.create",
            obj=token,
            details={"expires": token.expiry.isoformat()},
        )
    return token, value


def revoke_api_tokens(*, actor, tokens: Iterable[ApiToken]) -> int:
    """Delete the tokens, with an audit entry each; returns how many there were."""
    count = 0
    with transaction.atomic():
        for token in tokens:
            record_audit_entry(actor=actor, action="api_token.revoke", obj=token)
            token.delete()
            count += 1
    return count
