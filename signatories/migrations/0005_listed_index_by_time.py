from django.db import migrations, models


class Migration(migrations.Migration):
    """The public list is ordered by time, not by a name that may be hidden."""

    dependencies = [
        ("signatories", "0004_listed_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="signature",
            name="signatories_signature_listed",
        ),
        migrations.AddIndex(
            model_name="signature",
            index=models.Index(
                condition=models.Q(
                    ("is_held", False),
                    ("status", "confirmed"),
                    models.Q(("display", "count_only"), _negated=True),
                    models.Q(("name", ""), _negated=True),
                ),
                fields=["statement", "country", "kind", "id"],
                name="signatories_signature_listed",
            ),
        ),
    ]
