"""The two organizer roles, as groups: editors draft, publishers also publish."""

EDITOR_PERMISSIONS = [
    "statements.add_statement", "statements.change_statement",
    "statements.view_statement",
    "statements.add_statementversion", "statements.change_statementversion",
    "statements.delete_statementversion", "statements.view_statementversion",
    "statements.add_link", "statements.change_link", "statements.delete_link",
    "statements.view_link",
    "statements.add_mediacontact", "statements.change_mediacontact",
    "statements.delete_mediacontact", "statements.view_mediacontact",
    "statements.add_topic", "statements.change_topic", "statements.view_topic",
    # Both roles may read the audit log; nobody may change it.
    "ima_site.view_auditentry",
    # Their own API tokens: make, see, revoke (the admin shows each only its own).
    "ima_site.add_apitoken", "ima_site.view_apitoken", "ima_site.delete_apitoken",
    # Alerts: editors draft them, with their texts, audience and mission choices,
    # preview them and send tests to themselves; sending is the Publishers'.
    "campaigns.add_alert", "campaigns.change_alert", "campaigns.view_alert",
    "campaigns.add_alertversion", "campaigns.change_alertversion",
    "campaigns.delete_alertversion", "campaigns.view_alertversion",
    "campaigns.add_missionchoice", "campaigns.change_missionchoice",
    "campaigns.delete_missionchoice", "campaigns.view_missionchoice",
    "campaigns.view_campaign", "campaigns.view_campaignstatement",
    "campaigns.view_action", "campaigns.view_mission",
    "campaigns.view_alertdelivery",
    # Letters: editors prepare a letter's delivery, its covers and targets, and
    # record targets' replies; delivering it is the Publishers'.
    "campaigns.add_letter", "campaigns.change_letter", "campaigns.view_letter",
    "campaigns.add_lettercover", "campaigns.change_lettercover",
    "campaigns.delete_lettercover", "campaigns.view_lettercover",
    "campaigns.add_lettertarget", "campaigns.change_lettertarget",
    "campaigns.delete_lettertarget", "campaigns.view_lettertarget",
    "campaigns.view_lettercompilation", "campaigns.view_letterdelivery",
    "campaigns.add_targetreply", "campaigns.change_targetreply",
    "campaigns.view_targetreply", "campaigns.view_letterofconcern",
]  # fmt: skip
PUBLISHER_PERMISSIONS = [
    *EDITOR_PERMISSIONS,
    "statements.publish_statement",
    "statements.delete_statement",
    # Topics that public statements show: only publishers change or delete them.
    "statements.delete_topic",
    # Signatures: review them, add paper sheets and offline counts, export.
    "signatories.view_signature", "signatories.add_signature",
    "signatories.review_signatures", "signatories.export_signatures",
    "signatories.view_organization", "signatories.add_organization",
    "signatories.change_organization",
    # The member registry's contacts (alert recipients): their emails are shown
    # masked, and a contact who unsubscribed cannot be deleted.
    "signatories.view_contact", "signatories.add_contact",
    "signatories.change_contact", "signatories.delete_contact",
    # Members' pledges and reports: Publishers approve reports for the public.
    "campaigns.view_pledge", "campaigns.change_pledge", "campaigns.view_reportphoto",
    # Alerts go out to every member: only Publishers send, schedule, pause, cancel.
    "campaigns.send_alert",
    # Letters go to embassies and ministries: only Publishers deliver them, approve
    # members' letters of concern, and delete replies.
    "campaigns.deliver_letter", "campaigns.change_letterofconcern",
    "campaigns.delete_targetreply",
    # Campaigns, their actions and timelines, and the directory of missions; drafts
    # may be deleted (the admin refuses anything members were alerted about).
    "campaigns.add_campaign", "campaigns.change_campaign", "campaigns.delete_campaign",
    "campaigns.add_campaignstatement", "campaigns.change_campaignstatement",
    "campaigns.delete_campaignstatement",
    "campaigns.add_action", "campaigns.change_action", "campaigns.delete_action",
    "campaigns.add_mission", "campaigns.change_mission",
    "campaigns.delete_alert",
    "signatories.view_offlinecount", "signatories.add_offlinecount",
    "signatories.view_countcheck",
    "signatories.view_signingswitch", "signatories.add_signingswitch",
    "signatories.change_signingswitch",
    # The one-row site settings ("review by a second person"), and the outgoing
    # emails, whose failures the desk shows.
    "ima_site.view_siteconfiguration", "ima_site.change_siteconfiguration",
    "ima_site.view_outboxmessage",
]  # fmt: skip
ROLES = {"Editors": EDITOR_PERMISSIONS, "Publishers": PUBLISHER_PERMISSIONS}


def ensure_roles_in_migration(apps, schema_editor) -> None:
    """RunPython step: permissions are normally made after all migrations; make
    them now, then give the groups theirs."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def ensure_roles(group_model, permission_model) -> None:
    """Create the groups and give them their permissions; safe to repeat.

    Takes the models as arguments so that a migration can pass its historical ones.
    Permissions of apps not migrated yet are skipped; their own migration adds them.
    """
    for name, permissions in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        for permission in permissions:
            app_label, codename = permission.split(".")
            group.permissions.add(
                *permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
