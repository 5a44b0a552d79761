"""Who gets an alert, and which mission of the target country each one is sent to.

Matching, for an organization and a target country (missions whose
represented_country is the target):

1. Missions hosted in the organization's own country come first. Among them,
   embassies and consulates come before permanent missions: a permanent mission
   is chosen only when the country has no embassy or consulate.
2. Within that group, with coordinates on both sides: the nearest by great-circle
   distance. Without (the organization's, or every candidate's): one in the same
   city, else any; an embassy before a consulate before a permanent mission, then
   the lowest id, so that the same data always gives the same answer.
3. No mission in the organization's country: the nearest one abroad by distance
   (any kind), flagged as abroad. Without the organization's coordinates there is
   no nearest abroad: no mission, and the matching table shows it.

An organizer's MissionChoice for the alert replaces the result for that
organization. There is no capital rule.

Great-circle nearness is computed as the largest dot product of unit vectors,
which orders missions exactly as the haversine distance does, in plain Python:
the missions of one target country are few enough to hold in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

from signatories.models import Contact

from .models import Action, LetterOfConcern, Mission, MissionChoice

BOUNCING_AFTER = 3

KIND_RANK = {
    Mission.Kind.EMBASSY: 0,
    Mission.Kind.CONSULATE: 1,
    Mission.Kind.PERMANENT_MISSION: 2,
}

# ISO 639-1 has `tl` (Tagalog); Filipinos often write `fil` (639-2). Same people.
LANGUAGE_ALIASES = {"tl": ("tl", "fil"), "fil": ("fil", "tl")}


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    organization_id: int
    organization_name: str
    mission_id: int | None
    mission_abroad: bool  # the mission is outside the organization's country
    language: str  # the version language the contact gets
    time_zone: str  # the organization's zone (for "09:00 in each recipient's zone")
    mission_chosen: bool = False  # an organizer chose it over the nearest


@dataclass(frozen=True)
class _Place:
    id: int
    country: str
    city: str
    vector: tuple[float, float, float] | None
    kind_rank: int


def _unit_vector(
    latitude: float | None, longitude: float | None
) -> tuple[float, float, float] | None:
    if latitude is None or longitude is None:
        return None
    phi, lam = math.radians(latitude), math.radians(longitude)
    cos_phi = math.cos(phi)
    return (cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi))


def _city_key(city: str | None) -> str:
    return " ".join((city or "").casefold().split())


class _Directory:
    """The missions of one target country, grouped for the matching rules."""

    def __init__(self, missions: Iterable[Any]):
        self.by_country: dict[str, list[_Place]] = {}
        self.with_coordinates: list[_Place] = []
        for row in missions:
            place = _Place(
                id=row.id,
                country=row.host_country,
                city=_city_key(row.city),
                vector=_unit_vector(row.latitude, row.longitude),
                kind_rank=KIND_RANK.get(row.kind, 3),
            )
            self.by_country.setdefault(place.country, []).append(place)
            if place.vector is not None:
                self.with_coordinates.append(place)
        self.cache: dict[tuple, tuple[int | None, bool]] = {}
        # Within a country: embassies and consulates, else permanent missions.
        self.groups: dict[str, list[_Place]] = {}
        for country, places in self.by_country.items():
            preferred = [p for p in places if p.kind_rank < 2]
            self.groups[country] = sorted(
                preferred or places, key=lambda p: (p.kind_rank, p.id)
            )
        self.abroad = sorted(self.with_coordinates, key=lambda p: (p.kind_rank, p.id))

    def match(
        self,
        country: str,
        city: str | None,
        latitude: float | None,
        longitude: float | None,
    ) -> tuple[int | None, bool]:
        key = (country, _city_key(city), latitude, longitude)
        found = self.cache.get(key)
        if found is None:
            found = self._match(*key)
            self.cache[key] = found
        return found

    def _match(
        self,
        country: str,
        city: str,
        latitude: float | None,
        longitude: float | None,
    ) -> tuple[int | None, bool]:
        vector = _unit_vector(latitude, longitude)
        group = self.groups.get(country)
        if group:
            if vector is not None:
                nearest = _nearest(vector, [p for p in group if p.vector is not None])
                if nearest is not None:
                    return nearest.id, False
            for place in group:
                if city and place.city == city:
                    return place.id, False
            return group[0].id, False
        if vector is None:
            return None, False
        nearest = _nearest(vector, self.abroad)
        return (nearest.id, True) if nearest is not None else (None, False)


def _nearest(vector: tuple[float, float, float], places: list[_Place]) -> _Place | None:
    """The place closest on the sphere; ties go to the first (kind, then id)."""
    x, y, z = vector
    best: _Place | None = None
    best_dot = -2.0
    for place in places:
        px, py, pz = place.vector  # type: ignore[misc]
        dot = x * px + y * py + z * pz
        if dot > best_dot:
            best, best_dot = place, dot
    return best


def _missions_of(target_country: str) -> list[Any]:
    return list(
        Mission.objects.filter(represented_country=target_country)
        .only(
            "id", "host_country", "city", "kind", "latitude", "longitude", "time_zone"
        )  # fmt: skip
        .order_by("id")
    )


def nearest_missions(
    organizations: Iterable[Any], target_country: str
) -> dict[int, tuple[int | None, bool]]:
    """Organization id -> (mission id or None, whether it is abroad). One query.

    `organizations` are Organization rows, or anything with id, country, city,
    latitude and longitude.
    """
    directory = _Directory(_missions_of(target_country))
    return {
        org.id: directory.match(org.country, org.city, org.latitude, org.longitude)
        for org in organizations
    }


# Letters of concern that count as sent for a reminder.
SENT_OR_WAITING = ["submitted", "approved"]


def _any_of(field: str, values: Iterable[str]) -> Q:
    condition = Q()
    for value in values:
        condition |= Q(**{f"{field}__iexact": value.strip()})
    return condition


def _audience_filter(alert) -> Q:
    """Empty lists mean any; sectors and languages match whatever their case."""
    condition = Q()
    if alert.countries:
        condition &= Q(organization__country__in=[c.upper() for c in alert.countries])
    if alert.sectors:
        condition &= _any_of("organization__sector", alert.sectors)
    if alert.members_only:
        condition &= Q(organization__is_member=True)
    if alert.languages:
        languages: set[str] = set()
        for code in alert.languages:
            languages.update(LANGUAGE_ALIASES.get(code.lower(), (code.lower(),)))
        condition &= _any_of("language", sorted(languages))
    if alert.only_without_letter:
        condition &= ~Q(
            organization_id__in=LetterOfConcern.objects.filter(
                action_id=alert.action_id, stage__in=SENT_OR_WAITING
            ).values("organization_id")
        )
    return condition


def _version_language(contact_language: str, available: set[str], original: str) -> str:
    code = (contact_language or "").lower()
    for candidate in (*LANGUAGE_ALIASES.get(code, (code,)), code.split("-")[0]):
        if candidate in available:
            return candidate
    return original


def _skip_reason(unsubscribed_at, bounces: int) -> str:
    if unsubscribed_at is not None:
        return "unsubscribed"
    if bounces >= BOUNCING_AFTER:
        return "bouncing"
    return ""


def _audience(alert) -> tuple[list[Recipient], list[tuple[Recipient, str]]]:
    """Every contact in the alert's audience, matched: (to send, (skipped, why))."""
    rows = list(
        Contact.objects.filter(_audience_filter(alert))
        .order_by("organization__name", "organization_id", "id")
        .values_list(
            "id", "language", "unsubscribed_at", "bounces", "organization_id",
            "organization__name", "organization__country", "organization__city",
            "organization__latitude", "organization__longitude",
            "organization__time_zone",
        )
    )  # fmt: skip
    versions = list(alert.versions.values_list("language", "is_original"))
    available = {language.lower() for language, _ in versions}
    original = next(
        (language for language, is_original in versions if is_original),
        versions[0][0] if versions else settings.LANGUAGE_CODE,
    )
    target_country = (
        Action.objects.filter(pk=alert.action_id)
        .values_list("campaign__target_country", flat=True)
        .get()
    )
    missions = _missions_of(target_country)
    directory = _Directory(missions)
    zone_of_mission = {mission.id: mission.time_zone for mission in missions}
    chosen = {
        choice.organization_id: (choice.mission_id, choice.mission.host_country,
                                 choice.mission.time_zone)
        for choice in MissionChoice.objects.filter(alert=alert).select_related(
            "mission"
        ).only("organization_id", "mission_id", "mission__host_country",
               "mission__time_zone")
    }  # fmt: skip

    send: list[Recipient] = []
    skipped: list[tuple[Recipient, str]] = []
    mission_id: int | None
    for (contact_id, language, unsubscribed_at, bounces, org_id, org_name, country,
         city, latitude, longitude, org_zone) in rows:  # fmt: skip
        if org_id in chosen:
            mission_id, host, mission_zone = chosen[org_id]
            abroad, was_chosen = host != country, True
        else:
            mission_id, abroad = directory.match(country, city, latitude, longitude)
            was_chosen = False
            mission_zone = zone_of_mission.get(mission_id, "") if mission_id else ""
        # Without its own zone, an organization is in its mission's when that
        # mission is in its country; else the site's.
        zone = org_zone or (mission_zone if not abroad else "") or settings.TIME_ZONE
        recipient = Recipient(
            contact_id=contact_id,
            organization_id=org_id,
            organization_name=org_name,
            mission_id=mission_id,
            mission_abroad=abroad,
            language=_version_language(language, available, original),
            time_zone=zone,
            mission_chosen=was_chosen,
        )
        reason = _skip_reason(unsubscribed_at, bounces)
        if reason:
            skipped.append((recipient, reason))
        else:
            send.append(recipient)
    return send, skipped


def alert_recipients(alert) -> list[Recipient]:
    """The contacts the alert goes to, each with its mission and language.

    Unsubscribed and bouncing contacts (bounces >= 3) are left out; see
    skipped_contacts. Five queries whatever the size of the audience.
    """
    return _audience(alert)[0]


def skipped_contacts(alert) -> list[tuple[int, str]]:
    """(contact id, "unsubscribed" | "bouncing") for the audience left out."""
    return [(r.contact_id, reason) for r, reason in _audience(alert)[1]]


def skipped_recipients(alert) -> list[tuple[Recipient, str]]:
    """Like skipped_contacts, with the matching (for rows marked skipped)."""
    return _audience(alert)[1]


def audience(alert) -> tuple[list[Recipient], list[tuple[Recipient, str]]]:
    """Both at once, from one pass: (recipients, skipped with reasons)."""
    return _audience(alert)
