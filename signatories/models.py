from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from statements.models import Statement


class Organization(models.Model):
    """An organization in the member registry, or one that signed."""

    name = models.CharField(_("name"), max_length=200)
    acronym = models.CharField(_("acronym"), max_length=40, blank=True)
    country = models.CharField(_("country"), max_length=2)
    city = models.CharField(_("city"), max_length=120, blank=True)
    sector = models.CharField(_("sector"), max_length=120, blank=True)
    is_member = models.BooleanField(_("IMA member"), default=False)
    verified = models.BooleanField(
        _("verified"), default=False, help_text=_("The secretariat checked it.")
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    listed = models.BooleanField(
        _("listed on the members page"),
        default=True,
        help_text=_("Untick when the organization asks not to be shown publicly."),
    )

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "country",
                name="signatories_organization_unique_name_per_country",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"

    @property
    def is_verified_member(self) -> bool:
        return self.is_member and self.verified


class Contact(models.Model):
    """A person at a registry organization who receives action alerts.

    Identified within the organization by a keyed hash of the canonical email; the
    address itself is kept encrypted, never in clear.
    """

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="contacts",
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    email_hash = models.CharField(_("email hash"), max_length=64)
    email_encrypted = models.BinaryField(editable=False)
    language = models.CharField(
        _("language"), max_length=8, default="en", help_text=_("ISO 639-1: en, es…")
    )
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    bounces = models.PositiveSmallIntegerField(_("bounces"), default=0)
    last_bounce_at = models.DateTimeField(_("last bounce"), null=True, blank=True)
    link_nonce = models.CharField(max_length=22, blank=True)
    # A new address the contact typed on its details page: alerts keep going to
    # the current one until the link mailed to the new one is used. One at a time:
    # a later request replaces it.
    pending_email_hash = models.CharField(
        _("new email hash"), max_length=64, blank=True, editable=False
    )
    pending_email_encrypted = models.BinaryField(null=True, editable=False)
    pending_email_requested_at = models.DateTimeField(
        _("new email asked"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["organization__name", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email_hash"],
                name="signatories_contact_one_per_email",
            ),
            # A pending change is whole or absent: a confirmation link must never
            # find a hash without the address it stands for.
            models.CheckConstraint(
                condition=(
                    Q(pending_email_hash="")
                    & Q(pending_email_encrypted__isnull=True)
                    & Q(pending_email_requested_at__isnull=True)
                )
                | (
                    ~Q(pending_email_hash="")
                    & Q(pending_email_encrypted__isnull=False)
                    & Q(pending_email_requested_at__isnull=False)
                ),
                name="signatories_contact_pending_email_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or _('contact')} ({self.organization.name})"


class SignatureQuerySet(models.QuerySet):
    def counted(self):
        """Signatures that count: confirmed and not held for review."""
        return self.filter(status=Signature.Status.CONFIRMED, is_held=False)


class Signature(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANIZATION = "organization", _("Organization")

    class Display(models.TextChoices):
        FULL = "full", _("My full name")
        INITIALS = "initials", _("My initials only")
        COUNT_ONLY = "count_only", _("Not listed, only counted")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        WEB = "web", _("Web form")
        API = "api", _("API")
        PAPER = "paper", _("Paper sheet")
        IMPORT = "import", _("Import")

    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        on_delete=models.CASCADE,
        related_name="signatures",
    )
    kind = models.CharField(
        _("signs as"), max_length=16, choices=Kind.choices, default=Kind.PERSON
    )
    name = models.CharField(_("name"), max_length=120)
    organization = models.CharField(_("organization"), max_length=160, blank=True)
    member_organization = models.ForeignKey(
        Organization,
        verbose_name=_("registered organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signatures",
    )
    role = models.CharField(_("role or title"), max_length=120, blank=True)
    country = models.CharField(_("country"), max_length=2)
    city = models.CharField(_("city"), max_length=120, blank=True)
    display = models.CharField(
        _("shown as"), max_length=16, choices=Display.choices, default=Display.FULL
    )
    language = models.CharField(_("language"), max_length=8, default="en")
    consent = models.BooleanField(_("may hear about the campaign"), default=False)
    # Dedup key: HMAC of the canonical email. The email itself, encrypted, is kept
    # only as long as it is needed.
    # NULL, not "", for paper signatures without email: the unique key skips NULLs.
    email_hash = models.CharField(  # noqa: DJ001
        _("email hash"), max_length=64, null=True, blank=True
    )
    email_encrypted = models.BinaryField(null=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
    )
    is_held = models.BooleanField(
        _("held for review"),
        default=False,
        help_text=_("Held signatures are neither counted nor listed."),
    )
    hold_reason = models.CharField(_("why held"), max_length=120, blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.WEB
    )
    collected_by = models.CharField(
        _("collected by"), max_length=160, blank=True, help_text=_("For paper sheets.")
    )
    network_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    link_nonce = models.CharField(max_length=22, blank=True)
    withdraw_nonce = models.CharField(max_length=22, blank=True)
    duplicate_notices = models.PositiveSmallIntegerField(default=0)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("signed"), auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_signatures", _("Can export signatories")),
            ("review_signatures", _("Can hold, release, reject and erase signatures")),
            (
                "export_signer_emails",
                _("Can export the emails of signers who asked to be kept informed"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "email_hash"],
                condition=Q(email_hash__isnull=False),
                name="signatories_signature_one_per_email",
            ),
            models.CheckConstraint(
                condition=~Q(kind="organization") | ~Q(organization=""),
                name="signatories_signature_organization_named",
            ),
        ]
        indexes = [
            # The public list's order (by time within country and kind, never by a
            # name that may be hidden): a page is read from the index, not sorted,
            # and the rows that are not listed are not in it to be skipped.
            models.Index(
                fields=["statement", "country", "kind", "id"],
                condition=Q(status="confirmed", is_held=False)
                & ~Q(display="count_only")
                & ~Q(name=""),
                name="signatories_signature_listed",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="signatories_signature_pending",
            ),
            # The desk's count of held signatures per statement: few rows, found
            # without reading the table.
            models.Index(
                fields=["statement"],
                condition=Q(is_held=True),
                name="signatories_signature_held",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.statement_id}"

    @property
    def is_counted(self) -> bool:
        return self.status == self.Status.CONFIRMED and not self.is_held

    def public_name(self) -> str:
        """The name as the signer chose to be shown."""
        if self.kind == self.Kind.ORGANIZATION:
            return self.organization
        if self.display == self.Display.INITIALS:
            return "".join(f"{part[0]}." for part in self.name.split() if part)
        return self.name


class PaperImport(models.Model):
    """One CSV file of paper signatures added to a statement: its hash tells when
    the same file comes again."""

    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        on_delete=models.CASCADE,
        related_name="paper_imports",
    )
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_hash = models.CharField(_("file hash (SHA-256)"), max_length=64)
    collected_by = models.CharField(_("collected by"), max_length=160)
    added = models.PositiveIntegerField(_("rows added"), default=0)
    skipped = models.PositiveIntegerField(_("repeated rows skipped"), default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("paper import")
        verbose_name_plural = _("paper imports")
        ordering = ["-imported_at"]
        indexes = [
            models.Index(
                fields=["statement", "file_hash"], name="signatories_paper_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name or self.file_hash[:12]} ({self.added})"


class SigningAttempt(models.Model):
    """One POST to a signing form, for rate limits; kept 30 days, no raw address."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="+")
    network_hash = models.CharField(max_length=64)
    email_domain_hash = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["network_hash", "at"]),
            models.Index(fields=["email_domain_hash", "at"]),
            models.Index(fields=["statement", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} #{self.statement_id}"


class UsedFormToken(models.Model):
    """A signing form's token that has been sent back once: it is good only once.

    Only a keyed hash of the token's nonce is kept, for as long as the token could
    still be accepted (retention drops older rows).
    """

    nonce_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["nonce_hash"], name="signatories_usedformtoken_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.used_at:%Y-%m-%d %H:%M}"


class KnownRecipient(models.Model):
    """An address that confirmed a signature here: the daily cap does not apply to it.

    Stored as a keyed hash of its own purpose ("recipient"), so these rows cannot be
    joined to the signatures' email hashes.
    """

    address_hash = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address_hash"], name="signatories_knownrecipient_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.address_hash[:8]}…"


class RecipientDay(models.Model):
    """How many emails one address was given for one day (UTC), by its keyed hash.

    Emails to addresses that never confirmed wait for a day with room; retention
    drops the rows of past days.
    """

    address_hash = models.CharField(max_length=64)
    day = models.DateField()
    emails = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address_hash", "day"], name="signatories_recipientday_one_row"
            )
        ]
        indexes = [models.Index(fields=["day"], name="signatories_recipientday_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.emails}"


class StatementRate(models.Model):
    """How fast a statement is being signed, refreshed by the count batch.

    Signing reads this one row to apply the per-statement limits instead of counting
    thousands of attempts in every request, and never writes it.
    """

    statement = models.OneToOneField(
        Statement, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_minute = models.IntegerField(default=0)
    last_hour = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"#{self.statement_id}: {self.last_minute}/min, {self.last_hour}/h"


class CountEvent(models.Model):
    """+1 or -1 to a statement's count: written with the change, summed in batches.

    Signing never updates a shared counter row; a beat job folds these into
    SignatureCount every few seconds.
    """

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="+")
    country = models.CharField(max_length=2)
    kind = models.CharField(max_length=16)
    delta = models.SmallIntegerField()

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.country} #{self.statement_id}"


class SignatureCount(models.Model):
    """Counted signatures of a statement per country and kind, as of the last batch."""

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="signature_counts"
    )
    country = models.CharField(max_length=2)
    kind = models.CharField(max_length=16)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "country", "kind"],
                name="signatories_signaturecount_one_row",
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.country} {self.kind}"


class OfflineCount(models.Model):
    """Signatures gathered elsewhere that an organizer adds as a number."""

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="offline_counts"
    )
    count = models.PositiveIntegerField(_("signatures"))
    note = models.CharField(_("where they come from"), max_length=200)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("offline count")
        verbose_name_plural = _("offline counts")

    def __str__(self) -> str:
        return f"{self.count} ({self.note})"


class CountCheck(models.Model):
    """The nightly comparison of the batched counts with the real ones."""

    at = models.DateTimeField(auto_now_add=True)
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="+")
    expected = models.IntegerField()
    found = models.IntegerField()

    class Meta:
        verbose_name = _("count check")
        verbose_name_plural = _("count checks")
        ordering = ["-at"]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d} #{self.statement_id}: {self.found} -> {self.expected}"
        )


class SigningSwitch(models.Model):
    """Pausing all signing at once (one row); statements also pause one by one."""

    paused = models.BooleanField(_("signing paused on every statement"), default=False)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("signing switch")
        verbose_name_plural = _("signing switch")

    def __str__(self) -> str:
        return str(_("Signing paused")) if self.paused else str(_("Signing open"))
