from django.db import migrations

from ima_site.roles import ensure_roles_in_migration


class Migration(migrations.Migration):
    """Editors and Publishers make, see and revoke their own API tokens."""

    dependencies = [
        ("ima_site", "0004_api_token"),
    ]

    operations = [
        migrations.RunPython(ensure_roles_in_migration, migrations.RunPython.noop)
    ]
