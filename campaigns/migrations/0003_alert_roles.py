from django.db import migrations

from ima_site.roles import ensure_roles_in_migration


class Migration(migrations.Migration):
    """Editors draft alerts and read campaigns, actions and missions; Publishers
    also write campaigns, actions and missions, and delete drafts."""

    dependencies = [
        ("campaigns", "0002_publishers_approve_reports"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(ensure_roles_in_migration, migrations.RunPython.noop)
    ]
