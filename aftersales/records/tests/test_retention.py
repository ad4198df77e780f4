"""Records (R6.2): nothing inside three years is deleted by anyone; after the retention
period the scheduled job minimises the buyers' personal data while every record stays and
the audit chain still verifies. Time is frozen (time_machine)."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.db.models import ProtectedError
from django.test import RequestFactory, override_settings

from aftersales import testing
from aftersales.audit.chain import verify_chain
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as cs
from aftersales.cases.models import Case
from aftersales.orders.models import Buyer, Order
from aftersales.platforms.models import StoredBuyerMessage
from aftersales.records.models import Minimisation
from aftersales.records.retention import configured, cutoff, minimise_personal_data, scrub

SH = ZoneInfo("Asia/Shanghai")
THEN = datetime(2022, 3, 1, 10, 0, tzinfo=SH)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SH)


def closed_case(shop, *, at: datetime, buyer=None, statement="") -> Case:
    """An order and a case that ended at `at`, the buyer's statement naming their phone."""
    with time_machine.travel(at, tick=False):
        order = testing.make_order(shop, paid_at=at, buyer=buyer)
        case = testing.make_case(order, buyer_statement=statement)
        cs.message_buyer(case=case, text="张三丰您好，退货地址已发送", by=testing.SYSTEM)
        cs.withdraw_case(case=case, by=testing.SYSTEM)
    return Case.objects.get(pk=case.pk)


def test_r6_2_the_retention_period_is_never_under_three_years():
    assert configured().years >= 3
    too_short = override_settings(AFTERSALES_RETENTION={"years": 2, "rule": ["buyer"]})
    with too_short, pytest.raises(ValueError):
        configured()
    unknown = override_settings(AFTERSALES_RETENTION={"years": 3, "rule": ["delete"]})
    with unknown, pytest.raises(ValueError):
        configured()


def test_r6_2_three_whole_years_back_even_from_a_leap_day():
    assert cutoff(datetime(2028, 2, 29, 12, tzinfo=SH), 3) == datetime(2025, 2, 28, 12, tzinfo=SH)


def test_r6_2_phone_numbers_and_names_in_texts_are_starred():
    text = "我是张三丰，电话13987654321，或者 +86 139-8765-4321，订单12345678901234567"
    cleaned = scrub(text, words=["张三丰"])
    assert "13987654321" not in cleaned and "139-8765-4321" not in cleaned
    assert "张三丰" not in cleaned
    assert "12345678901234567" in cleaned  # an order number is not a phone


@time_machine.travel(NOW, tick=False)
def test_r6_2_after_the_period_personal_data_is_minimised_and_records_stay(shop_a):
    old = closed_case(shop_a, at=THEN, statement="尺码不合适，请联系13987654321")
    recent = closed_case(shop_a, at=datetime(2024, 6, 1, tzinfo=SH))
    counts = {m: m.objects.count() for m in (Case, Order, Buyer, AuditEvent, StoredBuyerMessage)}

    result = minimise_personal_data()
    assert result.minimised == 1

    order = Order.objects.get(pk=old.order_id)
    assert (order.receiver_name, order.receiver_phone) == ("", "")
    assert order.receiver_address == "浙江省杭州市****"  # the region stays for reports
    assert Buyer.objects.get(pk=order.buyer_id).phone == ""
    case = Case.objects.get(pk=old.pk)
    assert "13987654321" not in case.buyer_statement and "尺码不合适" in case.buyer_statement
    assert all("张三丰" not in m.text for m in StoredBuyerMessage.objects.filter(case=old))
    # Inside the period nothing changed.
    kept = Order.objects.get(pk=recent.order_id)
    assert kept.receiver_phone == "13987654321"
    assert Buyer.objects.get(pk=kept.buyer_id).phone == "13812345678"
    # Every record is still there (plus the job's own audit event), and the chain verifies.
    assert Case.objects.count() == counts[Case] and Order.objects.count() == counts[Order]
    assert StoredBuyerMessage.objects.count() == counts[StoredBuyerMessage]
    assert AuditEvent.objects.count() == counts[AuditEvent] + 1
    event = AuditEvent.objects.get(type="personal_data_minimised")
    assert event.payload["order"] == order.platform_order_id
    assert "13987654321" not in str(event.payload)
    assert verify_chain(shop_a.pk) is None
    # Run again: nothing more to do.
    assert minimise_personal_data().minimised == 0


@time_machine.travel(NOW, tick=False)
def test_r6_2_an_old_order_with_an_open_case_keeps_its_data(shop_a):
    with time_machine.travel(THEN, tick=False):
        order = testing.make_order(shop_a, paid_at=THEN)
        testing.make_case(order)
    assert minimise_personal_data().minimised == 0
    assert Order.objects.get(pk=order.pk).receiver_phone == "13987654321"


@time_machine.travel(NOW, tick=False)
def test_r6_2_a_buyer_is_minimised_only_when_all_their_orders_are(shop_a):
    old = closed_case(shop_a, at=THEN)
    buyer = old.order.buyer
    closed_case(shop_a, at=datetime(2025, 1, 1, tzinfo=SH), buyer=buyer)
    assert minimise_personal_data().minimised == 1
    assert Buyer.objects.get(pk=buyer.pk).phone == "13812345678"  # a recent order still needs it


@time_machine.travel(NOW, tick=False)
def test_r6_2_the_rule_is_configuration(shop_a):
    old = closed_case(shop_a, at=THEN, statement="电话13987654321")
    with override_settings(AFTERSALES_RETENTION={"years": 3, "rule": ["receiver"]}):
        minimise_personal_data()
    assert Order.objects.get(pk=old.order_id).receiver_phone == ""
    assert Buyer.objects.get(pk=old.order.buyer_id).phone == "13812345678"
    assert "13987654321" in Case.objects.get(pk=old.pk).buyer_statement


@time_machine.travel(NOW, tick=False)
def test_r6_2_a_longer_period_keeps_more(shop_a):
    old = closed_case(shop_a, at=THEN)
    with override_settings(AFTERSALES_RETENTION={"years": 5, "rule": ["buyer", "receiver"]}):
        assert minimise_personal_data().minimised == 0
    assert Order.objects.get(pk=old.order_id).receiver_phone == "13987654321"


@time_machine.travel(NOW, tick=False)
def test_r6_2_the_scheduled_command_runs_the_job(shop_a):
    closed_case(shop_a, at=THEN)
    out = StringIO()
    call_command("minimise_personal_data", "--dry-run", stdout=out)
    assert out.getvalue().startswith("1 orders due")
    assert not Minimisation.objects.exists()
    out = StringIO()
    call_command("minimise_personal_data", stdout=out)
    assert out.getvalue().startswith("1 orders minimised")
    assert Minimisation.objects.count() == 1


# --- Nothing is deleted ----------------------------------------------------------------------

# The admin's only deletable rows (docs/architecture.md): holiday data, login attempts (deleting
# one unlocks a login) and a shop's own reply templates. Not records of a case or of money.
DELETABLE = {"workdays", "workbench", "team", "auth", "sessions", "django_tasks_db", "douyin"}


def test_r6_2_the_admin_deletes_no_record(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    refusing = {
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not model_admin.has_delete_permission(request)
    }
    for model in admin.site._registry:
        if model._meta.app_label in {
            "cases",
            "orders",
            "audit",
            "imports",
            "records",
            "policy",
            "kuaidi100",
        }:
            assert model._meta.label in refusing, model._meta.label


@pytest.mark.parametrize("app", ["imports", "records", "kuaidi100"])
def test_r6_2_new_tables_protect_what_they_reference(app):
    for model in apps.get_app_config(app).get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey | models.OneToOneField) and field.concrete:
                assert field.remote_field.on_delete is models.PROTECT, (
                    f"{model.__name__}.{field.name}"
                )


def test_r6_2_a_case_its_order_and_its_trail_cannot_be_deleted(shop_a):
    case = testing.make_case(testing.make_order(shop_a))
    with pytest.raises(ProtectedError):
        case.order.delete()
    with pytest.raises(ProtectedError):
        Case.objects.filter(pk=case.pk).delete()
    assert Case.objects.filter(pk=case.pk).exists()
