"""Review by a second person: one rule for statements, alerts and letter deliveries.

The site setting decides whether whoever asked for something to go out (sent a
statement for review, prepared an alert) may also approve it (publish, schedule,
send). A small secretariat turns the rule off; a larger one keeps four eyes.
"""

from django.utils.translation import gettext as _

from ima_site.models import SiteConfiguration


def second_person_required() -> bool:
    """The site setting, read fresh: an organizer may have just changed it."""
    return SiteConfiguration.current().review_by_second_person


def may_approve(user, submitted_by) -> bool:
    """May `user` approve what `submitted_by` asked for (None: the site, or nobody)?"""
    if not second_person_required():
        return True
    if submitted_by is None or user is None:
        return True
    return user.pk != submitted_by.pk


def approval_refused_reason(user, submitted_by) -> str:
    """Why `user` may not approve, in words for the organizer; "" when they may."""
    if may_approve(user, submitted_by):
        return ""
    return _(
        "Review by a second person is on: someone other than you, who sent it "
        "for review, must approve it."
    )
