from django.db import migrations

from ima_site.roles import ensure_roles_in_migration


class Migration(migrations.Migration):
    """Publishers get the permissions to see pledges and approve members' reports."""

    dependencies = [
        ("campaigns", "0001_initial"),
        ("signatories", "0010_publishers_manage_contacts"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(ensure_roles_in_migration, migrations.RunPython.noop)
    ]
