"""Canonical email addresses: one person, one signature, whatever way they type it."""

import unicodedata

from django.utils.encoding import punycode

# Providers that ignore dots in the local part.
IGNORES_DOTS = {"gmail.com"}
# Providers that deliver user+anything to user.
IGNORES_PLUS_TAGS = {
    "gmail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com",
    "me.com", "mac.com", "protonmail.com", "proton.me", "pm.me", "fastmail.com",
    "yandex.com", "yandex.ru", "zoho.com",
}  # fmt: skip
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
# Public providers shared by millions: a per-domain limit means nothing for them.
LARGE_PROVIDERS = IGNORES_PLUS_TAGS | {
    "yahoo.com", "ymail.com", "aol.com", "mail.ru", "qq.com", "163.com", "naver.com",
    "gmx.com", "gmx.de", "web.de", "yahoo.co.id", "yahoo.com.ph", "rocketmail.com",
}  # fmt: skip


def is_invisible(char: str) -> bool:
    """A character that shows as nothing: the format characters (soft hyphen,
    zero-width space and joiners, word joiner, byte order mark, bidi marks...) and
    the combining grapheme joiner."""
    return unicodedata.category(char) == "Cf" or char == "\u034f"


def address_problem(email: str) -> str:
    """Why the address cannot be taken as typed ("" if it can).

    Mail software reads `"victim"@`, `"v\\ictim"@` and `victim@exa<soft hyphen>mple`
    as `victim@example`, so each such spelling would hash as a new address while
    reaching the same inbox: the daily cap, the domain limit and duplicate
    detection would all count it apart. Nobody needs these spellings to sign.
    """
    local, _at, domain = email.strip().rpartition("@")
    if any(is_invisible(char) for char in email):
        return "invisible"
    if '"' in local or "\\" in local:
        return "quoted"
    # The validator's letters match a few non-ASCII look-alikes (K, long s, dotless
    # i) when ignoring case; an address literal ([192.0.2.1]) names a server,
    # not a domain.
    if not local.isascii() or domain.startswith("["):
        return "invalid"
    try:
        mailer_domain(domain)
    except UnicodeError:
        return "invalid"
    return ""


def mailer_domain(domain: str) -> str:
    """The domain as the mailer sends to it: Django's SMTP backend turns a non-ASCII
    domain into its IDNA form (NFKC, case folding, invisible characters dropped,
    then Punycode), so `ｅxample.org` goes to `example.org`. ASCII domains are left
    as they are, so a plain address keeps its hash. Raises UnicodeError for a
    domain IDNA cannot encode."""
    if domain.isascii():
        return domain
    return punycode(domain)


def mailer_address(email: str) -> str:
    """The address as typed, trimmed, with the domain in the form the mail goes to."""
    local, at, domain = email.strip().rpartition("@")
    if not at:
        return email.strip()
    try:
        return f"{local}@{mailer_domain(domain)}"
    except UnicodeError:
        return email.strip()  # refused by the form; the mailer will refuse it too


def canonical_email(email: str) -> str:
    """Trimmed, lower-cased, with the provider's own equivalences applied."""
    local, _, domain = mailer_address(email).lower().rpartition("@")
    domain = DOMAIN_ALIASES.get(domain.rstrip("."), domain.rstrip("."))
    if domain in IGNORES_PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in IGNORES_DOTS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def email_domain(canonical: str) -> str:
    return canonical.rpartition("@")[2]
