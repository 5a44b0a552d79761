from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_registry

from ima_site.languages import interface_languages, language_name, text_direction
from statements.markdown import plain_text, render_markdown

DEFAULT_ISSUER = "International Migrants Alliance"


class Topic(models.Model):
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def _public_statements(self):
        # Scheduled statements count: they go public on their own, with no one to
        # look at the topic again.
        return self.statements.filter(
            status__in=[
                Statement.Status.SCHEDULED,
                Statement.Status.PUBLISHED,
                Statement.Status.ARCHIVED,
            ]
        )

    def is_public(self) -> bool:
        """A public or scheduled statement shows this topic."""
        return self._public_statements().exists()

    def public_slugs(self) -> list[str]:
        return sorted(self._public_statements().values_list("slug", flat=True))


class StatementQuerySet(models.QuerySet):
    def public(self, now=None):
        """What a visitor may see: published or archived, or scheduled and due.

        A scheduled statement counts from its publish_at on, whether or not beat
        has flipped its status yet, so it appears on time to the second.
        """
        now = now or timezone.now()
        has_original = StatementVersion.objects.filter(
            statement=OuterRef("pk"), is_original=True
        )
        return self.filter(
            Q(status__in=[Statement.Status.PUBLISHED, Statement.Status.ARCHIVED])
            | Q(status=Statement.Status.SCHEDULED, publish_at__lte=now),
            Exists(has_original),
        )

    def taking_signatures(self, now=None):
        """Of these (public) statements, those whose signing is open now: the
        queryset form of Statement.is_open_for_signing(), so that lists advertise
        what the page accepts. Chain it after public()."""
        now = now or timezone.now()
        oldest_open = now - timedelta(days=settings.SIGNATURE_MAX_AGE_DAYS)
        return self.filter(
            Q(signing_closes_at__gt=now)
            | Q(signing_closes_at__isnull=True, publish_at__gt=oldest_open)
            | Q(
                signing_closes_at__isnull=True,
                publish_at__isnull=True,
                created_at__gt=oldest_open,
            ),
            accepts_signatures=True,
            signing_paused=False,
        )

    def newest_first(self):
        return self.order_by(
            F("issued_on").desc(nulls_last=True),
            F("publish_at").desc(nulls_last=True),
            "-id",
        )

    def with_page_data(self):
        """Prefetch everything a list or a page shows, in a fixed number of queries."""
        return self.prefetch_related("versions", "topics")


class Statement(models.Model):
    class Kind(models.TextChoices):
        STATEMENT = "statement", _("Statement")
        JOINT_STATEMENT = "joint_statement", _("Joint statement")
        SIGN_ON_LETTER = "sign_on_letter", _("Sign-on letter")
        PRESS_RELEASE = "press_release", _("Press release")
        UPDATE = "update", _("Update")
        SOLIDARITY_MESSAGE = "solidarity_message", _("Solidarity message")

    class Signers(models.TextChoices):
        BOTH = "both", _("People and organizations")
        PEOPLE = "people", _("People only")
        ORGANIZATIONS = "organizations", _("Organizations only")

    class Shown(models.TextChoices):
        LIST = "list", _("Count and list of signatories")
        ORGANIZATIONS = "organizations", _("Count and signing organizations only")
        COUNT = "count", _("Count only")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        SCHEDULED = "scheduled", _("Scheduled")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    slug = models.SlugField(
        _("slug"),
        max_length=200,
        unique=True,
        help_text=_("The address of the statement: /statements/this-slug/."),
    )
    kind = models.CharField(
        _("kind"), max_length=32, choices=Kind.choices, default=Kind.STATEMENT
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.DRAFT,
        db_index=True,
    )
    publish_at = models.DateTimeField(
        _("publish at"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When it went, or will go, public."),
    )
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    dateline = models.CharField(
        _("dateline"), max_length=200, blank=True, help_text=_("Bangkok, Thailand")
    )
    issuer = models.CharField(_("issuer"), max_length=200, default=DEFAULT_ISSUER)
    signed_by = models.CharField(_("signed by"), max_length=200, blank=True)
    signed_by_role = models.CharField(
        _("role of the signer"), max_length=200, blank=True, help_text=_("chairperson")
    )
    addressees = models.CharField(
        _("addressees"),
        max_length=500,
        blank=True,
        help_text=_("To the Government of Malaysia"),
    )
    countries = ArrayField(
        models.CharField(max_length=2),
        verbose_name=_("countries"),
        default=list,
        blank=True,
        help_text=_("ISO 3166-1 alpha-2 codes."),
    )
    topics = models.ManyToManyField(
        Topic, verbose_name=_("topics"), blank=True, related_name="statements"
    )
    slogans = ArrayField(
        models.CharField(max_length=300),
        verbose_name=_("slogans and demands"),
        default=list,
        blank=True,
    )
    accepts_signatures = models.BooleanField(_("accepts signatures"), default=False)
    signature_goal = models.PositiveIntegerField(
        _("signature goal"), null=True, blank=True
    )
    signers = models.CharField(
        _("who may sign"), max_length=16, choices=Signers.choices, default=Signers.BOTH
    )
    signing_closes_at = models.DateTimeField(_("signing closes"), null=True, blank=True)
    signing_paused = models.BooleanField(
        _("signing paused"),
        default=False,
        help_text=_("Stops new signatures at once, for example during an attack."),
    )
    signatories_shown = models.CharField(
        _("signatories shown"),
        max_length=16,
        choices=Shown.choices,
        default=Shown.LIST,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = StatementQuerySet.as_manager()

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = [
            F("issued_on").desc(nulls_last=True),
            F("publish_at").desc(nulls_last=True),
            "-id",
        ]
        permissions = [
            (
                "publish_statement",
                _("Can publish, schedule, withdraw and archive statements"),
            )
        ]
        indexes = [GinIndex(fields=["countries"], name="statements_countries_gin")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="scheduled") | Q(publish_at__isnull=False),
                name="statements_statement_scheduled_has_publish_at",
            ),
            models.CheckConstraint(
                condition=Q(signature_goal__isnull=True) | Q(signature_goal__gt=0),
                name="statements_statement_goal_positive",
            ),
        ]

    def __str__(self) -> str:
        version = self.original_version()
        return version.title if version else self.slug

    def get_absolute_url(self) -> str:
        return reverse("statements:detail", args=[self.slug])

    # --- versions -------------------------------------------------------------------
    # These read self.versions.all() so that a prefetch serves them without a query.

    def original_version(self):
        versions = list(self.versions.all())
        for version in versions:
            if version.is_original:
                return version
        return versions[0] if versions else None

    def version_for(self, language: str):
        """The version in that language, else the original."""
        for version in self.versions.all():
            if version.language == language:
                return version
        return self.original_version()

    def languages(self) -> list[str]:
        return sorted(v.language for v in self.versions.all())

    # --- state ----------------------------------------------------------------------

    def is_public(self, now=None) -> bool:
        now = now or timezone.now()
        if self.status in (self.Status.PUBLISHED, self.Status.ARCHIVED):
            return True
        return bool(
            self.status == self.Status.SCHEDULED
            and self.publish_at
            and self.publish_at <= now
        )

    def is_open_for_signing(self, now=None) -> bool:
        """Signing is possible: accepts signatures, public, not paused, not closed."""
        now = now or timezone.now()
        return (
            self.accepts_signatures
            and not self.signing_paused
            and self.is_public(now)
            and self.effective_signing_close() > now
        )

    def effective_signing_close(self):
        """When signing ends: the closing time, or for a statement that never closes
        SIGNATURE_MAX_AGE_DAYS after publication, when retention erases its names
        (a signature made later would lose its name within a day)."""
        if self.signing_closes_at is not None:
            return self.signing_closes_at
        start = self.publish_at or self.created_at or timezone.now()
        return start + timedelta(days=settings.SIGNATURE_MAX_AGE_DAYS)

    def country_names(self) -> list[tuple[str, str]]:
        return [(code, country_registry.name(code) or code) for code in self.countries]


class StatementVersion(models.Model):
    """The text of a statement in one language. Exactly one version is the original."""

    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        on_delete=models.CASCADE,
        related_name="versions",
    )
    language = models.CharField(
        _("language"), max_length=8, help_text=_("ISO 639-1 code: en, es, fr, id, ar…")
    )
    is_original = models.BooleanField(_("original"), default=False)
    title = models.CharField(_("title"), max_length=300)
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    summary = models.TextField(
        _("summary"),
        blank=True,
        help_text=_("One or two sentences for lists, feeds and link previews."),
    )
    body = models.TextField(_("body"), blank=True, help_text=_("Markdown."))
    # Text of the statement outside its body, in this language. Empty falls back to
    # the statement's own field (the original's), field by field.
    slogans = ArrayField(
        models.CharField(max_length=300),
        verbose_name=_("slogans and demands"),
        default=list,
        blank=True,
        help_text=_("Empty: the original's."),
    )
    addressees = models.CharField(
        _("addressees"),
        max_length=500,
        blank=True,
        help_text=_("Empty: the original's."),
    )
    signed_by_role = models.CharField(
        _("role of the signer"),
        max_length=200,
        blank=True,
        help_text=_("Empty: the original's."),
    )
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="simple")
        + SearchVector("subtitle", "summary", weight="B", config="simple")
        + SearchVector("body", weight="C", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("language version")
        verbose_name_plural = _("language versions")
        ordering = ["-is_original", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "language"],
                name="statements_statementversion_one_per_language",
            ),
            models.UniqueConstraint(
                fields=["statement"],
                condition=Q(is_original=True),
                name="statements_statementversion_one_original",
            ),
        ]
        indexes = [GinIndex(fields=["search_vector"], name="statements_version_search")]

    def __str__(self) -> str:
        return f"{self.title} [{self.language}]"

    def get_absolute_url(self) -> str:
        """Interface languages get their own prefix; other versions a ?lang= query."""
        from django.utils.translation import override

        if self.language in interface_languages():
            with override(self.language):
                return reverse("statements:detail", args=[self.statement.slug])
        with override(settings.LANGUAGE_CODE):
            url = reverse("statements:detail", args=[self.statement.slug])
        return f"{url}?lang={self.language}"

    def shown_slogans(self) -> list[str]:
        return self.slogans or self.statement.slogans

    def shown_addressees(self) -> str:
        return self.addressees or self.statement.addressees

    def shown_signed_by_role(self) -> str:
        return self.signed_by_role or self.statement.signed_by_role

    def body_html(self) -> str:
        return render_markdown(self.body)

    def description(self) -> str:
        """The summary, or the start of the body as plain text."""
        if self.summary:
            return self.summary
        text = plain_text(self.body)
        return text if len(text) <= 240 else text[:239].rsplit(" ", 1)[0] + "…"

    def language_name(self) -> str:
        return language_name(self.language)

    def direction(self) -> str:
        return text_direction(self.language)


class Link(models.Model):
    """A "for more information" link."""

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="links"
    )
    title = models.CharField(_("title"), max_length=300)
    url = models.URLField(
        _("address"),
        max_length=1000,
        validators=[URLValidator(schemes=["http", "https"])],
    )
    source = models.CharField(_("source"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("link")
        verbose_name_plural = _("links for more information")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(url__startswith="http://") | Q(url__startswith="https://"),
                name="statements_link_url_is_web",
            )
        ]

    def __str__(self) -> str:
        return self.title


class MediaContact(models.Model):
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=200, blank=True)
    organization = models.CharField(_("organization"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    email = models.EmailField(_("email"), blank=True)
    team = models.CharField(
        _("team"), max_length=100, blank=True, help_text=_("Media, Legal support…")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("media contact")
        verbose_name_plural = _("media contacts")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def phone_uri(self) -> str:
        digits = "".join(c for c in self.phone if c.isdigit() or c == "+")
        return f"tel:{digits}" if digits else ""
