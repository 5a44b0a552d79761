import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from ima_site.crypto import keyed_hash
from signatories.models import Contact, Organization
from signatories.services.contacts import (
    contact_email,
    masked_email,
    save_contact,
    update_contact,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def organization(db):
    return Organization.objects.create(name="Samahan", country="PH", is_member=True)


def test_a_contact_is_found_by_a_keyed_hash_and_its_email_kept_encrypted(organization):
    contact, outcome = save_contact(
        organization=organization, name="Ana", email=" Ana@Example.org ", language="en"
    )
    assert outcome == "created"
    assert contact_email(contact) == "Ana@Example.org"
    assert contact.email_hash == keyed_hash("contact-email", "ana@example.org")
    # Not the signers' hash: the two lists cannot be joined on it.
    assert contact.email_hash != keyed_hash("email", "ana@example.org")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM signatories_contact")
        row = repr(cursor.fetchall()).lower()
    assert "ana@example.org" not in row


def test_saving_the_same_address_again_updates_the_one_contact(organization):
    save_contact(organization=organization, name="Ana", email="ana@example.org",
                 language="en")  # fmt: skip
    contact, outcome = save_contact(
        organization=organization, name="", email="ANA@example.org", language="tl"
    )
    assert outcome == "updated"
    assert Contact.objects.count() == 1
    assert (contact.name, contact.language) == ("Ana", "fil")
    _contact, outcome = save_contact(
        organization=organization, name="Ana", email="ANA@example.org", language="fil"
    )
    assert outcome == "unchanged"


def test_the_same_address_in_another_organization_is_another_contact(organization):
    other = Organization.objects.create(name="Other", country="ID")
    save_contact(organization=organization, name="", email="a@example.org", language="")
    save_contact(organization=other, name="", email="a@example.org", language="")
    assert Contact.objects.count() == 2


def test_saving_never_resubscribes(organization):
    contact, _ = save_contact(
        organization=organization, name="Ana", email="a@example.org", language="en"
    )
    Contact.objects.filter(pk=contact.pk).update(unsubscribed_at=timezone.now())
    contact, _ = save_contact(
        organization=organization, name="Ana", email="a@example.org", language="es"
    )
    contact.refresh_from_db()
    assert contact.unsubscribed_at is not None
    update_contact(contact=contact, name="Ana", email="b@example.org", language="es")
    contact.refresh_from_db()
    assert contact.unsubscribed_at is not None


@pytest.mark.parametrize(
    "field, values",
    [
        ("email", {"email": "not an email"}),
        ("email", {"email": '"quoted"@example.org'}),
        ("language", {"language": "xx-nonsense"}),
        ("name", {"name": "n" * 201}),
    ],
)
def test_bad_details_are_refused_naming_the_field(organization, field, values):
    arguments = {"name": "Ana", "email": "a@example.org", "language": "en", **values}
    with pytest.raises(ValidationError) as error:
        save_contact(organization=organization, **arguments)
    assert field in error.value.message_dict
    assert not Contact.objects.exists()


def test_masked_email_shows_only_enough_to_recognise_it():
    assert masked_email("ana.reyes@example.org") == "a***@ex…"
    assert masked_email("") == ""


# The admin


@pytest.fixture
def contact(organization):
    contact, _ = save_contact(
        organization=organization,
        name="Ana <b>Reyes</b>",
        email="ana.reyes@example.org",
        language="en",
    )
    return contact


def test_a_publisher_sees_contacts_masked_never_in_full(client, publisher, contact):
    client.force_login(publisher)
    for url in [
        reverse(
            "admin:signatories_organization_change", args=[contact.organization_id]
        ),
        reverse("admin:signatories_contact_changelist"),
        reverse("admin:signatories_contact_change", args=[contact.pk]),
    ]:
        page = client.get(url).content.decode()
        assert "a***@ex…" in page, url
        assert "ana.reyes@example.org" not in page, url
        assert "reyes@" not in page, url
        # The name is text, not markup.
        assert "<b>Reyes</b>" not in page, url


def test_a_publisher_adds_a_contact_inline_and_it_is_stored_encrypted(
    client, publisher, organization
):
    client.force_login(publisher)
    url = reverse("admin:signatories_organization_change", args=[organization.pk])
    data = {
        "name": organization.name, "acronym": "", "country": "PH", "city": "",
        "sector": "", "is_member": "on", "listed": "on", "latitude": "",
        "longitude": "", "time_zone": "",
        "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0", "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-name": "Ben", "contacts-0-email": "Ben@Example.org",
        "contacts-0-language": "tl", "contacts-0-organization": str(organization.pk),
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    contact = Contact.objects.get()
    assert (contact.name, contact.language) == ("Ben", "fil")
    assert contact_email(contact) == "Ben@Example.org"


def test_a_new_organization_is_added_with_its_contacts(client, publisher):
    client.force_login(publisher)
    data = {
        "name": "Bagong Samahan", "acronym": "", "country": "PH", "city": "",
        "sector": "", "is_member": "on", "listed": "on", "latitude": "",
        "longitude": "", "time_zone": "",
        "contacts-TOTAL_FORMS": "2", "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0", "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-name": "Ben", "contacts-0-email": "ben@example.org",
        "contacts-0-language": "en",
        "contacts-1-name": "Ben again", "contacts-1-email": "BEN@example.org",
        "contacts-1-language": "en",
    }  # fmt: skip
    url = reverse("admin:signatories_organization_add")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "The same email is in another row" in response.content.decode()
    assert not Organization.objects.exists()
    data["contacts-1-email"] = "carla@example.org"
    assert client.post(url, data).status_code == 302
    organization = Organization.objects.get()
    assert organization.contacts.count() == 2


def test_the_admin_refuses_a_second_contact_with_the_same_email(
    client, publisher, contact
):
    client.force_login(publisher)
    response = client.post(
        reverse("admin:signatories_contact_add"),
        {"organization": contact.organization_id, "name": "Again",
         "email": "ANA.REYES@example.org", "language": "en"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "already has a contact with that email" in response.content.decode()
    assert Contact.objects.count() == 1


def test_the_admin_finds_a_contact_by_its_whole_email(client, publisher, contact):
    client.force_login(publisher)
    url = reverse("admin:signatories_contact_changelist")
    assert "Reyes" in client.get(url, {"q": "Ana.Reyes@example.org"}).content.decode()
    page = client.get(url, {"q": "other@example.org"}).content.decode()
    assert "Reyes" not in page


def test_an_unsubscribed_contact_cannot_be_deleted(client, publisher, contact):
    Contact.objects.filter(pk=contact.pk).update(unsubscribed_at=timezone.now())
    client.force_login(publisher)
    url = reverse("admin:signatories_contact_delete", args=[contact.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_an_editor_cannot_see_or_change_contacts(client, editor, contact):
    client.force_login(editor)
    for url in [
        reverse("admin:signatories_contact_changelist"),
        reverse("admin:signatories_contact_change", args=[contact.pk]),
        reverse("admin:signatories_contact_add"),
        reverse(
            "admin:signatories_organization_change", args=[contact.organization_id]
        ),
    ]:
        assert client.get(url).status_code == 403, url


def test_an_outsider_is_sent_to_the_login(client, outsider, contact):
    client.force_login(outsider)
    response = client.get(reverse("admin:signatories_contact_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_publisher_without_contact_permissions_sees_no_contacts_inline(
    client, contact
):
    user = make_user("registry-reader", groups=["Publishers"])
    user.groups.clear()
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="signatories",
            codename__in=["view_organization", "change_organization"],
        )
    )
    client.force_login(user)
    page = client.get(
        reverse("admin:signatories_organization_change", args=[contact.organization_id])
    ).content.decode()
    assert "a***@ex…" not in page
    assert "contacts-TOTAL_FORMS" not in page
