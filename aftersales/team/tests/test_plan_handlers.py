"""R6.4: a case under a high-risk plan goes to the handlers the plan names (roles or usernames)
when one of them is on duty; otherwise the usual rules choose (R9.2)."""

from __future__ import annotations

from aftersales import testing
from aftersales.cases.models import Case
from aftersales.catalog.models import Product
from aftersales.core.actors import Actor
from aftersales.policy.services import decide_case
from aftersales.shops.choices import Role
from aftersales.team.services import assign_automatically, plan_handlers, set_on_duty

from .support import new_case

SYSTEM = testing.SYSTEM


def high_risk_case(shop):
    case = new_case(shop, category="electronics")
    Product.objects.filter(pk=case.items.get().order_item.sku.product_id).update(is_high_risk=True)
    # Decided again as an edge does it, on the case read afresh (the object from the opening
    # carries the opening's decision for its triage).
    case = Case.objects.get(pk=case.pk)
    decide_case(case=case, by=SYSTEM)
    return case


def test_r6_4_a_case_under_a_high_risk_plan_goes_to_its_named_handlers(shop_a, alice):
    lead = testing.make_user("lead-r64", shop_a, Role.SUPERVISOR)
    for user in (alice, lead):
        set_on_duty(user=user, shop=shop_a, on_duty=True, by=SYSTEM)
    case = high_risk_case(shop_a)
    assert plan_handlers(case) == {"supervisor"}  # the default policy's electronics plan
    for _ in range(3):  # even when the supervisor is the busier one
        other = high_risk_case(shop_a)
        assign_automatically(case=other, by=Actor.system("assignment"))
    assert assign_automatically(case=case, by=Actor.system("assignment")).assignee == lead


def test_r6_4_without_a_named_handler_on_duty_the_usual_rules_choose(shop_a, alice):
    set_on_duty(user=alice, shop=shop_a, on_duty=True, by=SYSTEM)
    case = high_risk_case(shop_a)
    assert assign_automatically(case=case, by=Actor.system("assignment")).assignee == alice
    plain = new_case(shop_a)
    decide_case(case=plain, by=SYSTEM)
    assert plan_handlers(plain) == frozenset()
