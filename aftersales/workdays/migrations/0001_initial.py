# The working-day calendar's models move here from `sla` (state only: the tables created by
# sla 0001 keep their names and rows). `sla` 0003 removes them from its own state.

from django.db import migrations, models

MODELS = ["calendaryear", "holidayoverride"]


def move_content_types(apps, schema_editor, *, old, new):
    """Keep the admin's permissions and history pointing at the models after the move."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
            ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor):
    move_content_types(apps, schema_editor, old="sla", new="workdays")


def backwards(apps, schema_editor):
    move_content_types(apps, schema_editor, old="workdays", new="sla")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('sla', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CalendarYear',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('year', models.PositiveIntegerField(unique=True, verbose_name='year')),
                        ('note', models.CharField(blank=True, max_length=255, verbose_name='source')),
                        ('imported_at', models.DateTimeField(auto_now_add=True, verbose_name='imported at')),
                    ],
                    options={
                        'verbose_name': 'calendar year',
                        'verbose_name_plural': 'calendar years',
                        'db_table': 'sla_calendaryear',
                    },
                ),
                migrations.CreateModel(
                    name='HolidayOverride',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('date', models.DateField(unique=True, verbose_name='date')),
                        ('is_working_day', models.BooleanField(verbose_name='working day')),
                        ('name', models.CharField(blank=True, max_length=64, verbose_name='name')),
                    ],
                    options={
                        'verbose_name': 'holiday override',
                        'verbose_name_plural': 'holiday overrides',
                        'ordering': ['date'],
                        'db_table': 'sla_holidayoverride',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
