import pytest

from tests.factories import make_statement, make_user


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Production serves hashed names from a manifest made by collectstatic; the
    # tests read the files as they are in static/.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture
def publisher(db):
    """An organizer of the secretariat who may publish."""
    return make_user("publisher", groups=["Publishers"])


@pytest.fixture
def editor(db):
    """An organizer who drafts and translates but may not publish."""
    return make_user("editor", groups=["Editors"])


@pytest.fixture
def outsider(db):
    """Someone with an account but no role on the site."""
    return make_user("outsider", staff=False)


@pytest.fixture
def published(db):
    return make_statement(slug="published-statement", status="published")


@pytest.fixture
def draft(db):
    return make_statement(
        slug="draft-statement", status="draft", title="Secret draft about Malaysia"
    )
