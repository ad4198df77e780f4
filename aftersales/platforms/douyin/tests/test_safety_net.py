"""The inbox's safety net under a backlog (issue 16): it re-queues what a lost task left,
without queueing the whole backlog again on every pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales.platforms.douyin.ingest import claim_messages
from aftersales.platforms.douyin.models import InboundMessage
from aftersales.platforms.douyin.sync import run_safety_net

pytestmark = pytest.mark.django_db


def test_issue16_waiting_messages_get_one_task_per_batch_and_each_task_takes_its_batch(
    linked, settings, monkeypatch
):
    settings.DOUYIN_INBOUND_BATCH = 50
    long_ago = timezone.now() - timedelta(minutes=10)
    InboundMessage.objects.bulk_create(
        InboundMessage(
            link=linked,
            msg_id=f"backlog-{n}",
            tag="200",
            body="{}",
            aftersale_id=str(7000 + n),
            status="received",
            received_at=long_ago,
        )
        for n in range(120)
    )
    InboundMessage.objects.bulk_create(
        InboundMessage(
            link=linked,
            msg_id=f"failed-{n}",
            tag="200",
            body="{}",
            status="failed",
            attempts=1,
            received_at=long_ago,
            claimed_at=long_ago,
        )
        for n in range(2)
    )
    waiting = list(
        InboundMessage.objects.filter(status="received").order_by("pk").values_list("pk", flat=True)
    )
    failed = set(InboundMessage.objects.filter(status="failed").values_list("pk", flat=True))
    queued: list[int] = []
    monkeypatch.setattr(
        "aftersales.platforms.douyin.sync.enqueue_processing", lambda pk, **kw: queued.append(pk)
    )

    run_safety_net()

    # 3 tasks for the 120 waiting (the oldest of each batch), and each failed one its own.
    assert queued[:3] == waiting[::50] and set(queued[3:]) == failed and len(queued) == 5
    # The three tasks, run one after the other (or side by side: the claim skips rows another
    # worker holds), take every waiting message once.
    batches = [[m.pk for m in claim_messages(first, limit=50)] for first in queued[:3]]
    assert [len(b) for b in batches] == [50, 50, 20]
    assert sorted(pk for b in batches for pk in b) == waiting
