"""R9.1 staff and API keys for shop admins (/team/staff/, /team/api-keys/).

Proves:
- an admin adds an existing user with a role, changes a member's role, and creates a new
  login that can then log in; a weak password, a taken username, mismatched passwords or
  an unknown user are refused and create nothing; an admin cannot change their own role;
- skills and seniority set on the staff page are stored and on the record;
- a new API key's raw value is shown once, on the response that created it, never again,
  never stored, and not cached; it works against the API until revoked, after which the
  API refuses it (401) — and another shop's admin cannot revoke it.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.test import Client

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.shops.choices import Role
from aftersales.shops.models import ApiKey, Membership
from aftersales.shops.services import create_api_key
from aftersales.team.models import StaffProfile

from .conftest import logged_in
from .support import new_case

User = get_user_model()


def staff_post(client, shop, **data):
    return client.post("/team/staff/", {"shop": shop.pk, **data})


# --- Staff -----------------------------------------------------------------------------------


def test_r9_1_staff_page_lists_members_with_roles(shop_a, ada, alice, audrey, carol):
    content = logged_in(ada).get("/team/staff/").content.decode()

    for name in ("ada", "alice", "audrey"):
        assert name in content
    assert "carol" not in content  # shop B
    assert 'for="id_add-username"' in content and 'for="id_create-password1"' in content


def test_r9_1_admin_adds_an_existing_user_and_changes_a_role(shop_a, ada, alice, carol):
    client = logged_in(ada)

    response = staff_post(
        client, shop_a, form="add", **{"add-username": "carol", "add-role": "agent"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(shop=shop_a, user=carol).role == Role.AGENT

    staff_post(client, shop_a, form="add", **{"add-username": "alice", "add-role": "supervisor"})
    assert Membership.objects.get(shop=shop_a, user=alice).role == Role.SUPERVISOR
    event = AuditEvent.objects.filter(shop=shop_a, type="member_added").latest("seq")
    assert (event.actor_label, event.after) == ("ada", {"user": "alice", "role": "supervisor"})


def test_r9_1_unknown_user_or_own_role_is_refused(shop_a, ada):
    client = logged_in(ada)
    count = Membership.objects.count()

    response = staff_post(
        client, shop_a, form="add", **{"add-username": "nobody", "add-role": "agent"}
    )
    assert response.status_code == 400
    assert "No active user has that username." in response.content.decode()

    response = staff_post(
        client, shop_a, form="add", **{"add-username": "ada", "add-role": "agent"}
    )
    assert response.status_code == 400
    assert Membership.objects.get(shop=shop_a, user=ada).role == Role.ADMIN
    assert Membership.objects.count() == count


def test_r9_1_admin_creates_a_new_login_who_can_log_in(shop_a, ada):
    response = staff_post(
        logged_in(ada),
        shop_a,
        form="create",
        **{
            "create-username": "dan",
            "create-display_name": "小丹",
            "create-password1": "售后-Strong-pass-2025",
            "create-password2": "售后-Strong-pass-2025",
            "create-role": "agent",
        },
    )

    assert response.status_code == 302
    assert Membership.objects.get(shop=shop_a, user__username="dan").role == Role.AGENT
    assert Client().login(username="dan", password="售后-Strong-pass-2025")
    assert User.objects.get(username="dan").get_full_name() == "小丹"


def test_r9_1_bad_new_logins_are_refused_and_create_nothing(shop_a, ada, alice):
    client = logged_in(ada)
    users = User.objects.count()
    cases = [
        ("eve", "short", "short"),  # too short
        ("eve", "password123", "password123"),  # too common
        ("eve", "售后-Strong-pass-2025", "售后-Other-pass-2025"),  # differ
        ("ALICE", "售后-Strong-pass-2025", "售后-Strong-pass-2025"),  # taken
    ]
    for username, first, second in cases:
        response = staff_post(
            client,
            shop_a,
            form="create",
            **{
                "create-username": username,
                "create-display_name": "伊芙",
                "create-password1": first,
                "create-password2": second,
                "create-role": "agent",
            },
        )
        assert response.status_code == 400, username
    assert User.objects.count() == users


def test_r9_1_admin_sets_skills_and_seniority(shop_a, ada, alice):
    response = logged_in(ada).post(
        f"/team/staff/{alice.pk}/skills/",
        {
            "shop": shop_a.pk,
            f"m{alice.pk}-skills": ["electronics", "beauty"],
            f"m{alice.pk}-is_senior": "on",
        },
    )

    assert response.status_code == 302
    profile = StaffProfile.objects.get(user=alice)
    assert (profile.skills, profile.is_senior) == (["beauty", "electronics"], True)
    assert AuditEvent.objects.filter(shop=shop_a, type="staff_skills_changed").exists()


def test_r9_1_skills_of_someone_outside_the_shop_are_not_found(shop_a, ada, carol):
    response = logged_in(ada).post(
        f"/team/staff/{carol.pk}/skills/", {"shop": shop_a.pk, f"m{carol.pk}-skills": ["food"]}
    )

    assert response.status_code == 404
    assert not StaffProfile.objects.filter(user=carol).exists()


# --- API keys --------------------------------------------------------------------------------


def test_r9_1_api_key_is_shown_once_and_works_until_revoked(shop_a, ada):
    case = new_case(shop_a)
    client = logged_in(ada)

    created = client.post("/team/api-keys/", {"shop": shop_a.pk, "name": "ERP", "role": "auditor"})

    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    raw = created.context["new_key"]["raw"]
    assert raw.startswith("ask_") and raw in created.content.decode()
    key = ApiKey.objects.get(shop=shop_a, name="ERP")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    # Never again: the list shows the prefix only.
    listing = client.get(f"/team/api-keys/?shop={shop_a.pk}").content.decode()
    assert raw not in listing and key.prefix in listing

    erp = Client(headers={"X-API-Key": raw})
    assert erp.get(f"/api/v1/cases/{case.pk}").status_code == 200

    revoked = client.post(f"/team/api-keys/{key.pk}/revoke/")

    assert revoked.status_code == 302
    assert erp.get(f"/api/v1/cases/{case.pk}").status_code == 401
    assert erp.get("/api/v1/cases").status_code == 401
    event = AuditEvent.objects.filter(shop=shop_a, type="api_key_revoked").latest("seq")
    assert event.actor_label == "ada"


def test_r9_1_another_shops_admin_cannot_revoke_a_key(shop_a, shop_b):
    other_admin = testing.make_user("oscar", shop_b, Role.ADMIN)
    key, raw = create_api_key(shop=shop_a, name="ERP", by=testing.SYSTEM)

    response = logged_in(other_admin).post(f"/team/api-keys/{key.pk}/revoke/")

    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert Client(headers={"X-API-Key": raw}).get("/api/v1/cases").status_code == 200


def test_r9_1_an_api_key_needs_a_name(shop_a, ada):
    response = logged_in(ada).post(
        "/team/api-keys/", {"shop": shop_a.pk, "name": "", "role": "agent"}
    )

    assert response.status_code == 400
    assert not ApiKey.objects.exists()
