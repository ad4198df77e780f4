# The reply templates moved to the team app (team 0002); the table stays as it is.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('team', '0002_reply_template_moved_from_workbench'),
        ('workbench', '0003_default_reply_templates'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='ReplyTemplate')],
            database_operations=[],
        ),
    ]
