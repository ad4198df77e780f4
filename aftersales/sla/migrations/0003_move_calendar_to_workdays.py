# The working-day calendar's models now belong to the `workdays` app (its 0001 takes them
# into its state first). State only: the tables and their rows stay as they are.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0002_notification_inbox'),
        ('workdays', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='CalendarYear'),
                migrations.DeleteModel(name='HolidayOverride'),
            ],
            database_operations=[],
        ),
    ]
