"""R8.6: the buyer page's own ratings became the cases' `analytics.Survey` answers (migration
buyer 0002): every rating kept, a low one with its supervisor's follow-up, an answered
survey not overwritten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from aftersales import testing

BEFORE = [("buyer", "0001_initial"), ("analytics", "0006_export_kinds")]


@pytest.mark.django_db(transaction=True)
def test_r8_6_ratings_move_into_the_surveys():
    shop = testing.make_shop()
    unsurveyed = testing.make_case(testing.make_order(shop))
    surveyed = testing.make_case(testing.make_order(shop))
    answered = testing.make_case(testing.make_order(shop))
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        Rating = old.get_model("buyer", "SatisfactionRating")
        Survey = old.get_model("analytics", "Survey")
        at = timezone.now() - timedelta(days=3)
        Survey.objects.create(shop_id=shop.pk, case_id=surveyed.pk, token="t1", sent_at=at)
        Survey.objects.create(
            shop_id=shop.pk, case_id=answered.pk, token="t2", sent_at=at, score=5, answered_at=at
        )
        for case, score in ((unsurveyed, 2), (surveyed, 4), (answered, 1)):
            Rating.objects.create(
                shop_id=shop.pk, case_id=case.pk, score=score, comment=f"c{score}", rated_at=at
            )
    finally:
        # Forward to every app's latest migration, not only buyer's: going back to BEFORE
        # also unapplied what depends on analytics 0006, and later tests need it all.
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    from aftersales.analytics.models import FollowUp
    from aftersales.analytics.models import Survey as Now

    scores = dict(Now.objects.values_list("case_id", "score"))
    assert scores == {unsurveyed.pk: 2, surveyed.pk: 4, answered.pk: 5}
    assert Now.objects.get(case_id=unsurveyed.pk).comment == "c2"
    assert list(FollowUp.objects.values_list("case_id", flat=True)) == [unsurveyed.pk]
    assert "buyer_satisfactionrating" not in connection.introspection.table_names()
