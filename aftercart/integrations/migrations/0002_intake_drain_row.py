from django.db import migrations


def create_row(apps, schema_editor):
    # The drain flag is one row that every delivery updates; it must exist beforehand so
    # the hot path is a single UPDATE.
    apps.get_model("integrations", "IntakeDrain").objects.get_or_create(name="intake")


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]
    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
