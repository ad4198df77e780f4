from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_open_incidents(apps, schema_editor):
    """The shops' open incidents as they are: the services keep the count from now on."""
    Shop = apps.get_model("shops", "Shop")
    Incident = apps.get_model("incidents", "Incident")
    counts = (
        Incident.objects.filter(shop_id=OuterRef("pk"), status="open")
        .order_by()
        .values("shop_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Shop.objects.update(open_incidents=Coalesce(Subquery(counts), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("shops", "0002_verbose_names"),
        ("incidents", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="open_incidents",
            field=models.PositiveIntegerField(default=0, verbose_name="open incidents"),
        ),
        migrations.RunPython(count_open_incidents, migrations.RunPython.noop),
    ]
