import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import (
    Action,
    Alert,
    Campaign,
    CampaignStatement,
    Letter,
    Mission,
)
from ima_site.crypto import decrypt
from ima_site.models import AuditEntry
from signatories.models import Contact, Organization
from tests.factories import make_statement

pytestmark = pytest.mark.django_db

MISSION_HEADER = (
    "represented_country,host_country,city,kind,name,address,email,phone,website,"
    "latitude,longitude,timezone\n"
)
MANILA = (
    "MY,PH,Manila,embassy,Embassy of Malaysia,330 Gil Puyat Avenue,"
    "manila@example.org,+63 2 555,https://example.org/manila,14.55,121.02,Asia/Manila\n"
)
HONG_KONG = (
    "MY,HK,Hong Kong,consulate,Consulate General of Malaysia,50 Gloucester Road,,,,"
    "22.27,114.17,Asia/Hong_Kong\n"
)
ORG_HEADER = (
    "name,acronym,country,city,sector,is_member,contact_name,email,language,"
    "latitude,longitude,timezone\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run(command: str, *args) -> tuple[str, str, bool]:
    """(stdout, stderr, failed) of a command, as a terminal would show them."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *map(str, args), "--no-progress", stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error), True
    return out.getvalue(), err.getvalue(), False


# Missions


def test_missions_are_imported_and_a_second_import_only_updates(tmp_path):
    path = write(tmp_path, "missions.csv", MISSION_HEADER + MANILA + HONG_KONG)
    out, _err, failed = run("import_missions", path)
    assert not failed
    assert "2 created" in out
    manila = Mission.objects.get(host_country="PH")
    assert (manila.represented_country, manila.city, manila.kind) == (
        "MY",
        "Manila",
        "embassy",
    )
    assert (manila.latitude, manila.longitude, manila.time_zone) == (
        14.55,
        121.02,
        "Asia/Manila",
    )

    moved = MANILA.replace("330 Gil Puyat Avenue", "1 New Street")
    write(tmp_path, "missions.csv", MISSION_HEADER + moved + HONG_KONG)
    out, _err, failed = run("import_missions", path)
    assert not failed
    assert "0 created, 1 updated, 1 unchanged" in out
    assert Mission.objects.count() == 2
    assert Mission.objects.get(host_country="PH").address == "1 New Street"


def test_a_mission_missing_from_the_file_is_kept(tmp_path):
    run(
        "import_missions", write(tmp_path, "a.csv", MISSION_HEADER + MANILA + HONG_KONG)
    )
    _out, _err, failed = run(
        "import_missions", write(tmp_path, "b.csv", MISSION_HEADER + MANILA)
    )
    assert not failed
    assert Mission.objects.filter(host_country="HK").exists()


@pytest.mark.parametrize(
    "row, named",
    [
        (MANILA.replace("MY,PH", "XX,PH"), "row 2, represented_country: 'XX'"),
        (MANILA.replace(",embassy,", ",palace,"), "row 2, kind: 'palace'"),
        (MANILA.replace("14.55,", "95,"), "row 2, latitude: '95'"),
        (MANILA.replace("121.02,", ","), "row 2, longitude: is required"),
        (MANILA.replace("Asia/Manila", "Asia/Atlantis"), "row 2, timezone:"),
        (MANILA.replace("Asia/Manila", "../../etc/passwd"), "row 2, timezone:"),
        (MANILA.replace("manila@example.org", "not-an-email"), "row 2, email:"),
        (
            MANILA.replace("https://example.org/manila", "javascript:alert(1)"),
            "row 2, website:",
        ),
        (MANILA.replace(",Manila,", ",,"), "row 2, city: is required"),
    ],
)
def test_a_bad_mission_row_is_named_by_row_and_column(tmp_path, row, named):
    path = write(tmp_path, "missions.csv", MISSION_HEADER + row + HONG_KONG)
    _out, err, failed = run("import_missions", path)
    assert failed
    assert named in err
    assert "1 row(s) failed" in err
    # The good row is imported all the same.
    assert list(Mission.objects.values_list("host_country", flat=True)) == ["HK"]


def test_comment_lines_are_skipped_and_rows_keep_their_file_numbers(tmp_path):
    text = (
        "# illustrative demo data\n"
        + MISSION_HEADER
        + HONG_KONG
        + "\n"
        + MANILA.replace(",embassy,", ",palace,")
    )
    _out, err, failed = run("import_missions", write(tmp_path, "m.csv", text))
    assert failed
    assert "row 5, kind:" in err
    assert Mission.objects.count() == 1


def test_the_same_mission_twice_in_a_file_is_an_error_on_the_second_row(tmp_path):
    path = write(
        tmp_path,
        "m.csv",
        MISSION_HEADER + MANILA + MANILA.replace("Manila", "manila", 1),
    )
    _out, err, failed = run("import_missions", path)
    assert failed
    assert "row 3, city: the same mission is already in row 2" in err
    assert Mission.objects.count() == 1


def test_a_file_with_a_wrong_header_imports_nothing_and_says_which_columns(tmp_path):
    path = write(tmp_path, "m.csv", MISSION_HEADER.replace("timezone", "tz") + MANILA)
    _out, err, failed = run("import_missions", path)
    assert failed
    assert "missing column(s): timezone" in err
    assert "unknown column(s): tz" in err
    assert not Mission.objects.exists()


# Organizations and contacts


def org_row(name="Samahan ng Migrante", country="PH", email="ana@example.org",
            language="en", contact="Ana Reyes", is_member="yes", city="Manila",
            latitude="14.6", longitude="121.0", tz="Asia/Manila") -> str:  # fmt: skip
    return (
        f"{name},SM,{country},{city},domestic workers,{is_member},{contact},{email},"
        f"{language},{latitude},{longitude},{tz}\n"
    )


def test_organizations_and_their_contacts_are_imported(tmp_path):
    text = (
        ORG_HEADER
        + org_row()
        + org_row(
            email="ben@example.org", contact="Ben", latitude="", longitude="", tz=""
        )
    )
    out, _err, failed = run("import_organizations", write(tmp_path, "o.csv", text))
    assert not failed, _err
    organization = Organization.objects.get()
    assert (organization.name, organization.country, organization.is_member) == (
        "Samahan ng Migrante",
        "PH",
        True,
    )
    assert organization.time_zone == "Asia/Manila"
    contacts = {c.name: c for c in organization.contacts.all()}
    assert set(contacts) == {"Ana Reyes", "Ben"}
    # Stored encrypted, never in clear.
    assert decrypt(contacts["Ben"].email_encrypted) == "ben@example.org"
    assert b"ben@example.org" not in bytes(contacts["Ben"].email_encrypted)
    assert "ben@example.org" not in contacts["Ben"].email_hash
    assert AuditEntry.objects.filter(action="organization.import").count() == 1


def test_a_second_import_updates_and_never_duplicates(tmp_path):
    path = write(tmp_path, "o.csv", ORG_HEADER + org_row())
    run("import_organizations", path)
    # Another spelling of the same name and address: the same rows.
    write(
        tmp_path,
        "o.csv",
        ORG_HEADER
        + org_row(
            name="SAMAHAN NG MIGRANTE",
            email="Ana@Example.org",
            contact="Ana R.",
            language="es",
        ),
    )
    out, _err, failed = run("import_organizations", path)
    assert not failed
    assert "0 created, 1 updated" in out
    contact = Contact.objects.get()
    assert (contact.name, contact.language) == ("Ana R.", "es")
    assert Organization.objects.count() == 1
    out, _err, _failed = run("import_organizations", path)
    assert "0 created, 0 updated, 1 unchanged" in out


def test_a_reimport_never_resubscribes_anyone(tmp_path):
    path = write(tmp_path, "o.csv", ORG_HEADER + org_row())
    run("import_organizations", path)
    left = timezone.now()
    Contact.objects.update(unsubscribed_at=left)
    write(tmp_path, "o.csv", ORG_HEADER + org_row(contact="Ana Maria Reyes"))
    _out, _err, failed = run("import_organizations", path)
    assert not failed
    contact = Contact.objects.get()
    assert contact.name == "Ana Maria Reyes"
    assert contact.unsubscribed_at == left


def test_contacts_missing_from_the_file_are_kept(tmp_path):
    run(
        "import_organizations",
        write(
            tmp_path, "a.csv", ORG_HEADER + org_row() + org_row(email="ben@example.org")
        ),
    )
    run("import_organizations", write(tmp_path, "b.csv", ORG_HEADER + org_row()))
    assert Contact.objects.count() == 2


def test_empty_cells_keep_what_the_registry_knows(tmp_path):
    run("import_organizations", write(tmp_path, "a.csv", ORG_HEADER + org_row()))
    run(
        "import_organizations",
        write(
            tmp_path,
            "b.csv",
            ORG_HEADER
            + org_row(city="", latitude="", longitude="", tz="", is_member=""),
        ),
    )
    organization = Organization.objects.get()
    assert (organization.city, organization.latitude, organization.time_zone) == (
        "Manila",
        14.6,
        "Asia/Manila",
    )
    assert organization.is_member


@pytest.mark.parametrize("code", ["tl", "fil", "TL"])
def test_tagalog_and_filipino_are_one_language(tmp_path, code):
    run(
        "import_organizations",
        write(tmp_path, "o.csv", ORG_HEADER + org_row(language=code)),
    )
    assert Contact.objects.get().language == "fil"


@pytest.mark.parametrize(
    "row, named",
    [
        (org_row(country="Philippines"), "row 2, country: 'PHILIPPINES'"),
        (org_row(email="ana@"), "row 2, email:"),
        (org_row(language="klingon"), "row 2, language:"),
        (org_row(is_member="maybe"), "row 2, is_member: 'maybe'"),
        (org_row(tz="Mars/Olympus"), "row 2, timezone:"),
        (org_row(latitude="north"), "row 2, latitude: 'north' is not a number"),
        (org_row(name=""), "row 2, name: is required"),
        (org_row(email=""), "row 2, email: is required for a contact"),
    ],
)
def test_a_bad_organization_row_is_named_and_the_good_rows_imported(
    tmp_path, row, named
):
    good = org_row(name="Other Org", email="x@example.org")
    _out, err, failed = run(
        "import_organizations", write(tmp_path, "o.csv", ORG_HEADER + row + good)
    )
    assert failed
    assert named in err
    assert list(Organization.objects.values_list("name", flat=True)) == ["Other Org"]


def test_rows_of_one_organization_must_agree(tmp_path):
    text = ORG_HEADER + org_row() + org_row(email="ben@example.org", city="Cebu")
    _out, err, failed = run("import_organizations", write(tmp_path, "o.csv", text))
    assert failed
    assert "row 3, city: 'Cebu' differs from 'Manila' in row 2" in err
    assert Contact.objects.count() == 1


def test_a_row_with_too_few_columns_is_named(tmp_path):
    text = ORG_HEADER + "Short Org,SO,PH\n" + org_row()
    _out, err, failed = run("import_organizations", write(tmp_path, "o.csv", text))
    assert failed
    assert "row 2, row: has 3 columns, the header 12" in err
    assert Contact.objects.count() == 1


def test_an_organization_that_signed_joins_the_registry_without_a_duplicate(tmp_path):
    Organization.objects.create(name="Samahan Ng Migrante", country="PH")
    run("import_organizations", write(tmp_path, "o.csv", ORG_HEADER + org_row()))
    organization = Organization.objects.get()
    assert organization.is_member
    assert organization.contacts.count() == 1


# Campaigns

CAMPAIGN = """---
title: Stop Ops Mega 3.0
slug: stop-ops-mega
summary: Stop the raids.
target_country: MY
target_authority: The Government of Malaysia
hashtag: "#StopOpsMega"
status: active
starts_on: 2027-01-01
ends_on: 2027-03-31
demands: ["Stop the raids", "Release the detained"]
statements: [crackdown]
actions:
  - slug: day-of-action
    kind: protest
    title: Day of action
    date: 2027-01-18
    starts: 10:00
    ends: 12:30
    at: nearest_mission
    instructions: Bring banners.
  - slug: hand-in
    kind: hand_in_letter
    title: Hand in the letter
    date: 2027-01-19
    starts: "09:00"
    at: {name: SUHAKAM, address: Jalan Tun Razak, city: Kuala Lumpur, country: MY,
         latitude: 3.15, longitude: 101.71, time_zone: Asia/Kuala_Lumpur}
---
The raids must stop.
"""


@pytest.fixture
def crackdown(db):
    return make_statement(slug="crackdown")


def test_a_campaign_is_imported_with_its_timeline_and_actions(tmp_path, crackdown):
    out, err, failed = run("import_campaigns", write(tmp_path, "c.md", CAMPAIGN))
    assert not failed, err
    assert "1 created" in out
    campaign = Campaign.objects.get()
    assert (campaign.title, campaign.target_country, campaign.status) == (
        "Stop Ops Mega 3.0",
        "MY",
        "active",
    )
    assert campaign.demands == ["Stop the raids", "Release the detained"]
    assert campaign.body == "The raids must stop."
    link = CampaignStatement.objects.get()
    assert (link.statement, link.role) == (crackdown, "launch")
    protest = campaign.actions.get(slug="day-of-action")
    # An unquoted 10:00 is a time, not YAML's base-60 number 600.
    assert (str(protest.starts), str(protest.ends)) == ("10:00:00", "12:30:00")
    assert protest.where == Action.Where.NEAREST_MISSION
    hand_in = campaign.actions.get(slug="hand-in")
    assert (hand_in.where, hand_in.place_city, hand_in.place_time_zone) == (
        "place",
        "Kuala Lumpur",
        "Asia/Kuala_Lumpur",
    )


def test_a_campaign_reimport_updates_by_slug_and_keeps_actions_with_alerts(
    tmp_path, crackdown
):
    path = write(tmp_path, "c.md", CAMPAIGN)
    run("import_campaigns", path)
    action = Action.objects.get(slug="day-of-action")
    alert = Alert.objects.create(action=action)
    changed = CAMPAIGN.replace("starts: 10:00", "starts: 11:00").replace(
        "  - slug: hand-in", "  - slug: other-hand-in"
    )
    write(tmp_path, "c.md", changed)
    out, _err, failed = run("import_campaigns", path)
    assert not failed
    assert "1 updated" in out
    assert Campaign.objects.count() == 1
    action.refresh_from_db()
    assert str(action.starts) == "11:00:00"
    assert alert.action_id == action.pk
    # The action no longer in the file is kept.
    assert set(Action.objects.values_list("slug", flat=True)) == {
        "day-of-action",
        "hand-in",
        "other-hand-in",
    }


def test_a_reimport_does_not_take_a_public_campaign_back_to_draft(tmp_path, crackdown):
    path = write(tmp_path, "c.md", CAMPAIGN)
    run("import_campaigns", path)
    write(tmp_path, "c.md", CAMPAIGN.replace("status: active", "status: draft"))
    run("import_campaigns", path)
    assert Campaign.objects.get().status == "active"


@pytest.mark.parametrize(
    "change, named",
    [
        (
            ("target_country: MY", "target_country: Malaysia"),
            "target_country: 'MALAYSIA'",
        ),
        (("status: active", "status: paused"), "status: 'paused'"),
        (("kind: protest", "kind: picnic"), "actions[0].kind: 'picnic'"),
        (("ends: 12:30", "ends: 09:00"), "actions[0].ends: is not after starts"),
        (("starts: 10:00", "starts: ten"), "actions[0].starts: 'ten'"),
        (("date: 2027-01-18", "date: 2027-13-18"), "actions[0].date: '2027-13-18'"),
        (
            ("time_zone: Asia/Kuala_Lumpur", "time_zone: Asia/Nowhere"),
            "actions[1].at.time_zone",
        ),
        (("city: Kuala Lumpur, ", ""), "actions[1].at.city: is required"),
        (
            ("statements: [crackdown]", "statements: [missing]"),
            "statements[0]: there is no statement",
        ),
        (
            ("ends_on: 2027-03-31", "ends_on: 2026-03-31"),
            "ends_on: is before starts_on",
        ),
        (("hashtag:", "colour:"), "colour: unknown field"),
    ],
)
def test_a_bad_campaign_file_is_named_and_leaves_nothing(
    tmp_path, crackdown, change, named
):
    bad = write(tmp_path, "bad.md", CAMPAIGN.replace(*change))
    good = write(
        tmp_path, "good.md", CAMPAIGN.replace("slug: stop-ops-mega", "slug: other")
    )
    _out, err, failed = run("import_campaigns", bad, good)
    assert failed
    assert f"bad.md: {named}" in err
    assert list(Campaign.objects.values_list("slug", flat=True)) == ["other"]
    assert Action.objects.filter(campaign__slug="stop-ops-mega").count() == 0


# The demo


def test_the_demo_loads_twice_without_duplicating_anything(tmp_path):
    call_command(
        "load_demo", password_file=str(tmp_path / "password"), stdout=io.StringIO()
    )
    out = io.StringIO()
    call_command("load_campaign_demo", stdout=out)
    assert "alert made" in out.getvalue()
    counts = (
        Mission.objects.count(),
        Organization.objects.count(),
        Contact.objects.count(),
        Campaign.objects.count(),
        Action.objects.count(),
        Alert.objects.count(),
    )
    campaign = Campaign.objects.get(slug="stop-ops-mega-3")
    assert campaign.title == "Stop Ops Mega 3.0"
    assert campaign.timeline.get(role="launch").statement.slug == (
        "stop-the-crackdown-on-undocumented-workers-in-malaysia"
    )
    assert Mission.objects.filter(represented_country="MY").count() >= 10
    assert {"PH", "ID", "HK", "TH", "GB", "US"} <= set(
        Mission.objects.values_list("host_country", flat=True)
    )
    assert Organization.objects.filter(is_member=True).count() >= 8
    assert all(
        decrypt(c.email_encrypted).endswith("@example.org")
        for c in Contact.objects.all()
    )
    assert {(a.action.slug, a.status) for a in Alert.objects.all()} == {
        ("day-of-action-at-malaysian-missions", Alert.Status.DRAFT),
        ("letter-of-concern", Alert.Status.DRAFT),
    }

    letter = Letter.objects.get()
    letter_counts = (letter.targets.count(), letter.statement.signatures.count())
    out = io.StringIO()
    call_command("load_campaign_demo", stdout=out)
    assert "alert kept as it is" in out.getvalue()
    assert "sign-on letter kept as it is" in out.getvalue()
    assert letter_counts == (
        Letter.objects.get().targets.count(),
        letter.statement.signatures.count(),
    )
    assert "0 created, 0 updated" in out.getvalue()
    assert counts == (
        Mission.objects.count(),
        Organization.objects.count(),
        Contact.objects.count(),
        Campaign.objects.count(),
        Action.objects.count(),
        Alert.objects.count(),
    )


def test_the_demo_alert_uses_only_known_placeholders(tmp_path):
    placeholders = pytest.importorskip("campaigns.placeholders")
    from campaigns.management.commands.load_campaign_demo import (
        ALERT_BODY,
        ALERT_SUBJECT,
        CONCERN_BODY,
        CONCERN_SUBJECT,
    )

    for text in (ALERT_BODY, ALERT_SUBJECT, CONCERN_BODY, CONCERN_SUBJECT):
        assert placeholders.unknown_placeholders(text) == []


def test_the_demo_letter_delivers_to_every_target_with_its_pdf(
    tmp_path, mailoutbox, settings
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command(
        "load_demo", password_file=str(tmp_path / "password"), stdout=io.StringIO()
    )
    call_command("load_campaign_demo", stdout=io.StringIO())
    letter = Letter.objects.get()
    call_command("deliver_letter", letter.statement.slug, stdout=io.StringIO())
    assert len(mailoutbox) == letter.targets.count() >= 10
    assert all(
        [name for name, _data, kind in message.attachments if kind == "application/pdf"]
        for message in mailoutbox
    )
    # The template of the demo's letter of concern fills in for any member.
    from campaigns.placeholders import unknown_placeholders

    action = Action.objects.get(kind=Action.Kind.LETTER_OF_CONCERN)
    assert action.letter_template
    assert unknown_placeholders(action.letter_template) == []
