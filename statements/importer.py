"""Reading statements from Markdown files with YAML front matter.

A file is either an original (it creates or updates the statement with its slug) or,
with `translation_of`, another language version of an existing statement. Every
file is checked completely before anything is written, and written in its own
transaction: a bad file leaves nothing behind and does not stop the others.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django_countries import countries as country_registry

from ima_site.languages import is_known_language
from ima_site.models import record_audit_entry
from statements.models import (
    DEFAULT_ISSUER,
    Link,
    MediaContact,
    Statement,
    StatementVersion,
    Topic,
)
from statements.services import WorkflowError, move_statement_as_site

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.S | re.M)
VERSION_FIELDS = {"title", "subtitle", "summary", "language", "translation_of", "slug"}
STATEMENT_FIELDS = {
    "kind", "issued_on", "dateline", "issuer", "signed_by", "signed_by_role",
    "addressees", "countries", "topics", "slogans", "links", "contacts", "status",
    "accepts_signatures", "signature_goal", "signers", "signing_closes_at",
    "signing_paused", "signatories_shown",
}  # fmt: skip
# Statement fields that a translation file may give for its own version; it
# ignores the others, which belong to the original.
TRANSLATED_FIELDS = ["slogans", "addressees", "signed_by_role"]
IMPORTABLE_STATUSES = {"published", "draft"}
DATE_ONLY = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


class FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a bad date is reported by its field."""


FrontMatterLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp) for tag, regexp in resolvers if not tag.endswith(":timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class FileError(Exception):
    """A problem with one field of one file."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass
class ParsedFile:
    path: Path
    data: dict[str, Any]
    body: str

    @property
    def is_translation(self) -> bool:
        return bool(self.data.get("translation_of"))


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def collect_files(paths: list[str]) -> list[Path]:
    """Markdown files named on the command line or found in the named folders."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.md") if p.is_file()))
        else:
            found.append(path)
    return found


def read_front_matter(
    path: Path, loader: type[yaml.SafeLoader] = FrontMatterLoader
) -> tuple[dict, str]:
    """A Markdown file's YAML front matter and its body, or a FileError naming what
    is wrong: unreadable, not UTF-8, no front matter, broken YAML, not a mapping."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FileError("file", f"cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileError(
            "file", f"is not UTF-8 (byte 0x{raw[error.start]:02x} at {error.start})"
        ) from None
    text = text.removeprefix("\ufeff")
    match = FRONT_MATTER.match(text)
    if not match:
        raise FileError(
            "front matter", "the file must start with a block between --- lines"
        )
    try:
        data = yaml.load(match.group(1), Loader=loader)  # noqa: S506
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise FileError("front matter", f"broken YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise FileError("front matter", "must be a mapping of field: value")
    return data, text[match.end() :].strip("\n")


def parse_file(path: Path) -> ParsedFile:
    data, body = read_front_matter(path)
    unknown = sorted(set(map(str, data)) - VERSION_FIELDS - STATEMENT_FIELDS)
    if unknown:
        raise FileError(unknown[0], "unknown field")
    return ParsedFile(path=path, data=clean_fields(data), body=body)


def text_field(
    data: dict, name: str, max_length: int, *, required: bool = False
) -> str:
    """A text field of front matter, stripped; YAML's unquoted yes/no (booleans),
    lists and mappings are refused rather than stored as "True"."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise FileError(name, "is required")
        return ""
    if isinstance(value, (dict, list, bool)):
        raise FileError(name, "must be text")
    value = str(value).strip()
    if len(value) > max_length:
        raise FileError(name, f"is longer than {max_length} characters")
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise FileError(name, "contains control characters")
    return value


def _list(data: dict, name: str) -> list:
    value = data.get(name)
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    if not isinstance(value, list):
        raise FileError(name, "must be a list")
    return value


def _mapping(item: Any, name: str, index: int) -> dict:
    if not isinstance(item, dict):
        raise FileError(
            f"{name}[{index}]", "must be a mapping such as {title: …, url: …}"
        )
    return item


def clean_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Check every field and return them in the types the models take."""
    clean: dict[str, Any] = {
        "title": text_field(data, "title", 300, required=True),
        "subtitle": text_field(data, "subtitle", 300),
        "summary": text_field(data, "summary", 2000),
        "translation_of": text_field(data, "translation_of", 200),
    }
    language = text_field(data, "language", 8) or "en"
    if not is_known_language(language):
        raise FileError("language", f"{language!r} is not an ISO 639-1 language code")
    clean["language"] = language

    if clean["translation_of"]:
        # A translation joins its original; its own slug, if any, is not used.
        clean["slug"] = ""
    else:
        slug = text_field(data, "slug", 200) or slugify(clean["title"])[:200].rstrip(
            "-"
        )
        try:
            validate_slug(slug)
        except ValidationError:
            raise FileError(
                "slug",
                f"{slug!r} is not a slug (letters, digits, - and _): give one",
            ) from None
        clean["slug"] = slug

    kind = text_field(data, "kind", 32) or Statement.Kind.STATEMENT
    if kind not in Statement.Kind.values:
        raise FileError(
            "kind", f"{kind!r} is not one of {', '.join(Statement.Kind.values)}"
        )
    clean["kind"] = kind

    issued_on = data.get("issued_on")
    if isinstance(issued_on, datetime.datetime):
        issued_on = issued_on.date()
    elif issued_on is not None and not isinstance(issued_on, datetime.date):
        try:
            issued_on = datetime.date.fromisoformat(str(issued_on).strip())
        except ValueError:
            raise FileError(
                "issued_on", f"{issued_on!r} is not a date (YYYY-MM-DD)"
            ) from None
    clean["issued_on"] = issued_on

    for name, length in [("dateline", 200), ("issuer", 200), ("signed_by", 200),
                         ("signed_by_role", 200), ("addressees", 500)]:  # fmt: skip
        clean[name] = text_field(data, name, length)
    clean["issuer"] = clean["issuer"] or DEFAULT_ISSUER

    codes = []
    for code in _list(data, "countries"):
        code = str(code).strip().upper()
        if code not in country_registry:
            raise FileError(
                "countries", f"{code!r} is not an ISO 3166-1 alpha-2 country code"
            )
        codes.append(code)
    clean["countries"] = list(dict.fromkeys(codes))

    topics = {}
    for name in _list(data, "topics"):
        topic_slug = slugify(str(name))
        if not topic_slug or len(str(name)) > 80:
            raise FileError("topics", f"{name!r} is not a topic (1 to 80 characters)")
        topics[topic_slug] = str(name).strip()
    clean["topics"] = topics

    slogans = _list(data, "slogans")
    for index, slogan in enumerate(slogans):
        if not isinstance(slogan, str) or not slogan.strip() or len(slogan) > 300:
            raise FileError(f"slogans[{index}]", "must be text of 1 to 300 characters")
    clean["slogans"] = [s.strip() for s in slogans]

    web = URLValidator(schemes=["http", "https"])
    links = []
    for index, item in enumerate(_list(data, "links")):
        item = _mapping(item, "links", index)
        link = {
            "title": text_field(item, "title", 300, required=True),
            "url": text_field(item, "url", 1000, required=True),
            "source": text_field(item, "source", 200),
        }
        try:
            if link["url"].split(":", 1)[0] not in ("http", "https"):
                raise ValidationError("scheme")
            web(link["url"])
        except ValidationError:
            raise FileError(
                f"links[{index}].url", f"{link['url']!r} is not an http(s) address"
            ) from None
        links.append(link)
    clean["links"] = links

    contacts = []
    for index, item in enumerate(_list(data, "contacts")):
        item = _mapping(item, "contacts", index)
        contact = {
            "name": text_field(item, "name", 200, required=True),
            "role": text_field(item, "role", 200),
            "organization": text_field(item, "organization", 200),
            "phone": text_field(item, "phone", 60),
            "email": text_field(item, "email", 254),
            "team": text_field(item, "team", 100),
        }
        if contact["email"]:
            try:
                validate_email(contact["email"])
            except ValidationError:
                raise FileError(
                    f"contacts[{index}].email", f"{contact['email']!r} is not an email"
                ) from None
        contacts.append(contact)
    clean["contacts"] = contacts

    status = data.get("status")
    if status is not None and (
        not isinstance(status, str) or status not in IMPORTABLE_STATUSES
    ):
        raise FileError("status", f"{status!r} is not one of published, draft")
    clean["status"] = status

    accepts = data.get("accepts_signatures", False)
    if not isinstance(accepts, bool):
        raise FileError("accepts_signatures", "must be true or false")
    clean["accepts_signatures"] = accepts

    goal = data.get("signature_goal")
    if goal is not None and (
        isinstance(goal, bool) or not isinstance(goal, int) or goal <= 0
    ):
        raise FileError("signature_goal", f"{goal!r} is not a positive whole number")
    clean["signature_goal"] = goal

    for name, choices in [("signers", Statement.Signers),
                          ("signatories_shown", Statement.Shown)]:  # fmt: skip
        value = data.get(name)
        if value is None:
            clean[name] = choices.values[0]
        elif isinstance(value, str) and value in choices.values:
            clean[name] = value
        else:
            raise FileError(
                name, f"{value!r} is not one of {', '.join(choices.values)}"
            )

    paused = data.get("signing_paused", False)
    if not isinstance(paused, bool):
        raise FileError("signing_paused", "must be true or false")
    clean["signing_paused"] = paused
    clean["signing_closes_at"] = _moment(data, "signing_closes_at")
    return clean


def _moment(data: dict, name: str) -> datetime.datetime | None:
    """A date and time; without an offset it is in TIME_ZONE, as in the admin."""
    value = data.get(name)
    if value is None or value == "":
        return None
    text = value.strip() if isinstance(value, str) else ""
    if DATE_ONLY.fullmatch(text):
        # Midnight at the start of the day is rarely what "closes on 31 July" means.
        raise FileError(name, f"{value!r} has no time of day (YYYY-MM-DD HH:MM)")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise FileError(
            name, f"{value!r} is not a date and time (YYYY-MM-DD HH:MM[+08:00])"
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def save_original(parsed: ParsedFile) -> bool:
    """Create or update the statement and its original version; True if created."""
    data = parsed.data
    existing = Statement.objects.select_for_update().filter(slug=data["slug"]).first()
    statement = existing or Statement(slug=data["slug"])
    created = existing is None
    previous_status = existing.status if existing else None
    for name in ["kind", "issued_on", "dateline", "issuer", "signed_by",
                 "signed_by_role", "addressees", "countries", "slogans",
                 "accepts_signatures", "signature_goal", "signers",
                 "signing_closes_at", "signatories_shown"]:  # fmt: skip
        setattr(statement, name, data[name])
    # A pause set in the admin (during an attack, say) stands: only the admin lifts it.
    statement.signing_paused = statement.signing_paused or data["signing_paused"]
    statement.save()

    topics = []
    for slug, name in data["topics"].items():
        topic, _ = Topic.objects.get_or_create(slug=slug, defaults={"name": name})
        topics.append(topic)
    statement.topics.set(topics)

    statement.links.all().delete()
    Link.objects.bulk_create(
        Link(statement=statement, position=i, **link)
        for i, link in enumerate(data["links"])
    )
    statement.contacts.all().delete()
    MediaContact.objects.bulk_create(
        MediaContact(statement=statement, position=i, **contact)
        for i, contact in enumerate(data["contacts"])
    )

    statement.versions.exclude(language=data["language"]).update(is_original=False)
    StatementVersion.objects.update_or_create(
        statement=statement,
        language=data["language"],
        defaults={
            "is_original": True,
            "title": data["title"],
            "subtitle": data["subtitle"],
            "summary": data["summary"],
            "body": parsed.body,
        },
    )

    # `status: published` publishes a new statement or one still being written,
    # along the workflow's own path (a draft through review), with the site as
    # actor. A re-import never unpublishes, unschedules, unarchives or brings back
    # a withdrawn statement: what organizers did in the admin stands.
    if data["status"] == "published" and statement.status in {
        Statement.Status.DRAFT,
        Statement.Status.IN_REVIEW,
    }:
        why = {"file": parsed.path.name}
        if statement.status == Statement.Status.DRAFT:
            statement = move_statement_as_site(
                statement=statement,
                to=Statement.Status.IN_REVIEW,
                source="import",
                details=why,
            )
        statement = move_statement_as_site(
            statement=statement,
            to=Statement.Status.PUBLISHED,
            source="import",
            details=why,
        )
    record_audit_entry(
        actor=None,
        action="statement.import",
        obj=statement,
        details={
            "file": parsed.path.name,
            "from": previous_status,
            "to": statement.status,
        },
    )
    return created


def save_translation(parsed: ParsedFile) -> bool:
    """Create or update one language version of an existing statement."""
    data = parsed.data
    statement = Statement.objects.filter(slug=data["translation_of"]).first()
    if statement is None:
        raise FileError(
            "translation_of",
            f"there is no statement with the slug {data['translation_of']!r}",
        )
    existing = statement.versions.filter(language=data["language"]).first()
    if existing and existing.is_original:
        raise FileError(
            "language", f"{data['language']!r} is the language of the original"
        )
    version = existing or StatementVersion(
        statement=statement, language=data["language"]
    )
    version.title = data["title"]
    version.subtitle = data["subtitle"]
    version.summary = data["summary"]
    version.body = parsed.body
    for name in TRANSLATED_FIELDS:
        # A translation file is often a copy of the original's with the text
        # translated: a field left as the original's has it, and falls back to it
        # (and follows the original's later changes) rather than keeping a copy
        # shown as if it were in this language.
        given = data[name]
        if given == getattr(statement, name):
            given = [] if name == "slogans" else ""
        setattr(version, name, given)
    version.save()
    record_audit_entry(
        actor=None,
        action="statement.import_translation",
        obj=statement,
        details={"file": parsed.path.name, "language": data["language"]},
    )
    return existing is None


def import_files(paths: list[Path], progress=None) -> Report:
    """Import every file; originals first, so that translations find them."""
    report = Report()
    parsed: list[ParsedFile] = []
    for path in paths:
        try:
            parsed.append(parse_file(path))
        except FileError as error:
            report.failed.append((str(path), str(error)))
            if progress:
                progress(1)
    parsed.sort(key=lambda item: item.is_translation)
    seen: dict[tuple[str, str], Path] = {}
    for item in parsed:
        try:
            created = import_one(item, seen)
        except FileError as error:
            report.failed.append((str(item.path), str(error)))
        except WorkflowError as error:
            report.failed.append((str(item.path), f"status: {error}"))
        except (DatabaseError, ValidationError) as error:
            report.failed.append((str(item.path), f"database: {error}".strip()))
        else:
            (report.created if created else report.updated).append(str(item.path))
        if progress:
            progress(1)
    return report


def import_one(item: ParsedFile, seen: dict[tuple[str, str], Path]) -> bool:
    """Write one file in its own transaction; True if it created something."""
    if item.is_translation:
        key, field = (item.data["translation_of"], item.data["language"]), "language"
    else:
        key, field = (item.data["slug"], ""), "slug"
    if key in seen:
        raise FileError(field, f"the same version is also in {seen[key]}")
    seen[key] = item.path
    with transaction.atomic():
        return save_translation(item) if item.is_translation else save_original(item)
