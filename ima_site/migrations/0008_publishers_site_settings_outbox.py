from django.db import migrations

from ima_site.roles import ensure_roles_in_migration


class Migration(migrations.Migration):
    """Publishers change the site settings and see the outgoing emails (the desk's
    failed emails link to them)."""

    dependencies = [
        ("ima_site", "0007_organizer_profile_site_configuration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(ensure_roles_in_migration, migrations.RunPython.noop)
    ]
