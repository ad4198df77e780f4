"""R6.2 / issue 15: the audit chain is anchored outside the database.

Rewriting events together with the chain head used to verify "ok" (an unkeyed hash with its
head in the same database). Now each link is an HMAC under a key the database never holds,
and the heads are checkpointed to an append-only file that `verify_audit` compares with; a
forger who rewrites the tables — even one who has the key — is caught.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from aftersales import testing
from aftersales.audit.anchor import read_checkpoints, write_checkpoints
from aftersales.audit.chain import GENESIS, _canonical, compute_hash, verify_chain
from aftersales.audit.models import AuditChainHead, AuditEvent
from aftersales.cases import services
from aftersales.orders.choices import OrderStatus


def work_a_case(shop, by) -> None:
    order = testing.make_order(shop, status=OrderStatus.UNSHIPPED)
    case = testing.make_case(order, type="refund_unshipped", by=by)
    services.approve_case(case=case, by=by)
    services.add_cost(case=case, kind="compensation", amount_fen=500, payer="merchant", by=by)


def rewrite_tail(shop, from_seq: int, rehash) -> None:
    """What an attacker with write access to the tables does: change an event, recompute every
    later link with `rehash`, and move the head to the forged end. The PostgreSQL trigger is
    bypassed as a superuser would (replica mode disables triggers; rolled back with the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        events = list(AuditEvent.objects.filter(shop=shop).order_by("seq"))
        prev = events[from_seq - 2].hash if from_seq > 1 else GENESIS
        for event in events[from_seq - 1 :]:
            if event.seq == from_seq:
                event.payload = {**event.payload, "amount_fen": 1}
            event.prev_hash = prev
            event.hash = rehash(event)
            cursor.execute(
                "UPDATE audit_auditevent SET payload = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [json.dumps(event.payload), event.prev_hash, event.hash, event.pk],
            )
            prev = event.hash
        cursor.execute(
            "UPDATE audit_auditchainhead SET last_hash = %s WHERE shop_id = %s", [prev, shop.pk]
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def unkeyed_sha256(event: AuditEvent) -> str:
    """The forger has no key: the best they can do is the unkeyed SHA-256 of ADR 0003's first
    version (what rewriting events and head together used to pass with)."""
    fields = {
        "shop": event.shop_id,
        "seq": event.seq,
        "case": event.case_id,
        "type": event.type,
        "actor_kind": event.actor_kind,
        "actor_label": event.actor_label,
        "actor_user": event.actor_user_id,
        "before": event.before,
        "after": event.after,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
        "prev": event.prev_hash,
    }
    return hashlib.sha256(_canonical(fields).encode()).hexdigest()


def verify_report(checkpoints: Path | None = None) -> tuple[bool, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = ["--checkpoints", str(checkpoints)] if checkpoints else []
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError:
        return False, out.getvalue(), err.getvalue()
    return True, out.getvalue(), err.getvalue()


def test_links_are_keyed_with_the_configured_key_r6_2(shop_a, alice):
    work_a_case(shop_a, testing.actor(alice))
    event = AuditEvent.objects.filter(shop=shop_a).latest("seq")
    assert event.key_id == "k1"
    assert event.hash == compute_hash(event) != unkeyed_sha256(event)
    with override_settings(AUDIT_CHAIN_KEYS={"k1": "another key"}):
        assert compute_hash(event) != event.hash


def test_rewriting_events_and_head_without_the_key_is_caught_r6_2(shop_a, shop_b, alice):
    work_a_case(shop_a, testing.actor(alice))
    assert verify_chain(shop_a.pk) is None
    rewrite_tail(shop_a, 3, unkeyed_sha256)
    link = verify_chain(shop_a.pk)
    assert link is not None
    assert (link.seq, link.problem) == (3, "content does not match its hash")
    ok, out, err = verify_report()
    assert not ok
    assert f"shop {shop_a.pk} ({shop_a.name}): BROKEN at event #3" in err
    assert f"shop {shop_b.pk} ({shop_b.name}): ok" in out


def test_a_rewrite_with_the_key_is_caught_by_the_checkpoint_file_r6_2(
    shop_a, shop_b, alice, tmp_path
):
    """Even a forger who holds the key (or a chain written before keys) is caught: the head
    was checkpointed to the file outside the database before the rewrite."""
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    work_a_case(shop_a, testing.actor(alice))
    assert write_checkpoints(checkpoints) == 2  # both shops' heads
    work_a_case(shop_a, testing.actor(alice))  # normal activity after a checkpoint: still ok
    assert verify_report(checkpoints)[0]

    rewrite_tail(shop_a, 2, compute_hash)
    assert verify_chain(shop_a.pk) is None  # the chain alone cannot tell
    ok, out, err = verify_report(checkpoints)
    assert not ok
    assert "differs from its checkpoint" in err
    assert f"shop {shop_b.pk} ({shop_b.name}): ok" in out


def test_a_chain_cut_back_below_a_checkpoint_is_caught_r6_2(shop_a, alice, tmp_path):
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    work_a_case(shop_a, testing.actor(alice))
    write_checkpoints(checkpoints)
    head = AuditChainHead.objects.get(shop=shop_a)
    last = AuditEvent.objects.get(shop=shop_a, seq=head.last_seq)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
        cursor.execute(
            "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE shop_id = %s",
            [last.seq - 1, last.prev_hash, shop_a.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
    assert verify_chain(shop_a.pk) is None
    link = verify_chain(shop_a.pk, read_checkpoints(checkpoints).by_shop[shop_a.pk])
    assert link is not None
    assert link.problem == f"chain ends at #{last.seq - 1}, a checkpoint has #{last.seq}"


def test_a_forged_checkpoint_line_is_reported_r6_2(shop_a, alice, tmp_path):
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    work_a_case(shop_a, testing.actor(alice))
    write_checkpoints(checkpoints)
    line = json.loads(checkpoints.read_text().splitlines()[0])
    line["hash"] = "f" * 64  # a line written without the key
    with checkpoints.open("a") as out:
        out.write(json.dumps(line) + "\n")
    ok, _out, err = verify_report(checkpoints)
    assert not ok
    assert "line 2 is not a genuine checkpoint" in err


def test_checkpoints_append_only_heads_that_moved_r6_2(shop_a, shop_b, alice, tmp_path):
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    seen: dict[int, int] = {}
    assert write_checkpoints(checkpoints, unchanged_since=seen) == 2
    assert write_checkpoints(checkpoints, unchanged_since=seen) == 0
    work_a_case(shop_a, testing.actor(alice))
    assert write_checkpoints(checkpoints, unchanged_since=seen) == 1
    anchors = read_checkpoints(checkpoints)
    assert not anchors.bad_lines
    assert len(checkpoints.read_text().splitlines()) == 3
    head = AuditChainHead.objects.get(shop=shop_a)
    assert anchors.by_shop[shop_a.pk][head.last_seq] == head.last_hash
    ok, out, _err = verify_report(checkpoints)
    assert ok
    assert "checkpoints: 3 from" in out


def test_the_sweep_writes_checkpoints_r6_2(shop_a, alice, tmp_path):
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    work_a_case(shop_a, testing.actor(alice))
    with override_settings(AUDIT_CHECKPOINT_FILE=checkpoints):
        call_command("sweep", stdout=io.StringIO())
        assert verify_report()[0]
    head = AuditChainHead.objects.get(shop=shop_a)
    assert read_checkpoints(checkpoints).by_shop[shop_a.pk] == {head.last_seq: head.last_hash}


def test_an_unkeyed_link_after_keyed_ones_is_a_forgery_r6_2(shop_a, alice):
    """Links from before the keys stay verifiable; an unkeyed link after keyed ones is not."""
    work_a_case(shop_a, testing.actor(alice))

    def downgrade(event: AuditEvent) -> str:
        event.key_id = ""
        return unkeyed_sha256(event)

    rewrite_tail(shop_a, 3, downgrade)  # the hashes are unkeyed; key_id stays in the table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE audit_auditevent SET key_id = '' WHERE shop_id = %s AND seq >= 3", [shop_a.pk]
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
    link = verify_chain(shop_a.pk)
    assert link is not None
    assert (link.seq, link.problem) == (3, "unkeyed link after keyed ones")


def test_links_under_a_retired_key_still_verify_r6_2(shop_a, alice):
    current = dict(settings.AUDIT_CHAIN_KEYS)  # the shop's first events are under "k1"
    with override_settings(AUDIT_CHAIN_KEY_ID="old", AUDIT_CHAIN_KEYS={**current, "old": "s1"}):
        work_a_case(shop_a, testing.actor(alice))
    rotated = {**current, "old": "s1", "k2": "s2"}
    with override_settings(AUDIT_CHAIN_KEY_ID="k2", AUDIT_CHAIN_KEYS=rotated):
        work_a_case(shop_a, testing.actor(alice))
        assert verify_chain(shop_a.pk) is None
    with override_settings(AUDIT_CHAIN_KEYS={**current, "k2": "s2"}):
        link = verify_chain(shop_a.pk)
    assert link is not None
    assert link.problem == "unknown key 'old'"
