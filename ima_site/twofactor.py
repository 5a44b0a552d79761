"""Two-factor login for organizers: an authenticator app (TOTP), and recovery codes.

The admin's own form checks the password (throttled, see ima_site.accounts); this
module adds the second step with django-otp. A session that has passed the password
but not the code is half logged in: TwoFactorMiddleware sends it from every admin
page to the code page (or, for a Publisher who has no app yet, to the set-up page)
and everywhere else treats it as anonymous, so a stolen password alone opens
nothing: no preview, no API by session.

Any organizer may add an app; Publishers (whoever may publish) must. Recovery codes
are django-otp static tokens, stored as keyed hashes (a database dump does not give
them away), each good once.
"""

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ima_site.crypto import keyed_hash
from ima_site.models import record_audit_entry

RECOVERY_CODES = 10
APP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
# Publishing is what makes a stolen password dangerous: whoever may publish must
# have a second factor (superusers included).
REQUIRED_FOR = "statements.publish_statement"


# --- Rules ------------------------------------------------------------------------


def normalize_code(text: str) -> str:
    """Codes as people type them: "123 456", "ABCD-EFGH"."""
    return "".join(text.split()).replace("-", "").lower()


def recovery_code_hash(code: str) -> str:
    # Static tokens hold at most 16 characters; 64 bits of the HMAC are plenty.
    return keyed_hash("recovery-code", normalize_code(code))[:16]


def confirmed_app(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def must_use_two_factor(user) -> bool:
    return bool(user.is_staff and user.has_perm(REQUIRED_FOR))


def pending_step(user) -> str | None:
    """For a logged-in user not yet verified: "verify", "set_up" or None (free)."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return "verify"
    if must_use_two_factor(user):
        return "set_up"
    return None


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def unconfirmed_app(user) -> TOTPDevice:
    """The app being set up: the same secret on every reload of the set-up page."""
    device = (
        TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    )
    return device or TOTPDevice.objects.create(
        user=user, name=APP_NAME, confirmed=False
    )


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed: base32, in fours."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(text: str) -> SafeString:
    """A QR code as inline SVG, made here: no script, no request to another host."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, border=2)
    # Our own markup from the library (the text is only encoded in the path).
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


# --- Services ---------------------------------------------------------------------


def _replace_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME)
    codes = []
    for _i in range(RECOVERY_CODES):
        token = StaticToken.random_token()
        codes.append(f"{token[:4]}-{token[4:]}")
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_hash(code)) for code in codes
    )
    return codes


@transaction.atomic
def set_up_two_factor(*, user, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm a new app with a code it shows; returns new recovery codes, or None.

    The app replaces any earlier one and the codes any earlier codes; the codes
    exist in clear only in the return value. A wrong code changes nothing.
    """
    device = TOTPDevice.objects.select_for_update().get(
        pk=device.pk, user=user, confirmed=False
    )
    if not device.verify_token(normalize_code(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _replace_recovery_codes(user)
    record_audit_entry(actor=user, action="two_factor.set_up", obj=user)
    return codes


def verify_second_factor(*, user, code: str) -> Device | None:
    """The device that accepts code (the app's, or an unused recovery code), or None.

    A recovery code is spent by its use; an app code is good once (django-otp
    refuses a time step already used). Refusals are audited and throttled by
    django-otp (a growing wait after each one).
    """
    code = normalize_code(code)
    with transaction.atomic():
        if len(code) == 6 and code.isdigit():
            kind = "app"
            devices: list[Device] = list(
                TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
            )
            token = code
        else:
            # Recovery codes are 8 letters and digits: never 6 digits.
            kind = "recovery code"
            devices = list(
                StaticDevice.objects.select_for_update().filter(
                    user=user, confirmed=True
                )
            )
            token = recovery_code_hash(code)
        for device in devices:
            if device.verify_token(token):
                if kind == "recovery code":
                    record_audit_entry(
                        actor=user,
                        action="two_factor.recovery_code_used",
                        obj=user,
                        details={"left": recovery_codes_left(user)},
                    )
                return device
        record_audit_entry(
            actor=user, action="two_factor.refused", obj=user, details={"kind": kind}
        )
    return None


@transaction.atomic
def renew_recovery_codes(*, user) -> list[str]:
    """New recovery codes for a verified organizer; the old ones stop working."""
    codes = _replace_recovery_codes(user)
    record_audit_entry(actor=user, action="two_factor.recovery_codes_renewed", obj=user)
    return codes


def is_throttled(user) -> bool:
    """True while django-otp makes the organizer wait after wrong codes."""
    devices = [
        *TOTPDevice.objects.filter(user=user, confirmed=True),
        *StaticDevice.objects.filter(user=user),
    ]
    return any(not device.verify_is_allowed()[0] for device in devices)


# --- Middleware -------------------------------------------------------------------

# The pages a half-logged-in organizer may still reach.
OPEN_WHILE_PENDING = {("two_factor", "verify"), ("two_factor", "set_up")}


def _anonymous() -> AnonymousUser:
    user = AnonymousUser()
    user.otp_device = None  # type: ignore[attr-defined]
    user.is_verified = lambda: False  # type: ignore[attr-defined]
    return user


class TwoFactorMiddleware:
    """After OTPMiddleware: a session with the password but not the code is held
    at the second step in the admin and is anonymous everywhere else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        step = pending_step(user)
        if step is None:
            return None
        match = request.resolver_match
        here = (match.namespace, match.url_name)
        if here in OPEN_WHILE_PENDING or here == ("admin", "logout"):
            return None
        if match.namespace in ("admin", "two_factor"):
            # The admin's login page is where the preview and others send people:
            # carry its next= through the second step.
            target = (
                request.GET.get("next") if match.url_name == "login" else None
            ) or request.get_full_path()
            return redirect(
                f"{reverse(f'two_factor:{step}')}?{urlencode({'next': target})}"
            )
        anonymous = _anonymous()
        request.user = anonymous

        async def auser():
            return anonymous

        request.auser = auser
        return None


# --- Views ------------------------------------------------------------------------


WRONG_CODE = gettext_lazy("That code is not right, or it has been used already.")
THROTTLED = gettext_lazy(
    "Too many wrong codes in a row: wait a little, then try the newest code."
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class AppCodeForm(CodeForm):
    def clean_code(self):
        code = normalize_code(self.cleaned_data["code"])
        if not (len(code) == 6 and code.isdigit()):
            raise forms.ValidationError(_("Enter the 6 digits your app shows."))
        return code


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _with_next(name: str, request) -> str:
    return f"{reverse(name)}?{urlencode({'next': _next_url(request)})}"


def _render(request, template: str, title: str, **context) -> HttpResponse:
    return render(
        request,
        template,
        {
            **admin.site.each_context(request),
            # Nothing else of the admin is reachable until the step is done.
            "available_apps": [],
            "is_nav_sidebar_enabled": False,
            "title": title,
            "next": _next_url(request),
            **context,
        },
    )


def _complete_login(request, device: Device) -> None:
    # A new session key and CSRF token when the session gains rights, as at login.
    request.session.cycle_key()
    rotate_token(request)
    otp_login(request, device)


@never_cache
@sensitive_post_parameters("code")
def verify(request):
    """The second step of the login: a code from the app, or a recovery code."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if user.is_verified():
        return redirect(_next_url(request))
    step = pending_step(user)
    if step != "verify":
        return redirect(
            _with_next("two_factor:set_up", request) if step else _next_url(request)
        )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Asked before trying: a wrong code makes the next one wait a moment.
        throttled = is_throttled(user)
        device = verify_second_factor(user=user, code=form.cleaned_data["code"])
        if device is not None:
            _complete_login(request, device)
            return redirect(_next_url(request))
        form.add_error("code", THROTTLED if throttled else WRONG_CODE)
    return _render(
        request, "admin/two_factor/verify.html", _("Two-factor login"), form=form
    )


@never_cache
@sensitive_post_parameters("code")
def set_up(request):
    """Add an authenticator app: QR code and secret, a code to confirm, then the
    recovery codes, shown once."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user.is_verified() and confirmed_app(user):
        # Replacing an app takes a code from the present one: a password alone
        # must not be enough to move the second factor to another phone.
        return redirect(_with_next("two_factor:verify", request))
    device = unconfirmed_app(user)
    form = AppCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttled = not device.verify_is_allowed()[0]
        codes = set_up_two_factor(
            user=user, device=device, code=form.cleaned_data["code"]
        )
        if codes is not None:
            _complete_login(request, device)
            return _render(
                request,
                "admin/two_factor/recovery_codes.html",
                _("Your recovery codes"),
                codes=codes,
            )
        form.add_error(
            "code",
            THROTTLED
            if throttled
            else _(
                "That code is not right. Check that the time on your phone is "
                "right, then try the newest code."
            ),
        )
    return _render(
        request,
        "admin/two_factor/set_up.html",
        _("Set up two-factor login"),
        form=form,
        required=must_use_two_factor(user),
        qr=qr_svg(device.config_url),
        secret=secret_text(device),
    )


@never_cache
def overview(request):
    """An organizer's two-factor status, with the ways to change it."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _render(
        request,
        "admin/two_factor/overview.html",
        _("Two-factor login"),
        app=confirmed_app(user),
        codes_left=recovery_codes_left(user),
        required=must_use_two_factor(user),
        verified=user.is_verified(),
    )


@never_cache
@require_POST
def new_recovery_codes(request):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(reverse("two_factor:overview"))
    if not user.is_verified():
        return redirect(_with_next("two_factor:verify", request))
    return _render(
        request,
        "admin/two_factor/recovery_codes.html",
        _("Your recovery codes"),
        codes=renew_recovery_codes(user=user),
    )


app_name = "two_factor"
urlpatterns = [
    path("", overview, name="overview"),
    path("code/", verify, name="verify"),
    path("set-up/", set_up, name="set_up"),
    path("recovery-codes/", new_recovery_codes, name="recovery_codes"),
]
