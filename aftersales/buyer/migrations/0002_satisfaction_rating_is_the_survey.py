"""The buyer's page rated a case in its own `SatisfactionRating`; the satisfaction survey of
R8.6 is `analytics.Survey`. Each rating becomes the answer of its case's survey (the survey is
made if the case has none; an answered survey keeps its answer), a score of 3 or less gets
the supervisor's follow-up as `answer_survey` would give it, then the duplicate goes."""

import secrets

from django.db import migrations

LOW_SCORE = 3


def ratings_into_surveys(apps, schema_editor):
    Rating = apps.get_model("buyer", "SatisfactionRating")
    Survey = apps.get_model("analytics", "Survey")
    FollowUp = apps.get_model("analytics", "FollowUp")
    for rating in Rating.objects.select_related("case").order_by("pk").iterator():
        survey = Survey.objects.filter(case_id=rating.case_id).first()
        if survey is None:
            survey = Survey.objects.create(
                shop_id=rating.shop_id,
                case_id=rating.case_id,
                token=secrets.token_urlsafe(32),
                agent_id=rating.case.assignee_id,
                sent_at=rating.rated_at,
            )
        if survey.answered_at is not None:
            continue
        survey.score, survey.comment, survey.answered_at = (
            rating.score,
            rating.comment[:1000],
            rating.rated_at,
        )
        survey.save(update_fields=["score", "comment", "answered_at"])
        if rating.score <= LOW_SCORE and not FollowUp.objects.filter(survey=survey).exists():
            FollowUp.objects.create(
                shop_id=survey.shop_id,
                survey=survey,
                case_id=survey.case_id,
                created_at=rating.rated_at,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("buyer", "0001_initial"),
        ("analytics", "0006_export_kinds"),
    ]

    operations = [
        migrations.RunPython(ratings_into_surveys, migrations.RunPython.noop),
        migrations.DeleteModel(name="SatisfactionRating"),
    ]
