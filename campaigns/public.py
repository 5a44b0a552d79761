"""What the public may see of a campaign: the same rules for its pages and its API.

Before an action takes place, only how many cities have pledged it: an embassy must
not learn who will protest, or where. Afterwards, the held actions whose report an
organizer approved, by city, and those reports. Never a contact, never an
organization that asked not to be listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Case, CharField, Count, F, Prefetch, Q, Value, When
from django.db.models.functions import Cast, Concat, Lower
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_countries import countries as country_registry

from campaigns.models import (
    Action,
    Campaign,
    CampaignStatement,
    Mission,
    Pledge,
    ReportPhoto,
)
from signatories.services.counts import statement_counts
from statements.models import Statement

# The last zone on Earth to reach a date: when no mission says better, an action at
# "the nearest mission" is over once it is over there.
LATEST_ZONE = ZoneInfo("Etc/GMT+12")


def public_campaigns():
    return Campaign.objects.exclude(status=Campaign.Status.DRAFT)


def country_name(code: str) -> str:
    return country_registry.name(code) or code


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return LATEST_ZONE


def action_ends_at(action: Action, mission_zones: list[str]) -> datetime:
    """When the action is over everywhere it takes place (aware)."""
    wall_clock = action.ends or action.starts or time(23, 59)
    if action.where == Action.Where.PLACE:
        return datetime.combine(action.date, wall_clock, _zone(action.place_time_zone))
    zones = [_zone(name) for name in mission_zones] or [LATEST_ZONE]
    return max(datetime.combine(action.date, wall_clock, zone) for zone in zones)


def target_zones(target_country: str) -> list[str]:
    """The time zones of the target country's missions worldwide (one query)."""
    return list(
        Mission.objects.filter(represented_country=target_country)
        .order_by()
        .values_list("time_zone", flat=True)
        .distinct()
    )


def photo_url(photo_id: int) -> str | None:
    """The photo view, when the part of the site that serves photos is installed."""
    try:
        return reverse("campaigns:report_photo", args=[photo_id])
    except NoReverseMatch:
        return None


@dataclass
class HeldPlace:
    city: str
    country: str
    country_name: str
    actions: int = 0
    people: int = 0
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class PublicReport:
    organization: str  # "" when the organization asked not to be listed
    city: str
    country_name: str
    people: int | None
    account: str
    press_links: list[str]
    photo_urls: list[str]


@dataclass
class PublicAction:
    action: Action
    is_over: bool
    ends_at: datetime
    pledged_cities: int = 0
    held_places: list[HeldPlace] = field(default_factory=list)
    reports: list[PublicReport] = field(default_factory=list)

    @property
    def held_count(self) -> int:
        return sum(place.actions for place in self.held_places)

    @property
    def map_points(self) -> list[tuple[float, float, str]]:
        return [
            (lat, lon, f"{place.city}, {place.country_name}")
            for place in self.held_places
            for lat, lon in place.points
        ]


def _city_key():
    """A pledge's city: its mission's, else the named place's, else its
    organization's; spelled the same in any case, so that "Tokyo" and "TOKYO" are
    one. The organization stands alone when it has not given a city."""

    def city(country: str, name: str):
        return Concat(F(country), Value("|"), Lower(F(name)), output_field=CharField())

    return Case(
        When(
            mission__isnull=False, then=city("mission__host_country", "mission__city")
        ),
        When(
            action__where=Action.Where.PLACE,
            then=city("action__place_country", "action__place_city"),
        ),
        When(
            ~Q(organization__city=""),
            then=city("organization__country", "organization__city"),
        ),
        default=Concat(
            Value("organization|"),
            Cast("organization_id", CharField()),
            output_field=CharField(),
        ),
        output_field=CharField(),
    )


def public_actions(
    campaign: Campaign, *, now: datetime | None = None
) -> list[PublicAction]:
    """The campaign's actions as the public may see them, in a fixed number of
    queries whatever the number of actions and pledges."""
    now = now or timezone.now()
    actions = list(campaign.actions.all())
    if not actions:
        return []
    zones = target_zones(campaign.target_country)
    shown = []
    for action in actions:
        ends_at = action_ends_at(action, zones)
        shown.append(
            PublicAction(action=action, ends_at=ends_at, is_over=ends_at <= now)
        )
    upcoming = [item.action.pk for item in shown if not item.is_over]
    over = {item.action.pk: item for item in shown if item.is_over}
    if upcoming:
        cities = (
            Pledge.objects.filter(action_id__in=upcoming)
            .exclude(status=Pledge.Status.CANCELLED)
            .order_by()
            .values("action_id")
            .annotate(cities=Count(_city_key(), distinct=True))
        )
        by_action = {row["action_id"]: row["cities"] for row in cities}
        for item in shown:
            item.pledged_cities = by_action.get(item.action.pk, 0)
    if over:
        reports = (
            Pledge.objects.filter(
                action_id__in=over,
                status=Pledge.Status.HELD,
                approved_at__isnull=False,
            )
            .select_related("mission", "organization", "action")
            .prefetch_related(
                Prefetch("photos", queryset=ReportPhoto.objects.only("id", "pledge_id"))
            )
            .order_by("action_id", "reported_at", "id")
        )
        for pledge in reports:
            _add_report(over[pledge.action_id], pledge)
    return shown


def _pledge_place(pledge: Pledge) -> tuple[str, str, tuple[float, float] | None]:
    action, mission, organization = pledge.action, pledge.mission, pledge.organization
    if mission is not None:
        point = None
        if mission.latitude is not None and mission.longitude is not None:
            point = (mission.latitude, mission.longitude)
        return mission.city, mission.host_country, point
    if action.where == Action.Where.PLACE:
        point = None
        if action.place_latitude is not None and action.place_longitude is not None:
            point = (action.place_latitude, action.place_longitude)
        return action.place_city, action.place_country, point
    # No mission recorded: the organization's city, but never its coordinates,
    # which can be its office.
    return organization.city, organization.country, None


def _add_report(item: PublicAction, pledge: Pledge) -> None:
    city, country, point = _pledge_place(pledge)
    key = (country, city.casefold())
    place = next(
        (p for p in item.held_places if (p.country, p.city.casefold()) == key), None
    )
    if place is None:
        place = HeldPlace(
            city=city, country=country, country_name=country_name(country)
        )
        item.held_places.append(place)
    place.actions += 1
    place.people += pledge.people or 0
    if point is not None and point not in place.points:
        place.points.append(point)
    organization = pledge.organization
    item.reports.append(
        PublicReport(
            organization=organization.name if organization.listed else "",
            city=city,
            country_name=country_name(country),
            people=pledge.people,
            account=pledge.account,
            press_links=[
                link
                for link in pledge.press_links
                if link.lower().startswith(("https://", "http://"))
            ],
            photo_urls=[
                url for photo in pledge.photos.all() if (url := photo_url(photo.pk))
            ],
        )
    )
    item.held_places.sort(key=lambda p: (p.country_name, p.city.casefold()))


@dataclass
class TimelineEntry:
    statement: Statement
    role: str
    role_label: str
    on: date | None
    title: str
    url: str
    signatures: int | None  # sign-on letters taking signatures


def timeline(campaign: Campaign, language: str) -> list[TimelineEntry]:
    """The campaign's public statements by date, with their role."""
    links = (
        CampaignStatement.objects.filter(
            campaign=campaign, statement__in=Statement.objects.public()
        )
        .select_related("statement")
        .prefetch_related("statement__versions")
    )
    entries = []
    for link in links:
        statement = link.statement
        version = statement.version_for(language)
        if version is None:
            continue
        on = statement.issued_on or (
            timezone.localdate(statement.publish_at) if statement.publish_at else None
        )
        signatures = None
        if (
            link.role == CampaignStatement.Role.SIGN_ON_LETTER
            and statement.accepts_signatures
        ):
            signatures = statement_counts(statement)["total"]
        entries.append(
            TimelineEntry(
                statement=statement,
                role=link.role,
                role_label=link.get_role_display(),
                on=on,
                title=version.title,
                url=version.get_absolute_url(),
                signatures=signatures,
            )
        )
    entries.sort(key=lambda e: (e.on or date.max, e.statement.pk))
    return entries


def campaign_map_points(campaign: Campaign) -> list[tuple[float, float, str]]:
    points: list[tuple[float, float, str]] = []
    for item in public_actions(campaign):
        points.extend(item.map_points)
    return points
