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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import DatabaseError, transaction
from django.utils.text import slugify
from django_countries import countries as country_registry

from campaigns.models import Action, Campaign, CampaignStatement
from ima_site.languages import is_known_language
from ima_site.models import record_audit_entry
from signatories.csv_import import known_time_zones
from statements.importer import (
    FileError,
    FrontMatterLoader,
    Report,
    read_front_matter,
    text_field,
)
from statements.models import Statement

CAMPAIGN_FIELDS = {
    "title", "slug", "summary", "language", "target_country", "target_authority",
    "hashtag", "status", "starts_on", "ends_on", "demands", "statements", "actions",
}  # fmt: skip
ACTION_FIELDS = {"slug", "kind", "title", "date", "starts", "ends", "at",
                 "instructions", "letter_template"}  # fmt: skip
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


def parse_file(path: Path) -> ParsedCampaign:
    data, body = read_front_matter(path, CampaignLoader)
    unknown = sorted(set(map(str, data)) - CAMPAIGN_FIELDS)
    if unknown:
        raise FileError(unknown[0], "unknown field")
    return ParsedCampaign(path=path, data=clean_fields(data), body=body)


def _list(data: dict, name: str) -> list:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FileError(name, "must be a list")
    return value


def _country(data: dict, name: str, *, required: bool = True) -> str:
    code = text_field(data, name, 10, required=required).upper()
    if code and (len(code) != 2 or code not in country_registry):
        raise FileError(name, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _date(data: dict, name: str, *, required: bool = False) -> datetime.date | None:
    value = text_field(data, name, 20, required=required)
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise FileError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _wall_clock(data: dict, name: str, *, required: bool) -> datetime.time | None:
    value = text_field(data, name, 10, required=required)
    if not value:
        return None
    match = WALL_CLOCK.fullmatch(value)
    if not match:
        raise FileError(name, f'{value!r} is not a local time such as "10:00"')
    return datetime.time(int(match.group(1)), int(match.group(2)))


def _slug(data: dict, name: str, fallback: str, max_length: int) -> str:
    slug = text_field(data, name, max_length) or slugify(fallback)[:max_length].rstrip(
        "-"
    )
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
    title = text_field(data, "title", 300, required=True)
    clean: dict[str, Any] = {
        "title": title,
        "slug": _slug(data, "slug", title, 200),
        "summary": text_field(data, "summary", 2000),
        "target_country": _country(data, "target_country"),
        "target_authority": text_field(data, "target_authority", 300),
        "hashtag": text_field(data, "hashtag", 100),
        "starts_on": _date(data, "starts_on"),
        "ends_on": _date(data, "ends_on"),
    }
    language = text_field(data, "language", 8) or "en"
    if not is_known_language(language):
        raise FileError("language", f"{language!r} is not an ISO 639-1 language code")
    clean["language"] = language
    if (
        clean["starts_on"]
        and clean["ends_on"]
        and clean["ends_on"] < clean["starts_on"]
    ):
        raise FileError("ends_on", "is before starts_on")
    status = text_field(data, "status", 16) or Campaign.Status.DRAFT
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
            slug = text_field(item, "slug", 200, required=True)
            role = text_field(item, "role", 16)
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
        title = text_field(item, "title", 300, required=True)
        action: dict[str, Any] = {
            "title": title,
            "slug": _slug(item, "slug", title, 120),
            "date": _date(item, "date", required=True),
            "starts": _wall_clock(item, "starts", required=True),
            "ends": _wall_clock(item, "ends", required=False),
            "instructions": text_field(item, "instructions", 20000),
            "letter_template": text_field(item, "letter_template", 20000),
        }
        kind = text_field(item, "kind", 20, required=True)
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
            "place_name": text_field(at, "name", 300, required=True),
            "place_address": text_field(at, "address", 1000),
            "place_city": text_field(at, "city", 120, required=True),
            "place_country": _country(at, "country"),
            "place_latitude": _coordinate(at, "latitude", 90),
            "place_longitude": _coordinate(at, "longitude", 180),
            "place_time_zone": text_field(at, "time_zone", 64, required=True),
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
