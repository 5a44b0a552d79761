from django.db import migrations

from ima_site.roles import ensure_roles_in_migration


class Migration(migrations.Migration):
    """Publishers get the permission to delete topics (public ones are theirs only)."""

    dependencies = [
        ("statements", "0004_statement_signatories_shown_statement_signers_and_more"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(ensure_roles_in_migration, migrations.RunPython.noop)
    ]
