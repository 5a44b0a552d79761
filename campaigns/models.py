from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from signatories.models import Contact, Organization
from statements.models import Statement


class Mission(models.Model):
    """A diplomatic mission of one country (represented) in another (host)."""

    class Kind(models.TextChoices):
        EMBASSY = "embassy", _("Embassy")
        CONSULATE = "consulate", _("Consulate")
        PERMANENT_MISSION = "permanent_mission", _("Permanent mission")

    represented_country = models.CharField(_("country represented"), max_length=2)
    host_country = models.CharField(_("host country"), max_length=2)
    city = models.CharField(_("city"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=300)
    address = models.TextField(_("address"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    website = models.URLField(_("website"), max_length=500, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mission")
        verbose_name_plural = _("missions")
        ordering = ["represented_country", "host_country", "city", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["represented_country", "host_country", "city", "kind"],
                name="campaigns_mission_one_per_city_and_kind",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180)
                & Q(longitude__lte=180),
                name="campaigns_mission_coordinates_valid",
            ),
        ]
        indexes = [models.Index(fields=["represented_country", "host_country"])]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        WON = "won", _("Won")
        CLOSED = "closed", _("Closed")

    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    title = models.CharField(_("title"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    body = models.TextField(_("body"), blank=True, help_text=_("Markdown."))
    language = models.CharField(_("language"), max_length=8, default="en")
    target_country = models.CharField(_("target country"), max_length=2)
    target_authority = models.CharField(
        _("target authority"),
        max_length=300,
        blank=True,
        help_text=_("The Government of Malaysia"),
    )
    demands = ArrayField(
        models.CharField(max_length=300),
        verbose_name=_("demands"),
        default=list,
        blank=True,
    )
    hashtag = models.CharField(_("hashtag"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    statements = models.ManyToManyField(
        Statement,
        through="CampaignStatement",
        verbose_name=_("statements"),
        related_name="campaigns",
        blank=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = [F("starts_on").desc(nulls_last=True), "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="campaigns_campaign_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", args=[self.slug])

    def is_public(self) -> bool:
        return self.status != self.Status.DRAFT


class CampaignStatement(models.Model):
    """A statement on a campaign's timeline: its launch, a sign-on letter, an update."""

    class Role(models.TextChoices):
        LAUNCH = "launch", _("Launch statement")
        SIGN_ON_LETTER = "sign_on_letter", _("Sign-on letter")
        UPDATE = "update", _("Update")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="timeline"
    )
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(
        _("role"), max_length=16, choices=Role.choices, default=Role.UPDATE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("statement of the campaign")
        verbose_name_plural = _("statements of the campaign")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "statement"],
                name="campaigns_campaignstatement_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.statement}"


class Action(models.Model):
    """Something members are called to do, on a date, at a local wall-clock time.

    At the nearest mission, the times are local to each mission; at a named place,
    local to that place.
    """

    class Kind(models.TextChoices):
        PROTEST = "protest", _("Protest at a mission")
        HAND_IN_LETTER = "hand_in_letter", _("Hand in a letter")
        LETTER_OF_CONCERN = "letter_of_concern", _("Send a letter of concern")
        OTHER = "other", _("Other")

    class Where(models.TextChoices):
        NEAREST_MISSION = "nearest_mission", _("At each member's nearest mission")
        PLACE = "place", _("At one named place")

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="actions",
    )
    slug = models.SlugField(_("slug"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=300)
    date = models.DateField(_("date"))
    starts = models.TimeField(_("starts (local time)"))
    ends = models.TimeField(_("ends (local time)"), null=True, blank=True)
    where = models.CharField(
        _("where"), max_length=20, choices=Where.choices, default=Where.NEAREST_MISSION
    )
    place_name = models.CharField(_("place"), max_length=300, blank=True)
    place_address = models.TextField(_("address"), blank=True)
    place_city = models.CharField(_("city"), max_length=120, blank=True)
    place_country = models.CharField(_("country"), max_length=2, blank=True)
    place_latitude = models.FloatField(_("latitude"), null=True, blank=True)
    place_longitude = models.FloatField(_("longitude"), null=True, blank=True)
    place_time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    instructions = models.TextField(
        _("instructions"), blank=True, help_text=_("Markdown.")
    )
    letter_template = models.TextField(
        _("letter template"),
        blank=True,
        help_text=_(
            "For a letter of concern: the text members start from (Markdown, with "
            "the alert's placeholders such as {organization} and {mission_name})."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["date", "starts", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "slug"], name="campaigns_action_slug_per_campaign"
            ),
            models.CheckConstraint(
                condition=Q(ends__isnull=True) | Q(ends__gt=F("starts")),
                name="campaigns_action_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(where="nearest_mission")
                | (
                    ~Q(place_name="")
                    & ~Q(place_city="")
                    & ~Q(place_country="")
                    & ~Q(place_time_zone="")
                ),
                name="campaigns_action_place_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Alert(models.Model):
    """An email to member contacts about an action, one delivery per contact."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    action = models.ForeignKey(
        Action,
        verbose_name=_("action"),
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    # The audience: empty lists mean "any".
    countries = ArrayField(
        models.CharField(max_length=2), verbose_name=_("countries"), default=list,
        blank=True,
    )  # fmt: skip
    sectors = ArrayField(
        models.CharField(max_length=120), verbose_name=_("sectors"), default=list,
        blank=True,
    )  # fmt: skip
    languages = ArrayField(
        models.CharField(max_length=8), verbose_name=_("languages"), default=list,
        blank=True,
    )  # fmt: skip
    members_only = models.BooleanField(_("members only"), default=True)
    # A reminder: the audience less the organizations whose letter of concern for
    # the action is sent or waiting for approval.
    only_without_letter = models.BooleanField(
        _("only those who have not sent their letter of concern"), default=False
    )
    # When to send: at one moment, or at a local wall-clock time in each recipient
    # organization's own time zone on a date.
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    send_on_local_date = models.DateField(
        _("send on (local date)"), null=True, blank=True
    )
    send_at_local_time = models.TimeField(
        _("send at (local time)"), null=True, blank=True
    )
    # What the deliveries are rendered from once sending starts: the versions as
    # they were, so that an edit cannot reach a half-sent alert.
    frozen_content = models.JSONField(_("content as sent"), null=True, blank=True)
    frozen_at = models.DateTimeField(_("frozen"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-id"]
        permissions = [("send_alert", _("Can send, schedule, pause and cancel alerts"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    send_on_local_date__isnull=True, send_at_local_time__isnull=True
                )
                | Q(send_on_local_date__isnull=False, send_at_local_time__isnull=False),
                name="campaigns_alert_local_send_complete",
            ),
        ]

    def __str__(self) -> str:
        version = self.original_version()
        return version.subject if version else f"#{self.pk}"

    def original_version(self):
        versions = list(self.versions.all())
        for version in versions:
            if version.is_original:
                return version
        return versions[0] if versions else None


class AlertVersion(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(_("language"), max_length=8)
    is_original = models.BooleanField(_("original"), default=False)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(
        _("body"), help_text=_("Markdown, with placeholders such as {mission_name}.")
    )

    class Meta:
        verbose_name = _("language version")
        verbose_name_plural = _("language versions")
        ordering = ["-is_original", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "language"], name="campaigns_alertversion_per_language"
            ),
            models.UniqueConstraint(
                fields=["alert"],
                condition=Q(is_original=True),
                name="campaigns_alertversion_one_original",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} [{self.language}]"


class MissionChoice(models.Model):
    """An organizer's choice of mission for one organization, over the nearest."""

    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="mission_choices"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("mission chosen for an organization")
        verbose_name_plural = _("missions chosen for organizations")
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "organization"],
                name="campaigns_missionchoice_one_per_organization",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.mission}"


class AlertDelivery(models.Model):
    """One alert to one contact: claimed, sent and marked, never twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")

    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="deliveries"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    mission = models.ForeignKey(
        Mission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mission_abroad = models.BooleanField(_("nearest mission abroad"), default=False)
    language = models.CharField(_("language"), max_length=8)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    skip_reason = models.CharField(_("why skipped"), max_length=60, blank=True)
    send_after = models.DateTimeField(_("not before"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "contact"],
                name="campaigns_alertdelivery_one_per_contact",
            )
        ]
        indexes = [
            models.Index(
                fields=["alert", "status"], name="campaigns_delivery_progress"
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="campaigns_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.contact_id} ({self.status})"


class Pledge(models.Model):
    """An organization's pledge to act, and later its report: one per action."""

    class Status(models.TextChoices):
        PLEDGED = "pledged", _("Will act")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="pledges")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="pledges"
    )
    mission = models.ForeignKey(
        Mission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PLEDGED
    )
    expected_people = models.PositiveIntegerField(
        _("people expected"), null=True, blank=True
    )
    people = models.PositiveIntegerField(_("people who came"), null=True, blank=True)
    account = models.TextField(_("what happened"), blank=True)
    press_links = ArrayField(
        models.URLField(max_length=500),
        verbose_name=_("press links"),
        default=list,
        blank=True,
    )
    updated_by = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pledged_at = models.DateTimeField(_("pledged"), auto_now_add=True)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    approved_at = models.DateTimeField(_("report approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("pledge and report")
        verbose_name_plural = _("pledges and reports")
        ordering = ["action", "organization__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "organization"],
                name="campaigns_pledge_one_per_organization",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} / {self.action}"


def report_photo_path(photo, filename: str) -> str:
    # A random name: the original file name can carry a person's name or a place.
    import secrets

    return f"reports/{photo.pledge.action_id}/{secrets.token_hex(16)}.jpg"


class ReportPhoto(models.Model):
    """A photo of an action, re-encoded without any metadata, served by a view."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("image"), upload_to=report_photo_path)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("report photo")
        verbose_name_plural = _("report photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.image.name or ""


# The letters' models live in their own module; importing them here makes them the
# app's models.
from campaigns.letter_models import (  # noqa: E402, F401
    Letter,
    LetterCompilation,
    LetterCover,
    LetterDelivery,
    LetterOfConcern,
    LetterTarget,
    TargetReply,
)
