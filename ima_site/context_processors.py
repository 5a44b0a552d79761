from django.conf import settings
from django.urls import translate_url

from ima_site.languages import language_name


def site(request):
    """The site's name and links to this page in every interface language."""
    path = request.get_full_path()
    return {
        "SITE_NAME": settings.SITE_NAME,
        "language_links": [
            {
                "code": code,
                "name": language_name(code),
                "url": translate_url(path, code),
            }
            for code, _name in settings.LANGUAGES
        ],
    }
