"""R6.2: the audit trail is append-only and tamper-evident.

Events are hash-chained per shop (seq 1..n, each linking the previous hash); the model, its
querysets and, on PostgreSQL, the database itself refuse to change or remove an event; the
`verify_audit` command passes a clean chain and names the shop and first broken link of a
tampered one; shop A's and shop B's chains are independent of each other.
"""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from aftersales import testing
from aftersales.audit.chain import GENESIS, compute_hash, record_event, verify_chain
from aftersales.audit.models import AppendOnlyError, AuditChainHead, AuditEvent
from aftersales.cases import services
from aftersales.orders.choices import OrderStatus


def chain(shop) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(shop=shop).order_by("seq"))


def work_a_case(shop, by) -> None:
    """A few real actions, so the chain holds what the product writes."""
    order = testing.make_order(shop, status=OrderStatus.UNSHIPPED)
    case = testing.make_case(order, type="refund_unshipped", by=by)
    services.approve_case(case=case, by=by)
    services.add_cost(case=case, kind="compensation", amount_fen=500, payer="merchant", by=by)
    services.refund_case(case=case, by=by)


def tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_events_are_hash_chained_per_shop_r6_2(shop_a, alice):
    work_a_case(shop_a, testing.actor(alice))
    events = chain(shop_a)
    assert len(events) >= 6
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
    for event in events:
        assert event.hash == compute_hash(event)
    head = AuditChainHead.objects.get(shop=shop_a)
    assert (head.last_seq, head.last_hash) == (events[-1].seq, events[-1].hash)
    assert verify_chain(shop_a.pk) is None


def test_an_event_records_who_what_and_the_change_r6_2(shop_a, alice):
    by = testing.actor(alice)
    order = testing.make_order(shop_a)
    case = testing.make_case(order, by=by)
    services.approve_case(case=case, by=by)
    event = AuditEvent.objects.filter(case=case).latest("seq")
    assert (event.type, event.actor_kind, event.actor_label, event.actor_user_id) == (
        "case_approved",
        "user",
        "alice",
        alice.pk,
    )
    assert (event.before, event.after) == (
        {"status": "pending_review", "return_status": "not_required"},
        {"status": "awaiting_return", "return_status": "awaiting_shipment"},
    )
    assert event.created_at is not None


def test_shop_a_and_shop_b_have_independent_chains_r6_2(shop_a, shop_b, alice, carol):
    # Interleave work in the two shops: neither chain sees the other's events.
    for _ in range(2):
        work_a_case(shop_a, testing.actor(alice))
        work_a_case(shop_b, testing.actor(carol))
    for shop in (shop_a, shop_b):
        events = chain(shop)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].prev_hash == GENESIS
        assert verify_chain(shop.pk) is None
    hashes_a = {e.hash for e in chain(shop_a)}
    assert not hashes_a & {e.prev_hash for e in chain(shop_b)}

    # Breaking shop A's chain says nothing about shop B's.
    if connection.vendor == "sqlite":
        tamper("UPDATE audit_auditevent SET type = 'x' WHERE shop_id = %s AND seq = 2", [shop_a.pk])
        link = verify_chain(shop_a.pk)
        assert link is not None
        assert link.seq == 2
        assert verify_chain(shop_b.pk) is None


def test_an_event_cannot_be_saved_again_or_deleted_r6_2(shop_a):
    event = chain(shop_a)[0]
    original = (event.type, event.hash)
    event.type = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.type, stored.hash) == original


def test_querysets_cannot_update_or_delete_events_r6_2(shop_a, alice):
    work_a_case(shop_a, testing.actor(alice))
    before = list(AuditEvent.objects.order_by("pk").values_list("pk", "type", "hash"))
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(shop=shop_a).update(type="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(shop=shop_a).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert list(AuditEvent.objects.order_by("pk").values_list("pk", "type", "hash")) == before
    assert verify_chain(shop_a.pk) is None


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET type = 'rewritten' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_postgres_refuses_raw_sql_that_changes_or_removes_an_event_r6_2(shop_a, sql):
    event = chain(shop_a)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        tamper(sql, [event.pk])
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.type, stored.hash) == (event.type, event.hash)
    assert verify_chain(shop_a.pk) is None


def test_verify_audit_passes_clean_chains_r6_2(shop_a, shop_b, alice):
    work_a_case(shop_a, testing.actor(alice))
    out = io.StringIO()
    call_command("verify_audit", stdout=out, stderr=io.StringIO())
    report = out.getvalue()
    assert f"shop {shop_a.pk} ({shop_a.name}): ok" in report
    assert f"shop {shop_b.pk} ({shop_b.name}): ok" in report


def test_verify_audit_still_walks_a_chain_whose_head_row_is_gone(shop_a, shop_b, alice):
    """The chains are listed from the audit tables: events without a head are not skipped."""
    work_a_case(shop_a, testing.actor(alice))
    tamper("DELETE FROM audit_auditchainhead WHERE shop_id = %s", [shop_a.pk])
    out = io.StringIO()
    call_command("verify_audit", stdout=out, stderr=io.StringIO())
    assert out.getvalue().splitlines() == [
        f"shop {shop_a.pk} ({shop_a.name}): ok",
        f"shop {shop_b.pk} ({shop_b.name}): ok",
    ]


tampered_only_on_sqlite = pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="PostgreSQL refuses the raw UPDATE/DELETE (tested above)",
)


@tampered_only_on_sqlite
@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (
            "UPDATE audit_auditevent SET actor_label = 'mallory' WHERE shop_id = %s AND seq = %s",
            "content does not match its hash",
        ),
        (
            "UPDATE audit_auditevent SET payload = '{\"amount_fen\": 1}' "
            "WHERE shop_id = %s AND seq = %s",
            "content does not match its hash",
        ),
        ("DELETE FROM audit_auditevent WHERE shop_id = %s AND seq = %s", "missing"),
    ],
    ids=["actor", "payload", "deleted"],
)
def test_verify_audit_names_the_shop_and_first_broken_link_r6_2(
    shop_a, shop_b, alice, sql, problem
):
    work_a_case(shop_a, testing.actor(alice))
    broken_seq = 4
    tamper(sql, [shop_a.pk, broken_seq])
    tamper(sql, [shop_a.pk, broken_seq + 2])  # a later break is not the one reported

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 audit chain"):
        call_command("verify_audit", stdout=out, stderr=err)

    assert f"shop {shop_a.pk} ({shop_a.name}): BROKEN at event #{broken_seq}" in err.getvalue()
    assert problem in err.getvalue()
    assert f"shop {shop_b.pk} ({shop_b.name}): ok" in out.getvalue()
    assert f"shop {shop_a.pk}" not in out.getvalue()


@tampered_only_on_sqlite
def test_a_rehashed_forgery_is_caught_by_the_next_link_r6_2(shop_a, alice):
    work_a_case(shop_a, testing.actor(alice))
    forged = AuditEvent.objects.get(shop=shop_a, seq=3)
    forged.actor_label = "mallory"
    forged.hash = compute_hash(forged)  # the forger recomputes this link's hash …
    tamper(
        "UPDATE audit_auditevent SET actor_label = %s, hash = %s WHERE id = %s",
        [forged.actor_label, forged.hash, forged.pk],
    )
    link = verify_chain(shop_a.pk)
    assert link is not None
    assert (link.seq, link.problem) == (4, "does not link to the previous event")  # … not 4's


@tampered_only_on_sqlite
def test_removing_the_last_event_is_caught_by_the_chain_head_r6_2(shop_a, alice):
    work_a_case(shop_a, testing.actor(alice))
    last = chain(shop_a)[-1]
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    link = verify_chain(shop_a.pk)
    assert link is not None
    assert link.seq == last.seq


def test_an_event_outside_a_transaction_is_refused_r6_2(transactional_db):
    shop = testing.make_shop("无事务店")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record_event(shop_id=shop.pk, type="loose", by=testing.SYSTEM)
    assert not AuditEvent.objects.filter(shop=shop, type="loose").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_queue_up_and_never_fork_the_chain_r6_2():
    shop = testing.make_shop("并发店")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                with transaction.atomic():
                    record_event(shop_id=shop.pk, type=f"t{n}-{i}", by=testing.SYSTEM)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    events = chain(shop)
    assert [e.seq for e in events] == list(range(1, 1 + 1 + 8 * 5))  # shop_created + 40
    assert verify_chain(shop.pk) is None


@pytest.mark.postgres
def test_postgres_refuses_truncate_of_the_audit_trail_r6_2(shop_a):
    """Issue 15: TRUNCATE fires no row trigger; a statement trigger refuses it too, unless a
    maintenance session says so (the suite's own flush does)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    events = chain(shop_a)
    with (
        pytest.raises(DatabaseError, match="cannot be truncated"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL aftersales.maintenance = 'off'")
        cursor.execute("TRUNCATE audit_auditevent CASCADE")
    assert AuditEvent.objects.filter(shop=shop_a).count() == len(events)
    assert verify_chain(shop_a.pk) is None
