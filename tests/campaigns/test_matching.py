"""Each member gets the right mission of the target country, checked by hand on a map.

The directory below holds missions of Malaysia (the target) in a few countries,
and one Indonesian embassy that must never be chosen.
"""

from datetime import date, time
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import (
    Action,
    Alert,
    AlertVersion,
    Campaign,
    Mission,
    MissionChoice,
)
from campaigns.recipients import (
    Recipient,
    alert_recipients,
    audience,
    nearest_missions,
    skipped_contacts,
)
from signatories.models import Contact, Organization

pytestmark = pytest.mark.django_db

EMBASSY, CONSULATE, PERMANENT = "embassy", "consulate", "permanent_mission"

MISSIONS = [
    # key, host, city, kind, latitude, longitude, zone
    ("london", "GB", "London", EMBASSY, 51.4993, -0.1548, "Europe/London"),
    ("manchester", "GB", "Manchester", CONSULATE, 53.4808, -2.2426, "Europe/London"),
    ("manila", "PH", "Pasay", EMBASSY, 14.5547, 121.0244, "Asia/Manila"),
    ("davao", "PH", "Davao", CONSULATE, 7.0731, 125.6128, "Asia/Manila"),
    ("geneva", "CH", "Geneva", PERMANENT, 46.2044, 6.1432, "Europe/Zurich"),
    ("bern", "CH", "Bern", EMBASSY, 46.9480, 7.4474, "Europe/Zurich"),
    ("washington", "US", "Washington", EMBASSY, 38.9072, -77.0369, "America/New_York"),
    ("new_york", "US", "New York", PERMANENT, 40.7128, -74.0060, "America/New_York"),
    ("los_angeles", "US", "Los Angeles", CONSULATE, 34.0522, -118.2437,
     "America/Los_Angeles"),
    ("bangkok", "TH", "Bangkok", EMBASSY, 13.7563, 100.5018, "Asia/Bangkok"),
    ("vienna", "AT", "Vienna", PERMANENT, 48.2082, 16.3738, "Europe/Vienna"),
    # Australia: a directory without coordinates.
    ("canberra", "AU", "Canberra", EMBASSY, None, None, "Australia/Sydney"),
    ("sydney", "AU", "Sydney", CONSULATE, None, None, "Australia/Sydney"),
    ("perth", "AU", "Perth", CONSULATE, None, None, "Australia/Perth"),
]  # fmt: skip

emails = count()


@pytest.fixture
def missions():
    rows = {
        key: Mission.objects.create(
            represented_country="MY", host_country=host, city=city, kind=kind,
            name=f"Malaysia in {city}", latitude=latitude, longitude=longitude,
            time_zone=zone,
        )
        for key, host, city, kind, latitude, longitude, zone in MISSIONS
    }  # fmt: skip
    # Another country's embassy, in a country with no Malaysian mission.
    Mission.objects.create(
        represented_country="ID", host_country="IE", city="Dublin", kind=EMBASSY,
        name="Embassy of Indonesia", latitude=53.33, longitude=-6.25,
        time_zone="Europe/Dublin",
    )  # fmt: skip
    return rows


def org(name, country, city="", latitude=None, longitude=None, **fields):
    fields.setdefault("is_member", True)
    return Organization.objects.create(
        name=name, country=country, city=city, latitude=latitude,
        longitude=longitude, **fields,
    )  # fmt: skip


def contact(organization, language="en", **fields):
    return Contact.objects.create(
        organization=organization,
        email_hash=f"hash-{next(emails)}",
        email_encrypted=b"",
        language=language,
        **fields,
    )


def make_alert(*, versions=("en",), **audience_fields):
    campaign, _ = Campaign.objects.get_or_create(
        slug="stop-ops-mega", title="Stop Ops Mega 3.0", target_country="MY"
    )
    action, _ = Action.objects.get_or_create(
        campaign=campaign, slug="day", kind="protest", title="Day of action",
        date=date(2026, 12, 10), starts=time(10), ends=time(12),
    )  # fmt: skip
    alert = Alert.objects.create(action=action, **audience_fields)
    for position, language in enumerate(versions):
        AlertVersion.objects.create(
            alert=alert, language=language, is_original=position == 0,
            subject="Act", body="Go to {mission_name}",
        )  # fmt: skip
    return alert


def matched(organization, missions):
    mission_id, abroad = nearest_missions([organization], "MY")[organization.id]
    names = {m.id: key for key, m in missions.items()}
    return names.get(mission_id), abroad


def test_an_organization_in_a_city_with_a_mission_gets_that_mission(missions):
    london = org("Migrante UK", "GB", "London", 51.5072, -0.1276)
    manchester = org("Kanlungan Manchester", "GB", "Manchester", 53.48, -2.24)
    davao = org("Migrante Davao", "PH", "Davao", 7.19, 125.45)

    assert matched(london, missions) == ("london", False)
    assert matched(manchester, missions) == ("manchester", False)
    assert matched(davao, missions) == ("davao", False)


def test_an_organization_in_another_city_gets_the_nearest_in_its_country(missions):
    # Liverpool: Manchester is 50 km away, London 280 km.
    liverpool = org("Liverpool Migrants", "GB", "Liverpool", 53.4084, -2.9916)
    # Cebu: Davao is about 400 km away, Manila about 570 km.
    cebu = org("Cebu Workers", "PH", "Cebu", 10.3157, 123.8854)

    assert matched(liverpool, missions) == ("manchester", False)
    assert matched(cebu, missions) == ("davao", False)


def test_a_permanent_mission_comes_after_an_embassy_or_consulate_even_nearer(
    missions,
):
    geneva = org("Geneva Collective", "CH", "Geneva", 46.2, 6.14)
    new_york = org("Damayan", "US", "New York", 40.71, -74.0)
    graz = org("Graz Migrants", "AT", "Graz", 47.07, 15.44)

    assert matched(geneva, missions) == ("bern", False)
    assert matched(new_york, missions) == ("washington", False)
    # Only a permanent mission in the country: that one, not one abroad.
    assert matched(graz, missions) == ("vienna", False)


def test_no_mission_in_the_country_gives_the_nearest_abroad_flagged(missions):
    # Dublin: Manchester about 260 km, London about 460 km; the Indonesian
    # embassy in Dublin is not Malaysia's.
    dublin = org("Migrant Rights Centre", "IE", "Dublin", 53.3498, -6.2603)
    # Kathmandu: Bangkok about 1,900 km, Manila about 3,600 km.
    kathmandu = org("Pourakhi", "NP", "Kathmandu", 27.7172, 85.3240)

    assert matched(dublin, missions) == ("manchester", True)
    assert matched(kathmandu, missions) == ("bangkok", True)


def test_without_coordinates_the_same_city_else_any_in_the_country(missions):
    sydney = org("Sydney Migrants", "AU", "Sydney")
    perth = org("Perth Workers", "AU", "  PERTH ")
    brisbane = org("Brisbane Group", "AU", "Brisbane")
    davao = org("Davao Group", "PH", "Davao")
    baguio = org("Baguio Group", "PH", "Baguio")

    assert matched(sydney, missions) == ("sydney", False)
    assert matched(perth, missions) == ("perth", False)
    # Any in the country: the embassy first, whatever the capital.
    assert matched(brisbane, missions) == ("canberra", False)
    assert matched(davao, missions) == ("davao", False)
    assert matched(baguio, missions) == ("manila", False)


def test_coordinates_on_one_side_only_fall_back_to_the_city(missions):
    sydney = org("Sydney Coordinates", "AU", "Sydney", -33.87, 151.21)

    assert matched(sydney, missions) == ("sydney", False)


def test_without_coordinates_and_no_mission_in_the_country_there_is_no_match(
    missions,
):
    cork = org("Cork Migrants", "IE", "Cork")

    assert matched(cork, missions) == (None, False)


def test_the_choice_among_equals_is_the_same_every_time(missions):
    second = Mission.objects.create(
        represented_country="MY", host_country="TH", city="Songkhla",
        kind=EMBASSY, name="Another", time_zone="Asia/Bangkok",
    )  # fmt: skip
    chiang_mai = org("Chiang Mai Group", "TH", "Chiang Mai")

    results = {nearest_missions([chiang_mai], "MY")[chiang_mai.id] for _ in range(5)}

    assert results == {(missions["bangkok"].id, False)}
    assert second.id > missions["bangkok"].id


def test_the_matching_table_uses_the_organizers_choice_over_the_nearest(missions):
    liverpool = org("Liverpool Migrants", "GB", "Liverpool", 53.4084, -2.9916)
    dublin = org("Migrant Rights Centre", "IE", "Dublin", 53.3498, -6.2603)
    contact(liverpool)
    contact(dublin)
    alert = make_alert()
    MissionChoice.objects.create(
        alert=alert, organization=liverpool, mission=missions["london"]
    )
    MissionChoice.objects.create(
        alert=alert, organization=dublin, mission=missions["london"]
    )

    by_org = {r.organization_name: r for r in alert_recipients(alert)}

    assert by_org["Liverpool Migrants"].mission_id == missions["london"].id
    assert by_org["Liverpool Migrants"].mission_abroad is False
    assert by_org["Liverpool Migrants"].mission_chosen is True
    assert by_org["Migrant Rights Centre"].mission_id == missions["london"].id
    assert by_org["Migrant Rights Centre"].mission_abroad is True


def test_a_recipient_row_carries_what_the_email_needs(missions):
    migrante = org("Migrante UK", "GB", "London", 51.5072, -0.1276,
                   time_zone="Europe/London")  # fmt: skip
    person = contact(migrante, "en")
    alert = make_alert()

    assert alert_recipients(alert) == [
        Recipient(
            contact_id=person.id,
            organization_id=migrante.id,
            organization_name="Migrante UK",
            mission_id=missions["london"].id,
            mission_abroad=False,
            language="en",
            time_zone="Europe/London",
        )
    ]


def test_an_organization_without_a_zone_takes_its_missions_else_the_sites(
    missions, settings
):
    settings.TIME_ZONE = "UTC"
    perth = org("Perth Workers", "AU", "Perth")
    kathmandu = org("Pourakhi", "NP", "Kathmandu", 27.7172, 85.3240)
    contact(perth)
    contact(kathmandu)

    zones = {r.organization_name: r.time_zone for r in alert_recipients(make_alert())}

    assert zones == {"Perth Workers": "Australia/Perth", "Pourakhi": "UTC"}


def test_the_audience_filters_by_country_sector_membership_and_language(missions):
    domestic_ph = org("Domestic PH", "PH", "Davao", sector="Domestic work")
    domestic_gb = org("Domestic GB", "GB", "London", sector="domestic work")
    farm_ph = org("Farm PH", "PH", "Davao", sector="agriculture")
    friend_ph = org("Friend PH", "PH", "Davao", sector="domestic work",
                    is_member=False)  # fmt: skip
    english = contact(domestic_ph, "EN")
    tagalog = contact(domestic_ph, "tl")
    contact(domestic_ph, "es")
    for other in (domestic_gb, farm_ph, friend_ph):
        contact(other, "en")

    alert = make_alert(
        countries=["PH"], sectors=["domestic work"], members_only=True,
        languages=["en", "fil"],
    )  # fmt: skip

    assert {r.contact_id for r in alert_recipients(alert)} == {english.id, tagalog.id}


def test_an_open_audience_reaches_non_members_when_members_only_is_off(missions):
    member = org("Member", "GB", "London")
    friend = org("Friend", "GB", "London", is_member=False)
    contact(member)
    contact(friend)

    members = make_alert()
    everyone = make_alert(members_only=False)

    assert {r.organization_name for r in alert_recipients(members)} == {"Member"}
    assert {r.organization_name for r in alert_recipients(everyone)} == {
        "Member",
        "Friend",
    }


def test_unsubscribed_and_bouncing_contacts_are_left_out_and_counted(missions):
    migrante = org("Migrante UK", "GB", "London")
    active = contact(migrante)
    gone = contact(migrante, unsubscribed_at=timezone.now())
    bouncing = contact(migrante, bounces=3)
    bounced_twice = contact(migrante, bounces=2)
    alert = make_alert()

    recipients, skipped = audience(alert)

    assert {r.contact_id for r in recipients} == {active.id, bounced_twice.id}
    assert sorted(skipped_contacts(alert)) == sorted(
        [(gone.id, "unsubscribed"), (bouncing.id, "bouncing")]
    )
    assert {r.contact_id for r, _ in skipped} == {gone.id, bouncing.id}
    assert all(r.mission_id == missions["london"].id for r, _ in skipped)


def test_each_contact_gets_its_own_language_when_the_alert_has_it_else_the_original(
    missions,
):
    migrante = org("Migrante", "GB", "London")
    languages = ["en", "es", "fr", "tl", "fil", "es-mx", "ID"]
    people = {language: contact(migrante, language) for language in languages}
    alert = make_alert(versions=("id", "es", "fil", "en"))

    got = {r.contact_id: r.language for r in alert_recipients(alert)}

    assert {language: got[c.id] for language, c in people.items()} == {
        "en": "en",
        "es": "es",
        "fr": "id",  # no French version: the original, Indonesian
        "tl": "fil",
        "fil": "fil",
        "es-mx": "es",
        "ID": "id",
    }


def test_recipients_come_in_a_stable_order_by_organization(missions):
    for name in ("Zeta", "Alpha", "Mu"):
        holder = org(name, "GB", "London")
        contact(holder)
        contact(holder)

    names = [r.organization_name for r in alert_recipients(make_alert())]

    assert names == ["Alpha", "Alpha", "Mu", "Mu", "Zeta", "Zeta"]


def test_the_number_of_queries_does_not_grow_with_the_audience(missions):
    alert = make_alert(versions=("en", "es"))

    def queries() -> int:
        alert_from_db = Alert.objects.get(pk=alert.pk)
        with CaptureQueriesContext(connection) as captured:
            alert_recipients(alert_from_db)
        return len(captured)

    holder = org("First", "GB", "London")
    contact(holder)
    MissionChoice.objects.create(
        alert=alert, organization=holder, mission=missions["bern"]
    )
    few = queries()
    for number in range(60):
        holder = org(f"Org {number}", ["GB", "PH", "NP", "AU"][number % 4],
                     "Somewhere", 10.0 + number, 20.0 + number)  # fmt: skip
        contact(holder, "es")
        contact(holder, "en", bounces=5)
        if number % 10 == 0:
            MissionChoice.objects.create(
                alert=alert, organization=holder, mission=missions["london"]
            )

    assert queries() == few <= 5


def test_nearest_missions_makes_one_query_for_many_organizations(missions):
    organizations = [
        org(f"Org {n}", "IE" if n % 2 else "GB", "", 50.0 + n / 10, -5.0 + n / 10)
        for n in range(40)
    ]

    with CaptureQueriesContext(connection) as captured:
        result = nearest_missions(organizations, "MY")

    assert len(captured) == 1
    assert len(result) == 40
    assert all(result[o.id][1] is (o.country == "IE") for o in organizations)
