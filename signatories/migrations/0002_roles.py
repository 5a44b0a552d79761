from django.contrib.auth.management import create_permissions
from django.db import migrations

from statements.roles import ensure_roles


def add_signature_permissions_to_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [
        ("signatories", "0001_initial"),
        ("statements", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(add_signature_permissions_to_roles, migrations.RunPython.noop)
    ]
