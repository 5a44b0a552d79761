"""Reading campaigns from Markdown files with YAML front matter.

The same rules as the statements' importer: every file is checked completely
before anything is written, and written in its own transaction, so a bad file
leaves nothing behind and does not stop the others; a file names the campaign by
its slug, and importing it again updates that campaign. Actions are matched by
their slug within the campaign; an action no longer in the file is kept (alerts
and pledges refer to it).
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import DatabaseError, transaction
from django.utils.text import slugify
from django_countries import countries as country_registry

from campaigns.models import Action, Campaign, CampaignStatement
from ima_site.languages import is_known_language
from ima_site.models import record_audit_entry
from signatories.csv_import import known_time_zones
from statements.importer import FRONT_MATTER, FileError, FrontMatterLoader
from statements.models import Statement

CAMPAIGN_FIELDS = {
    "title", "slug", "summary", "language", "target_country", "target_authority",
    "hashtag", "status", "starts_on", "ends_on", "demands", "statements", "actions",
}  # fmt: skip
ACTION_FIELDS = {"slug", "kind", "title", "date", "starts", "ends", "at",
                 "instructions"}  # fmt: skip
PLACE_FIELDS = {"name", "address", "city", "country", "latitude", "longitude",
                "time_zone"}  # fmt: skip
WALL_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class CampaignLoader(FrontMatterLoader):
    """Front matter YAML where 10:00 stays the text "10:00".

    YAML 1.1 reads an unquoted 10:00 as the base-60 number 600.
    """


CampaignLoader.yaml_implicit_resolvers = {
    first: (
        [("tag:yaml.org,2002:str", re.compile(r"^\d{1,2}:\d{2}$"))] + resolvers
        if first in "0123456789"
        else resolvers
    )
    for first, resolvers in FrontMatterLoader.yaml_implicit_resolvers.items()
}


@dataclass
class ParsedCampaign:
    path: Path
    data: dict[str, Any]
    body: str


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def parse_file(path: Path) -> ParsedCampaign:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FileError("file", f"cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise FileError(
            "file", f"is not UTF-8 (byte 0x{raw[error.start]:02x} at {error.start})"
        ) from None
    match = FRONT_MATTER.match(text)
    if not match:
        raise FileError(
            "front matter", "the file must start with a block between --- lines"
        )
    try:
        data = yaml.load(match.group(1), Loader=CampaignLoader)  # noqa: S506
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise FileError("front matter", f"broken YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise FileError("front matter", "must be a mapping of field: value")
    unknown = sorted(set(map(str, data)) - CAMPAIGN_FIELDS)
    if unknown:
        raise FileError(unknown[0], "unknown field")
    return ParsedCampaign(
        path=path, data=clean_fields(data), body=text[match.end() :].strip("\n")
    )


def _text(data: dict, name: str, max_length: int, *, required=False) -> str:
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
    if not isinstance(value, list):
        raise FileError(name, "must be a list")
    return value


def _country(data: dict, name: str, *, required: bool = True) -> str:
    code = _text(data, name, 10, required=required).upper()
    if code and (len(code) != 2 or code not in country_registry):
        raise FileError(name, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _date(data: dict, name: str, *, required: bool = False) -> datetime.date | None:
    value = _text(data, name, 20, required=required)
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise FileError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _wall_clock(data: dict, name: str, *, required: bool) -> datetime.time | None:
    value = _text(data, name, 10, required=required)
    if not value:
        return None
    match = WALL_CLOCK.fullmatch(value)
    if not match:
        raise FileError(name, f'{value!r} is not a local time such as "10:00"')
    return datetime.time(int(match.group(1)), int(match.group(2)))


def _slug(data: dict, name: str, fallback: str, max_length: int) -> str:
    slug = _text(data, name, max_length) or slugify(fallback)[:max_length].rstrip("-")
    try:
        validate_slug(slug)
    except ValidationError:
        raise FileError(
            name, f"{slug!r} is not a slug (letters, digits, - and _): give one"
        ) from None
    return slug


def _coordinate(data: dict, name: str, limit: float) -> float | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FileError(name, f"{value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise FileError(name, f"{value!r} is not a number") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise FileError(name, f"{value!r} is not between -{limit:g} and {limit:g}")
    return number


def clean_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Check every field and return them in the types the models take."""
    title = _text(data, "title", 300, required=True)
    clean: dict[str, Any] = {
        "title": title,
        "slug": _slug(data, "slug", title, 200),
        "summary": _text(data, "summary", 2000),
        "target_country": _country(data, "target_country"),
        "target_authority": _text(data, "target_authority", 300),
        "hashtag": _text(data, "hashtag", 100),
        "starts_on": _date(data, "starts_on"),
        "ends_on": _date(data, "ends_on"),
    }
    language = _text(data, "language", 8) or "en"
    if not is_known_language(language):
        raise FileError("language", f"{language!r} is not an ISO 639-1 language code")
    clean["language"] = language
    if (
        clean["starts_on"]
        and clean["ends_on"]
        and clean["ends_on"] < clean["starts_on"]
    ):
        raise FileError("ends_on", "is before starts_on")
    status = _text(data, "status", 16) or Campaign.Status.DRAFT
    if status not in Campaign.Status.values:
        raise FileError(
            "status", f"{status!r} is not one of {', '.join(Campaign.Status.values)}"
        )
    clean["status"] = status

    demands = []
    for index, demand in enumerate(_list(data, "demands")):
        if not isinstance(demand, str) or not demand.strip() or len(demand) > 300:
            raise FileError(f"demands[{index}]", "must be text of 1 to 300 characters")
        demands.append(" ".join(demand.split()))
    clean["demands"] = demands

    timeline: list[tuple[str, str]] = []
    for index, item in enumerate(_list(data, "statements")):
        where = f"statements[{index}]"
        if isinstance(item, dict):
            unknown = sorted(set(map(str, item)) - {"slug", "role"})
            if unknown:
                raise FileError(f"{where}.{unknown[0]}", "unknown field")
            slug = _text(item, "slug", 200, required=True)
            role = _text(item, "role", 16)
            if role and role not in CampaignStatement.Role.values:
                raise FileError(
                    f"{where}.role",
                    f"{role!r} is not one of "
                    f"{', '.join(CampaignStatement.Role.values)}",
                )
        elif isinstance(item, str) and item.strip():
            slug, role = item.strip(), ""
        else:
            raise FileError(where, "must be a statement's slug")
        if any(slug == seen for seen, _role in timeline):
            raise FileError(where, f"{slug!r} is listed twice")
        timeline.append((slug, role))
    clean["statements"] = timeline

    actions = []
    for index, item in enumerate(_list(data, "actions")):
        actions.append(_clean_action(item, f"actions[{index}]"))
    slugs = [action["slug"] for action in actions]
    for index, slug in enumerate(slugs):
        if slug in slugs[:index]:
            raise FileError(f"actions[{index}].slug", f"{slug!r} is used twice")
    clean["actions"] = actions
    return clean


def _clean_action(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise FileError(where, "must be a mapping such as {title: …, date: …}")
    unknown = sorted(set(map(str, item)) - ACTION_FIELDS)
    if unknown:
        raise FileError(f"{where}.{unknown[0]}", "unknown field")
    try:
        title = _text(item, "title", 300, required=True)
        action: dict[str, Any] = {
            "title": title,
            "slug": _slug(item, "slug", title, 120),
            "date": _date(item, "date", required=True),
            "starts": _wall_clock(item, "starts", required=True),
            "ends": _wall_clock(item, "ends", required=False),
            "instructions": _text(item, "instructions", 20000),
        }
        kind = _text(item, "kind", 20, required=True)
        if kind not in Action.Kind.values:
            raise FileError(
                "kind", f"{kind!r} is not one of {', '.join(Action.Kind.values)}"
            )
        action["kind"] = kind
        if action["ends"] is not None and action["ends"] <= action["starts"]:
            raise FileError("ends", "is not after starts")
    except FileError as error:
        raise FileError(
            f"{where}.{error.field}", str(error).split(": ", 1)[1]
        ) from None
    action.update(_clean_place(item.get("at"), f"{where}.at"))
    return action


def _clean_place(at: Any, where: str) -> dict[str, Any]:
    empty = {
        "where": Action.Where.NEAREST_MISSION, "place_name": "", "place_address": "",
        "place_city": "", "place_country": "", "place_latitude": None,
        "place_longitude": None, "place_time_zone": "",
    }  # fmt: skip
    if at is None or at == Action.Where.NEAREST_MISSION:
        return empty
    if not isinstance(at, dict):
        raise FileError(
            where,
            "must be nearest_mission or a place {name, city, country, time_zone…}",
        )
    unknown = sorted(set(map(str, at)) - PLACE_FIELDS)
    if unknown:
        raise FileError(f"{where}.{unknown[0]}", "unknown field")
    try:
        place = {
            "where": Action.Where.PLACE,
            "place_name": _text(at, "name", 300, required=True),
            "place_address": _text(at, "address", 1000),
            "place_city": _text(at, "city", 120, required=True),
            "place_country": _country(at, "country"),
            "place_latitude": _coordinate(at, "latitude", 90),
            "place_longitude": _coordinate(at, "longitude", 180),
            "place_time_zone": _text(at, "time_zone", 64, required=True),
        }
        if (place["place_latitude"] is None) != (place["place_longitude"] is None):
            missing = "longitude" if place["place_longitude"] is None else "latitude"
            raise FileError(missing, "is required when the other coordinate is given")
        if place["place_time_zone"] not in known_time_zones():
            raise FileError(
                "time_zone",
                f"{place['place_time_zone']!r} is not a time zone name such as "
                "Asia/Manila",
            )
    except FileError as error:
        raise FileError(
            f"{where}.{error.field}", str(error).split(": ", 1)[1]
        ) from None
    return place


def default_role(index: int, statement: Statement) -> str:
    """Without a role in the file: sign-on letters are letters, the first other
    statement launches the campaign, the rest are updates."""
    if statement.kind == Statement.Kind.SIGN_ON_LETTER:
        return CampaignStatement.Role.SIGN_ON_LETTER
    return (
        CampaignStatement.Role.LAUNCH if index == 0 else CampaignStatement.Role.UPDATE
    )


def save_campaign(parsed: ParsedCampaign) -> bool:
    """Create or update the campaign, its timeline and its actions; True if created."""
    data = parsed.data
    statements = {
        statement.slug: statement
        for statement in Statement.objects.filter(
            slug__in=[slug for slug, _role in data["statements"]]
        )
    }
    for index, (slug, _role) in enumerate(data["statements"]):
        if slug not in statements:
            raise FileError(
                f"statements[{index}]", f"there is no statement with the slug {slug!r}"
            )
    existing = Campaign.objects.select_for_update().filter(slug=data["slug"]).first()
    campaign = existing or Campaign(slug=data["slug"])
    previous_status = existing.status if existing else None
    for name in ["title", "summary", "language", "target_country", "target_authority",
                 "hashtag", "starts_on", "ends_on", "demands"]:  # fmt: skip
        setattr(campaign, name, data[name])
    campaign.body = parsed.body
    # A re-import does not take a public campaign back to draft: an organizer made
    # it public, and only the admin undoes that.
    if not (existing and existing.is_public() and data["status"] == "draft"):
        campaign.status = data["status"]
    campaign.save()

    campaign.timeline.all().delete()
    CampaignStatement.objects.bulk_create(
        CampaignStatement(
            campaign=campaign,
            statement=statements[slug],
            role=role or default_role(index, statements[slug]),
            position=index,
        )
        for index, (slug, role) in enumerate(data["statements"])
    )

    actions = {action.slug: action for action in campaign.actions.all()}
    for values in data["actions"]:
        action = actions.get(values["slug"]) or Action(campaign=campaign)
        for name, value in values.items():
            setattr(action, name, value)
        action.save()

    record_audit_entry(
        actor=None,
        action="campaign.import",
        obj=campaign,
        details={"file": parsed.path.name, "from": previous_status,
                 "to": campaign.status},
    )  # fmt: skip
    return existing is None


def import_files(paths: list[Path], progress=None) -> Report:
    """Import every file, each in its own transaction."""
    report = Report()
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            parsed = parse_file(path)
            if parsed.data["slug"] in seen:
                raise FileError(
                    "slug", f"the same campaign is also in {seen[parsed.data['slug']]}"
                )
            seen[parsed.data["slug"]] = path
            with transaction.atomic():
                created = save_campaign(parsed)
        except FileError as error:
            report.failed.append((str(path), str(error)))
        except (DatabaseError, ValidationError) as error:
            report.failed.append((str(path), f"database: {error}".strip()))
        else:
            (report.created if created else report.updated).append(str(path))
        if progress:
            progress(1)
    return report
