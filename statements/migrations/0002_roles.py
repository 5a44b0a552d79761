from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = [
    "add_statement", "change_statement", "view_statement",
    "add_statementversion", "change_statementversion", "delete_statementversion",
    "view_statementversion",
    "add_link", "change_link", "delete_link", "view_link",
    "add_mediacontact", "change_mediacontact", "delete_mediacontact", "view_mediacontact",
    "add_topic", "change_topic", "view_topic",
]  # fmt: skip
PUBLISHER_PERMISSIONS = [*EDITOR_PERMISSIONS, "publish_statement", "delete_statement"]


def create_roles(apps, schema_editor):
    """Editors draft and send for review; publishers also publish and withdraw."""
    # Permissions are normally created after all migrations; make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in [
        ("Editors", EDITOR_PERMISSIONS),
        ("Publishers", PUBLISHER_PERMISSIONS),
    ]:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="statements", codename__in=codenames
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
