from django.db import migrations

from ima_site.roles import ensure_roles_in_migration


class Migration(migrations.Migration):
    """Editors prepare letters' deliveries and record replies; Publishers deliver
    letters and approve members' letters of concern."""

    dependencies = [
        ("campaigns", "0004_letters"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(ensure_roles_in_migration, migrations.RunPython.noop)
    ]
