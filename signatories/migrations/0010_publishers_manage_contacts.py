from django.db import migrations

from ima_site.roles import ensure_roles_in_migration


class Migration(migrations.Migration):
    """Publishers get the permissions to manage the registry's contacts."""

    dependencies = [
        ("signatories", "0009_contacts_and_listed"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(ensure_roles_in_migration, migrations.RunPython.noop)
    ]
