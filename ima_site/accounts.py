"""Organizers' logins: failed attempts throttled by django-axes, kept in the audit log.

Axes decides when to refuse (its backend runs before the password is checked) and
shows the lock-out page; this module is the storage axes consults. It keeps no table
of its own: every failure, lock-out and refusal is an AuditEntry, and the count of
recent failures is read back from them. Axes' own tables would keep the client's IP
address and browser in clear; here a "client address" is only ever the keyed hash
of its network prefix, the same one signing uses, and the typed username only as a
keyed hash (people type their password into the username field).
"""

from datetime import timedelta

from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.signals import user_locked_out
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from ima_site.clients import client_ip
from ima_site.crypto import keyed_hash, network_hash
from ima_site.models import AuditEntry, record_audit_entry

FAILED = "login.failed"
LOCKED_OUT = "login.lock_out"
# An attempt made while locked out: refused before the password was looked at.
REFUSED = "login.refused"
# `manage.py axes_reset…` lifts a lock-out early; the failures before it stop counting.
UNLOCKED = "login.unlock"
# The audit entry of a username nobody has: the typed text is never stored.
UNKNOWN_USERNAME = "(unknown username)"


def client_network(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the keyed hash of the client's network prefix.

    The address comes from client_ip, so behind the site's proxies it is the
    visitor's, not the proxy's; axes never sees the address itself.
    """
    return network_hash(client_ip(request))


# Namespace of the advisory lock that makes login attempts for one username from one
# network take turns (beside the signing limits' 74_210_1xx locks).
LOGIN_TURN_LOCK = 74_210_201


class LoginAttemptsTakeTurns:
    """Middleware: the login attempts for one username from one network take turns.

    Axes looks at the lock-out before the password is checked and records a failure
    after: guesses sent in parallel would all pass the look before any failure is
    recorded. Each login POST runs in a transaction under an advisory lock for its
    (username, network), so it sees every failure of the attempts before it and the
    limit is exact. Other usernames and networks do not wait.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.method != "POST" or not request.path_info.endswith("/admin/login/"):
            return self.get_response(request)
        turn = keyed_hash(
            "login-turn",
            f"{username_hash(request.POST.get('username'))}\x00"
            f"{client_network(request)}",
        )
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [LOGIN_TURN_LOCK, int(turn[:8], 16) - 2**31],
                )
            return self.get_response(request)


def username_hash(username: str | None) -> str | None:
    if not username:
        return None
    # A lone surrogate (possible in JSON) cannot be encoded to hash it.
    text = username.encode("utf-8", "replace").decode()
    return keyed_hash("login-username", text)


def cool_off(request: HttpRequest | None = None) -> timedelta:
    return get_cool_off(request) or timedelta(minutes=15)


class AuditLogHandler(AbstractAxesHandler, AxesBaseHandler):
    """AXES_HANDLER: counts a username's failures from a network in the audit log.

    N failures (AXES_FAILURE_LIMIT) within the cool-off period lock that username
    out from that network for the cool-off period, counted from the lock-out.
    Attempts during it are refused and recorded, but do not prolong it.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        key = self._key(request, credentials)
        since = self._counting_since(request, key)
        recent = AuditEntry.objects.filter(at__gte=since, details__contains=key)
        if recent.filter(action=LOCKED_OUT).exists():
            return get_failure_limit(request, credentials)
        return recent.filter(action=FAILED).count()

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:
            # authenticate() called outside a request (a shell): nothing to count,
            # and axes' backend has refused it already.
            return
        key = self._key(request, credentials)
        if request.axes_locked_out:
            # Axes' backend refused before checking the password.
            request.axes_credentials = credentials
            self._record(REFUSED, request, credentials, key)
            return
        self._record(FAILED, request, credentials, key)
        limit = get_failure_limit(request, credentials)
        if self.get_failures(request, credentials) >= limit:
            self._record(LOCKED_OUT, request, credentials, key, {"failures": limit})
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )

    def user_logged_in(self, sender, request, user, **kwargs):
        """Nothing to do: a success does not wipe a guesser's failures."""

    def user_logged_out(self, sender, request, user, **kwargs):
        """Nothing to do."""

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        """Lift lock-outs (axes' reset commands): an audit entry, nothing deleted."""
        network = None
        if ip_address:
            network = network_hash(ip_address)
        key = {"username": username_hash(username), "network": network}
        record_audit_entry(
            actor=None, action=UNLOCKED, obj=_user_or_placeholder(username), details=key
        )
        return 1

    @staticmethod
    def _key(request, credentials) -> dict:
        return {
            "username": username_hash(get_client_username(request, credentials)),
            "network": request.axes_ip_address,
        }

    @staticmethod
    def _counting_since(request, key: dict):
        since = timezone.now() - cool_off(request)
        # An unlock for this username, this network, or everyone (None) restarts
        # the count.
        unlocked = (
            AuditEntry.objects.filter(action=UNLOCKED, at__gte=since)
            .filter(Q(details__username=key["username"]) | Q(details__username=None))
            .filter(Q(details__network=key["network"]) | Q(details__network=None))
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        )
        return max(since, unlocked) if unlocked else since

    @staticmethod
    def _record(action, request, credentials, key: dict, extra=None) -> None:
        user = _user_or_placeholder(get_client_username(request, credentials))
        record_audit_entry(
            actor=None, action=action, obj=user, details={**key, **(extra or {})}
        )


def _user_or_placeholder(username: str | None):
    User = get_user_model()
    user = None
    if username:
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
    # An unsaved stand-in: the entry's object is "(unknown username)", id None.
    return user or User(**{User.USERNAME_FIELD: UNKNOWN_USERNAME})


def locked_out(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the admin's page saying why and for how long."""
    minutes = max(1, round(cool_off(request).total_seconds() / 60))
    return TemplateResponse(
        request,
        "admin/login_locked_out.html",
        {
            **admin.site.each_context(request),
            "title": _("Too many failed logins"),
            "minutes": minutes,
            "failure_limit": get_failure_limit(request, credentials),
        },
        status=429,
    ).render()
