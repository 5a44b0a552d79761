"""Canonical email addresses: one person, one signature, whatever way they type it."""

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


def canonical_email(email: str) -> str:
    """Trimmed, lower-cased, with the provider's own equivalences applied."""
    local, _, domain = email.strip().lower().rpartition("@")
    domain = DOMAIN_ALIASES.get(domain.rstrip("."), domain.rstrip("."))
    if domain in IGNORES_PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in IGNORES_DOTS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def email_domain(canonical: str) -> str:
    return canonical.rpartition("@")[2]
