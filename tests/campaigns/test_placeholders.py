"""Alert bodies: each recipient's own values, always shown as text, never as markup."""

from datetime import date, time
from types import SimpleNamespace

import pytest

from campaigns.placeholders import (
    PLACEHOLDERS,
    UnknownPlaceholderError,
    placeholder_values,
    render_alert_body,
    unknown_placeholders,
)

PLEDGE = "https://ima.example.org/p/abc123/"
LETTER = "https://ima.example.org/c/letter/def456/"


def organization(name="Migrante UK", zone="Europe/London"):
    return SimpleNamespace(name=name, time_zone=zone)


def mission(**fields):
    values = {
        "name": "High Commission of Malaysia",
        "address": "45 Belgrave Square\nLondon SW1X 8QT",
        "city": "London",
        "latitude": 51.4993,
        "longitude": -0.1548,
        "time_zone": "Europe/London",
    }
    values.update(fields)
    return SimpleNamespace(**values)


def action(**fields):
    values = {
        "title": "Day of action against Ops Mega 3.0",
        "where": "nearest_mission",
        "date": date(2026, 12, 10),
        "starts": time(10),
        "ends": time(12),
        "place_name": "",
        "place_address": "",
        "place_city": "",
        "place_latitude": None,
        "place_longitude": None,
        "place_time_zone": "",
    }
    values.update(fields)
    return SimpleNamespace(**values)


def values_for(org=None, place=None, act=None, language="en"):
    return placeholder_values(
        organization=org or organization(),
        mission=place if place is not None else mission(),
        action=act or action(),
        pledge_url=PLEDGE,
        letter_url=LETTER,
        language=language,
    )


def test_every_documented_placeholder_has_a_value_for_a_recipient():
    values = values_for()

    assert set(values) == set(PLACEHOLDERS)
    assert values["organization"] == "Migrante UK"
    assert values["action"] == "Day of action against Ops Mega 3.0"
    assert values["mission_name"] == "High Commission of Malaysia"
    assert values["mission_address"] == "45 Belgrave Square, London SW1X 8QT"
    assert values["mission_city"] == "London"
    assert values["mission_map_link"] == (
        "https://www.openstreetmap.org/?mlat=51.499300&mlon=-0.154800"
        "#map=18/51.499300/-0.154800"
    )
    assert "10" in values["date"] and "2026" in values["date"]
    assert values["time"] == "10:00–12:00 local time"
    assert values["time_zone"] == "Europe/London"
    assert values["pledge_link"] == PLEDGE
    assert values["letter_link"] == LETTER


def test_each_placeholder_lands_in_the_text_and_the_html():
    values = values_for()
    body = "\n\n".join(f"{name}: {{{name}}}" for name in PLACEHOLDERS)

    text, body_html = render_alert_body(body, values)

    for name, value in values.items():
        assert f"{name}: {value}" in text
        assert value.replace("&", "&amp;") in body_html


def test_a_mission_without_coordinates_gets_a_map_search_for_its_address():
    values = values_for(place=mission(latitude=None, longitude=None))

    assert values["mission_map_link"].startswith(
        "https://www.openstreetmap.org/search?query="
    )
    assert "Belgrave+Square" in values["mission_map_link"]


def test_an_action_at_a_named_place_fills_the_mission_placeholders_with_the_place():
    rally = action(
        where="place",
        place_name="Plaza Miranda",
        place_address="Quiapo",
        place_city="Manila",
        place_latitude=14.5995,
        place_longitude=120.9842,
        place_time_zone="Asia/Manila",
    )

    values = values_for(act=rally)

    assert values["mission_name"] == "Plaza Miranda"
    assert values["mission_city"] == "Manila"
    assert values["time_zone"] == "Asia/Manila"
    assert "mlat=14.599500" in values["mission_map_link"]


def test_no_mission_leaves_the_mission_placeholders_empty_not_broken():
    values = placeholder_values(
        organization=organization(),
        mission=None,
        action=action(),
        pledge_url=PLEDGE,
        language="en",
    )

    assert values["mission_name"] == values["mission_map_link"] == ""
    assert values["time_zone"] == "Europe/London"  # the organization's


def test_the_date_is_written_in_the_recipients_language():
    assert "diciembre" in values_for(language="es")["date"]
    assert "décembre" in values_for(language="fr")["date"]


def test_unknown_placeholders_are_named_once_each_in_order():
    text = "Hello {organisation}, go to {mission_name} on {dat} with {organisation}."

    assert unknown_placeholders(text) == ["organisation", "dat"]
    assert unknown_placeholders("All fine: {organization} {{literal}}") == []


def test_rendering_a_body_with_an_unknown_placeholder_is_an_error_naming_it():
    with pytest.raises(UnknownPlaceholderError) as raised:
        render_alert_body("Meet at {mission_adress} at {time}", values_for())

    assert raised.value.names == ["mission_adress"]
    assert "{mission_adress}" in str(raised.value)


def test_double_braces_write_literal_braces():
    text, body_html = render_alert_body(
        "Use {{organization}} to name yours, {organization}. Set: {{a, b}}",
        values_for(),
    )

    assert "Use {organization} to name yours, Migrante UK. Set: {a, b}" in text
    assert "{organization}" in body_html


def test_an_organization_named_like_html_is_shown_as_text():
    values = values_for(org=organization(name='<script>alert("x")</script> & Co'))

    text, body_html = render_alert_body("Dear **{organization}**,", values)

    assert "<script>" not in body_html
    assert "<strong>&lt;script&gt;alert(" in body_html
    assert "&amp; Co</strong>" in body_html
    assert 'Dear <script>alert("x")</script> & Co,' in text


def test_an_organization_named_like_markdown_is_not_formatted():
    values = values_for(org=organization(name="**bold** [link](http://evil.example)"))

    text, body_html = render_alert_body("Dear {organization},", values)

    assert "<strong>" not in body_html and "<a " not in body_html
    assert "**bold** [link](http://evil.example)" in body_html
    assert "Dear **bold** [link](http://evil.example)," in text


def test_a_value_that_looks_like_a_placeholder_is_not_expanded():
    values = values_for(org=organization(name="{pledge_link}"))

    text, _ = render_alert_body("{organization}", values)

    assert text.strip() == "{pledge_link}"


def test_a_value_used_as_a_link_address_cannot_become_a_script():
    values = values_for()
    values["pledge_link"] = "javascript:alert(1)"

    _, body_html = render_alert_body("[Pledge]({pledge_link})", values)

    assert "javascript" not in body_html


def test_the_pledge_link_works_as_a_markdown_link_and_shows_its_address_in_text():
    text, body_html = render_alert_body(
        "[Tell us you will act]({pledge_link}) or [see the map]({mission_map_link})",
        values_for(),
    )

    assert f'href="{PLEDGE}"' in body_html
    assert 'href="https://www.openstreetmap.org/?mlat=51.499300&amp;mlon=' in body_html
    assert f"Tell us you will act ({PLEDGE})" in text


def test_a_value_inside_a_longer_address_is_percent_encoded():
    values = values_for(org=organization(name='A&B "quoted" <org>'))

    _, body_html = render_alert_body(
        "[Search](https://example.org/?q={organization})", values
    )

    assert 'href="https://example.org/?q=A%26B%20%22quoted%22%20%3Corg%3E"' in (
        body_html
    )


def test_the_author_s_markdown_is_sanitized_like_a_statement():
    text, body_html = render_alert_body(
        "# Act now\n\n<script>steal()</script><img src=x onerror=alert(1)>\n\n"
        "- bring banners\n- bring water\n\n[x](javascript:alert(1))",
        values_for(),
    )

    assert "<script" not in body_html and "onerror" not in body_html
    assert "<img" not in body_html and "javascript" not in body_html
    assert "<h2>Act now</h2>" in body_html
    assert "<li>bring banners</li>" in body_html
    assert "- bring banners\n- bring water" in text


def test_the_text_part_keeps_paragraphs():
    text, _ = render_alert_body(
        "Dear {organization},\n\nMeet at {mission_name}.\n\n1. one\n2. two",
        values_for(),
    )

    assert text == (
        "Dear Migrante UK,\n\nMeet at High Commission of Malaysia.\n\n1. one\n2. two\n"
    )


def test_a_known_placeholder_without_a_value_becomes_empty():
    text, _ = render_alert_body("[{mission_name}]", {})

    assert text.strip() == "[]"


def test_one_body_rendered_for_two_recipients_gives_each_their_own_values():
    body = "Dear {organization}, meet at {mission_name}."

    first, _ = render_alert_body(body, values_for(org=organization("First Org")))
    second, _ = render_alert_body(
        body, values_for(org=organization("Second Org"), place=mission(name="Other"))
    )

    assert first == "Dear First Org, meet at High Commission of Malaysia.\n"
    assert second == "Dear Second Org, meet at Other.\n"


def test_text_that_looks_like_an_internal_marker_stays_as_written():
    text, _ = render_alert_body("imaph0x0z and {organization}", values_for())

    assert text == "imaph0x0z and Migrante UK\n"
