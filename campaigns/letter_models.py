"""Sign-on letters delivered to their targets, targets' replies, and members' own
letters of concern. Imported by campaigns.models, so they are the app's models.

Every email here is a row with a status, claimed before it is sent and never sent
again once final (ClaimedSend): a target gets its letter exactly once.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def letter_file_path(instance, filename: str) -> str:
    # A random name: nothing about the letter or a member in a file's name.
    return f"letters/{secrets.token_hex(16)}.pdf"


def reply_file_path(instance, filename: str) -> str:
    return f"letters/replies/{secrets.token_hex(16)}.pdf"


def concern_file_path(instance, filename: str) -> str:
    return f"letters/concern/{secrets.token_hex(16)}.pdf"


class Letter(models.Model):
    """A sign-on letter's delivery: which statement, on which campaign, when it goes
    to its targets, and how far it is."""

    class Status(models.TextChoices):
        GATHERING = "gathering", _("Gathering signatures")
        COMPILING = "compiling", _("Compiling")
        DELIVERING = "delivering", _("Delivering")
        DELIVERED = "delivered", _("Delivered")

    statement = models.OneToOneField(
        "statements.Statement",
        verbose_name=_("sign-on letter"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="letters",
    )
    # Its own time, separate from when signing closes: delivering closes signing.
    deliver_at = models.DateTimeField(_("deliver at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.GATHERING
    )
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("letter delivery")
        verbose_name_plural = _("letter deliveries")
        ordering = ["-created_at", "-id"]
        permissions = [("deliver_letter", _("Can deliver letters to their targets"))]
        indexes = [
            models.Index(
                fields=["deliver_at"],
                condition=Q(status="gathering", deliver_at__isnull=False),
                name="campaigns_letter_due",
            )
        ]

    def __str__(self) -> str:
        return str(self.statement)


class LetterCover(models.Model):
    """The short email that carries the letter, in one language."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="covers")
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=300)
    text = models.TextField(_("cover text"))

    class Meta:
        verbose_name = _("cover text")
        verbose_name_plural = _("cover texts")
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "language"], name="campaigns_lettercover_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.letter} ({self.language})"


class LetterTarget(models.Model):
    """Who receives the letter: a mission of the directory or another authority."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="targets")
    mission = models.ForeignKey(
        "campaigns.Mission",
        verbose_name=_("mission"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="letter_targets",
    )
    name = models.CharField(
        _("name"),
        max_length=300,
        help_text=_("The Prime Minister's Office; for a mission, its name."),
    )
    email = models.EmailField(_("email"), max_length=254)
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        help_text=_("The cover text's language; empty: the letter's original."),
    )
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "mission"],
                condition=Q(mission__isnull=False),
                name="campaigns_lettertarget_mission_once",
            ),
            models.UniqueConstraint(
                models.F("letter"),
                models.functions.Lower("email"),
                name="campaigns_lettertarget_email_once",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LetterCompilation(models.Model):
    """The compiled letter as a PDF: the evidence of what was sent. A letter has one
    (a retry resends the same file); test runs make their own."""

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="compilations"
    )
    test = models.BooleanField(_("test"), default=False)
    pdf = models.FileField(_("PDF"), upload_to=letter_file_path)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size in bytes"))
    pages = models.PositiveIntegerField(_("pages"))
    # How many signed (the count on the first page), and how many are named.
    signatures = models.PositiveIntegerField(_("signatures counted"))
    named = models.PositiveIntegerField(_("signatories named"))
    compiled_at = models.DateTimeField(_("compiled"), auto_now_add=True)
    # Retention erases the names: the file goes, this row (the count) stays.
    erased_at = models.DateTimeField(_("file erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("compiled letter")
        verbose_name_plural = _("compiled letters")
        ordering = ["-compiled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter"],
                condition=Q(test=False),
                name="campaigns_lettercompilation_one_final",
            )
        ]

    def __str__(self) -> str:
        return f"{self.letter} ({self.compiled_at:%Y-%m-%d})"


class ClaimedSend(models.Model):
    """One email that must go once: queued -> sending -> sent | failed.

    A worker claims the row (conditional UPDATE) before sending; a row left
    "sending" by a dead worker is offered again only after a delay, and a row that
    failed for good waits for an organizer's retry.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    smtp_response = models.CharField(
        _("mail server's answer"), max_length=500, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        abstract = True


class LetterDelivery(ClaimedSend):
    """The compiled letter to one target: one row per target, ever."""

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="deliveries"
    )
    target = models.OneToOneField(
        LetterTarget, on_delete=models.PROTECT, related_name="delivery"
    )
    compilation = models.ForeignKey(
        LetterCompilation, on_delete=models.PROTECT, related_name="deliveries"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("delivery to a target")
        verbose_name_plural = _("deliveries to targets")
        ordering = ["target__name", "id"]
        indexes = [
            models.Index(fields=["letter", "status"], name="campaigns_letterdel_status")
        ]

    def __str__(self) -> str:
        return f"{self.target} ({self.get_status_display()})"


class TargetReply(models.Model):
    """What a target answered, or that it refused the letter."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        REFUSAL = "refusal", _("Refused the letter")

    target = models.ForeignKey(
        LetterTarget, on_delete=models.CASCADE, related_name="replies"
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.REPLY
    )
    received_on = models.DateField(_("received on"))
    text = models.TextField(_("text"), blank=True)
    attachment = models.FileField(
        _("attachment (PDF)"), upload_to=reply_file_path, blank=True
    )
    published = models.BooleanField(
        _("public"),
        default=False,
        help_text=_("Shown on the campaign and letter pages."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("reply of a target")
        verbose_name_plural = _("replies of targets")
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"{self.target} ({self.received_on})"


class LetterOfConcern(ClaimedSend):
    """A member organization's own letter to its nearest mission of the target
    country, for an action of kind "letter of concern"."""

    class Stage(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Not approved")

    action = models.ForeignKey(
        "campaigns.Action", on_delete=models.CASCADE, related_name="letters_of_concern"
    )
    organization = models.ForeignKey(
        "signatories.Organization",
        on_delete=models.CASCADE,
        related_name="letters_of_concern",
    )
    # The contact who wrote it: the copy and Reply-To go to them.
    contact = models.ForeignKey(
        "signatories.Contact",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    mission = models.ForeignKey(
        "campaigns.Mission", null=True, on_delete=models.PROTECT, related_name="+"
    )
    stage = models.CharField(
        _("stage"), max_length=16, choices=Stage.choices, default=Stage.DRAFT
    )
    text = models.TextField(_("text"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to=concern_file_path, blank=True)
    uploaded = models.BooleanField(_("uploaded by the member"), default=False)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    # Shown to the member on their page when the letter is not approved.
    refusal_note = models.TextField(_("why it is not approved"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("letter of concern")
        verbose_name_plural = _("letters of concern")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "organization"],
                name="campaigns_letterofconcern_one_per_organization",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.mission}"
