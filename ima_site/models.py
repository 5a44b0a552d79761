from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken


class AuditEntry(models.Model):
    """Who did what to which object, and when: publishing, sending, exporting."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty when the site did it on its own (a schedule, an import)."),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=300)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


def record_audit_entry(
    *, actor, action: str, obj: models.Model, details: dict | None = None
) -> AuditEntry:
    """Write one audit entry for obj; call it inside the transaction of the change."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        details=details or {},
    )


class OutboxMessage(models.Model):
    """An email the site will send, written in the transaction that causes it.

    A relay hands queued rows to Celery; a worker claims a row with a conditional
    update, sends it, and marks it. The recipient is encrypted and erased once sent.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=64)
    object_id = models.BigIntegerField(_("object id"))
    recipient = models.BinaryField(
        _("recipient (encrypted)"), null=True, editable=False
    )
    language = models.CharField(_("language"), max_length=8, default="en")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    relayed_at = models.DateTimeField(_("handed to a worker"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="queued"),
                name="ima_site_outbox_due",
            ),
            models.Index(fields=["kind", "object_id"], name="ima_site_outbox_object"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id} ({self.status})"


class ApiToken(AbstractAuthToken):
    """An organizer's named API token (knox: only a hash of it is stored).

    It works only while its user is an active organizer: the authentication class
    (ima_site.tokens) checks that on every request.
    """

    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("What it is for, such as “partner site sign-up form”."),
    )
    # knox allows tokens that never expire; ours always do.
    expiry = models.DateTimeField(_("expires"))
    # knox keys tokens by their hash; a plain number keeps the hash out of admin
    # URLs and fits the audit log's object ids.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=128, unique=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"], name="ima_site_apitoken_one_name_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


def time_zone_choices() -> list[tuple[str, str]]:
    import zoneinfo

    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class OrganizerProfile(models.Model):
    """An organizer's own time zone and language: the admin's times, their "today"
    on the desk, and the emails the site sends them are in these."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("organizer"),
        on_delete=models.CASCADE,
        related_name="organizer_profile",
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        choices=time_zone_choices,
        help_text=_("Times in the admin are shown and typed in this zone."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        help_text=_("The language of the desk and of the emails the site sends you."),
    )

    class Meta:
        verbose_name = _("organizer profile")
        verbose_name_plural = _("organizer profiles")

    def __str__(self) -> str:
        return str(self.user)


class SiteConfiguration(models.Model):
    """The site settings organizers change in the admin: one row, made on first use."""

    review_by_second_person = models.BooleanField(
        _("review by a second person"),
        default=False,
        help_text=_(
            "When on, nobody publishes, schedules or sends what they submitted "
            "themselves: statements, alerts and letter deliveries."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1), name="ima_site_siteconfiguration_one_row"
            )
        ]

    def __str__(self) -> str:
        return str(_("Site settings"))

    @classmethod
    def current(cls) -> "SiteConfiguration":
        configuration, _created = cls.objects.get_or_create(id=1)
        return configuration
