"""Country names as organizers type them on paper sheets, in the site's languages.

django_countries knows the names in English, Spanish and French; it has no Indonesian
or Filipino catalogue, so the forms migrants commonly write in those languages (and
a few short English forms) are listed here. A name that means two countries is kept
as ambiguous rather than guessed.
"""

import re
import unicodedata
from functools import cache

from django.conf import settings
from django.utils import translation
from django_countries import Countries, countries
from django_countries.data import COUNTRIES as ISO_NAMES

# Forms not in django_countries' catalogues, by code. Indonesian (id) and Filipino
# (fil) first: the countries of origin and of work that IMA's members write most.
COMMON_FORMS: dict[str, tuple[str, ...]] = {
    "AE": ("UAE", "Uni Emirat Arab", "Emirat Arab", "Dubai",
           "Nagkakaisang Arabong Emirato"),
    "AU": ("Australya",),
    "BD": ("Banglades",),
    "BE": ("Belgia", "Belhika"),
    "BH": ("Bahreyn",),
    "BN": ("Brunei Darussalam",),
    "BR": ("Brasil",),
    "CA": ("Kanada",),
    "CH": ("Swiss", "Suwisa"),
    "CN": ("Tiongkok", "Cina", "Tsina", "RRC", "PRC"),
    "CY": ("Siprus", "Tsipre"),
    "DE": ("Jerman", "Alemanya"),
    "EG": ("Mesir", "Ehipto"),
    "ES": ("Spanyol", "Espanya"),
    "FR": ("Prancis", "Perancis", "Pransya", "Pransiya"),
    "GB": ("UK", "U.K.", "Great Britain", "Britain", "England", "Inggris",
           "Britania Raya", "Inglatera", "Britanya"),
    "GR": ("Yunani", "Gresya"),
    "HK": ("Hongkong", "HK"),
    "ID": ("Indonesya",),
    "IE": ("Irlandia", "Irlanda"),
    "IN": ("Indiya",),
    "IQ": ("Irak",),
    "IT": ("Italia", "Italya"),
    "JO": ("Yordania", "Hordan"),
    "JP": ("Jepang", "Hapon", "Hapón"),
    "KH": ("Kamboja", "Kambodya"),
    "KR": ("Korea Selatan", "Timog Korea", "Republic of Korea"),
    "KP": ("Korea Utara", "Hilagang Korea"),
    "KW": ("Kuweyt",),
    "LB": ("Libanon", "Libano"),
    "MM": ("Burma", "Birmanya"),
    "MO": ("Makau", "Makaw", "Macao"),
    "MX": ("Meksiko", "Mehiko"),
    "MY": ("Malaysiya", "Malasya"),
    "NL": ("Belanda", "Olanda", "Holland"),
    "NZ": ("Selandia Baru", "Bagong Selandiya"),
    "PH": ("Filipina", "Pilipinas", "Philippine", "RP"),
    "PS": ("Palestina",),
    "QA": ("Katar",),
    "RU": ("Rusia", "Rusya"),
    "SA": ("Arab Saudi", "Saudi", "KSA", "Saudi Arabiya"),
    "SG": ("Singapura", "Singapur"),
    "SY": ("Suriah",),
    "TH": ("Taylandiya", "Tailandia"),
    "TL": ("Timor Leste", "East Timor"),
    "TR": ("Turki", "Turkiya", "Türkiye"),
    "TW": ("Taywan",),
    "US": ("USA", "U.S.A.", "US", "U.S.", "America", "Amerika", "Amerika Serikat",
           "Estados Unidos", "Estados Unidos ng Amerika", "États-Unis"),
    "VN": ("Viet Nam", "Biyetnam"),
}  # fmt: skip

# Names that stand for more than one country: the organizer must write the code.
AMBIGUOUS_FORMS: dict[str, tuple[str, ...]] = {
    "Korea": ("KR", "KP"),
    "Congo": ("CG", "CD"),
}


def normalize(value: str) -> str:
    """Case, accents, punctuation and spacing do not tell countries apart."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


@cache
def _names() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}

    def add(name: str, code: str) -> None:
        key = normalize(name)
        if key:
            found.setdefault(key, set()).add(code)

    for language, _label in settings.LANGUAGES:
        with translation.override(language):
            for code, name in countries:
                add(str(name), code)
            for code, name in ISO_NAMES.items():
                add(str(name), code)
            for code, old_names in Countries.OLD_NAMES.items():
                for name in old_names:
                    add(str(name), code)
    for code, forms in COMMON_FORMS.items():
        for name in forms:
            add(name, code)
    for name, codes in AMBIGUOUS_FORMS.items():
        found[normalize(name)] = set(codes)
    return {key: frozenset(codes) for key, codes in found.items()}


def find_country(value: str) -> frozenset[str]:
    """The codes a typed country may mean: one, several (ambiguous), or none.

    Two-letter codes first (a name of two letters is always taken as a code), then
    three-letter ISO codes, then names in the site's languages and common forms.
    """
    text = value.strip()
    if len(text) == 2 and text.upper() in countries:
        return frozenset({text.upper()})
    if len(text) == 3 and text.isalpha():
        code = countries.alpha2(text.upper())
        if code:
            return frozenset({code})
    return _names().get(normalize(text), frozenset())
