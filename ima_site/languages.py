"""Languages: the interface's (settings.LANGUAGES) and the content's (any ISO 639)."""

from django.conf import settings
from django.conf.locale import LANG_INFO

# Scripts written right to left; content in these gets dir="rtl".
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "ckb", "ug", "sd", "yi", "dv"}

# Content languages Django does not list.
EXTRA_LANGUAGES = {
    "fil": "Filipino",
    "tl": "Tagalog",
    "ceb": "Cebuano",
    "ilo": "Ilocano",
    "si": "සිංහල",
    "ps": "پښتو",
    "sd": "سنڌي",
    "dv": "ދިވެހި",
    "yi": "ייִדיש",
}


def is_known_language(code: str) -> bool:
    return code in EXTRA_LANGUAGES or "name_local" in LANG_INFO.get(code, {})


def language_name(code: str) -> str:
    """The language's name in that language (Español, Bahasa Indonesia, العربيّة)."""
    name = EXTRA_LANGUAGES.get(code) or LANG_INFO.get(code, {}).get("name_local", code)
    # Django writes some in lower case (español, français); menus capitalize them.
    return name[:1].upper() + name[1:]


def text_direction(code: str) -> str:
    return "rtl" if code in RTL_LANGUAGES else "ltr"


def interface_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]
