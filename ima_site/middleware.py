"""The admin in the organizer's own time zone and language."""

from django.utils import timezone, translation

from ima_site.profiles import preferences_for

ADMIN_PREFIX = "/admin/"


def is_admin_path(path: str) -> bool:
    """/admin/… or /es/admin/…: the admin sits inside the language-prefixed URLs."""
    language = translation.get_language_from_path(path)
    if language:
        path = path[len(language) + 1 :]
    return path.startswith(ADMIN_PREFIX)


class OrganizerPreferencesMiddleware:
    """For a staff user in the admin: their profile's zone and language.

    Every time the admin shows and every date typed in its forms is then in the
    organizer's zone, and the desk's "today" is their day. Without a profile the
    site's defaults stand. Runs after authentication and the second factor.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or not user.is_staff
            or not is_admin_path(request.path_info)
        ):
            return self.get_response(request)
        preferences = preferences_for(user)
        if not preferences.chosen:
            return self.get_response(request)
        request.organizer_preferences = preferences
        previous_language = translation.get_language()
        timezone.activate(preferences.time_zone)
        try:
            response = self.get_response(request)
            # LocaleMiddleware sets this on the way out, after the language below
            # is put back: the page's own language is the profile's.
            response.headers["Content-Language"] = preferences.language
        finally:
            # The thread serves other requests next: nothing of this one stays.
            timezone.deactivate()
            if previous_language:
                translation.activate(previous_language)
            else:
                translation.deactivate()
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # The language changes only once the URL is resolved: the admin sits in
        # i18n_patterns, whose unprefixed URLs match only in the default language.
        # Links on the page then carry the profile's prefix (/es/admin/…).
        preferences = getattr(request, "organizer_preferences", None)
        if preferences is not None:
            translation.activate(preferences.language)
            request.LANGUAGE_CODE = preferences.language
        return None
