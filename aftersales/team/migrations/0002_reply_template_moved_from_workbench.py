# The reply templates belong to the team (templated messages, the bulk bar) rather than to the
# workbench's screens. Only Django's state moves: the table keeps its name and its rows.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('shops', '0001_initial'),
        ('team', '0001_initial'),
        ('workbench', '0003_default_reply_templates'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReplyTemplate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(help_text='Stays the same when the wording changes; recorded with each message sent.', verbose_name='template code')),
                        ('name', models.CharField(help_text='What agents choose from.', max_length=100, verbose_name='name')),
                        ('text', models.TextField(help_text='Variables: {case_id} case number, {order_id} platform order number, {amount} refund amount in yuan (the decided refund, else what the items allow), {requested_amount} amount the buyer asked for in yuan, {deadline} the next deadline, {shop} shop name.', verbose_name='text')),
                        ('position', models.PositiveSmallIntegerField(default=100, help_text='Lower numbers come first.', verbose_name='position')),
                        ('is_active', models.BooleanField(default=True, verbose_name='offered')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('shop', models.ForeignKey(blank=True, help_text="Empty: the default for every shop. A shop's own template with the same code replaces the default for that shop.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='shops.shop', verbose_name='shop')),
                    ],
                    options={
                        'verbose_name': 'reply template',
                        'verbose_name_plural': 'reply templates',
                        'db_table': 'workbench_replytemplate',
                        'ordering': ['position', 'code', 'shop_id'],
                        'constraints': [models.UniqueConstraint(fields=('shop', 'code'), name='reply_template_unique_shop_code'), models.UniqueConstraint(condition=models.Q(('shop__isnull', True)), fields=('code',), name='reply_template_unique_default_code', violation_error_message='A default template with this code already exists.')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
