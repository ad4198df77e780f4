"""The push receiver: verified, stored before it is answered, idempotent on msg_id, and a
refused push (bad signature, unreadable) changes nothing but is kept for inspection."""

import json

import pytest
from django.test import Client

from aftersales.cases.models import Case
from aftersales.platforms.douyin.models import InboundMessage

from . import factories
from .support import PUSH_URL, body_of, message, post_push, sign

pytestmark = pytest.mark.django_db

SUCCESS = {"code": 0, "msg": "success"}


@pytest.fixture
def link(shop_a, fast):
    return factories.link(shop_a, app_key="app-push", secret="push-secret")


def push(client, link, *messages, secret=None, signature=None):
    body = body_of(*messages)
    return post_push(
        client, body, app_key=link.app_key, secret=secret or link.app_secret, signature=signature
    )


def test_a_valid_push_is_stored_then_answered_and_processing_is_queued_on_commit(
    link, django_capture_on_commit_callbacks
):
    msg = message("200", "7001", link.platform_shop_id, msg_id="m-1", apply_time=1700000000)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = push(Client(), link, msg)

    assert response.status_code == 200 and response.json() == SUCCESS
    stored = InboundMessage.objects.get()
    # Stored durably before the answer; applied only later, by the worker.
    assert stored.status == "received" and stored.attempts == 0
    assert (stored.msg_id, stored.tag, stored.aftersale_id) == ("m-1", "200", "7001")
    assert stored.link == link
    assert stored.data["apply_time"] == 1700000000
    assert json.loads(stored.body)["data"] == msg["data"]  # the raw message as sent
    assert stored.headers["app-id"] == link.app_key and "event-sign" in stored.headers
    assert len(queued) == 1


def test_a_redelivered_message_is_acknowledged_but_not_stored_or_queued_again(
    link, django_capture_on_commit_callbacks
):
    msg = message("200", "7001", link.platform_shop_id, msg_id="m-dup")
    push(Client(), link, msg)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        again = push(Client(), link, msg)
        third = push(Client(), link, msg, msg)  # twice in one POST, too

    assert again.json() == SUCCESS and third.json() == SUCCESS
    stored = InboundMessage.objects.get()
    assert stored.deliveries == 4
    assert queued == []


def test_several_messages_in_one_post_are_each_stored(link):
    response = push(
        Client(),
        link,
        message("200", "7001", link.platform_shop_id),
        message("201", "7001", link.platform_shop_id),
        message("200", "7002", link.platform_shop_id),
    )
    assert response.status_code == 200
    assert sorted(InboundMessage.objects.values_list("tag", "aftersale_id")) == [
        ("200", "7001"),
        ("200", "7002"),
        ("201", "7001"),
    ]


def test_a_tampered_push_is_401_kept_for_inspection_and_nothing_is_applied(
    link, django_capture_on_commit_callbacks, caplog
):
    body = body_of(message("200", "7001", link.platform_shop_id))
    signature = sign(link.app_key, body, link.app_secret)
    tampered = body.replace(b"7001", b"7002")

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post_push(Client(), tampered, app_key=link.app_key, signature=signature)

    assert response.status_code == 401
    kept = InboundMessage.objects.get()
    assert kept.status == "bad_signature" and kept.msg_id is None
    assert kept.body == tampered.decode() and kept.error == "signature does not match"
    assert queued == [] and not Case.objects.exists()
    assert "douyin push refused (401)" in caplog.text


def test_a_push_signed_with_another_secret_or_unsigned_is_401(link):
    wrong = push(Client(), link, message("200", "1", link.platform_shop_id), secret="guess")
    unsigned = push(Client(), link, message("200", "1", link.platform_shop_id), signature="")
    assert wrong.status_code == unsigned.status_code == 401
    assert InboundMessage.objects.filter(status="bad_signature").count() == 2


def test_an_unknown_app_is_401(link):
    body = body_of(message("200", "1", link.platform_shop_id))
    response = post_push(Client(), body, app_key="someone-else", secret=link.app_secret)
    assert response.status_code == 401
    assert InboundMessage.objects.get().error == "unknown app-id"


def test_an_inactive_link_receives_nothing(link):
    link.is_active = False
    link.save(update_fields=["is_active"])
    assert push(Client(), link, message("200", "1", link.platform_shop_id)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b"[]",
        b'[{"tag":"200","data":"{}"}]',
        b'[{"tag":"200","msg_id":"x","data":"{not json"}]',
        b'[{"tag":"200","msg_id":"x","data":"[1,2]"}]',
        b'[{"tag":"200","msg_id":"x","data":"{}"}, 5]',
    ],
)
def test_a_malformed_push_is_400_kept_and_not_applied(
    link, body, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post_push(Client(), body, app_key=link.app_key, secret=link.app_secret)

    assert response.status_code == 400
    kept = InboundMessage.objects.get()
    assert kept.status == "malformed" and kept.body == body.decode() and kept.error
    assert queued == []


def test_the_receiver_needs_no_csrf_token_and_only_accepts_post(link):
    client = Client(enforce_csrf_checks=True)
    assert push(client, link, message("200", "1", link.platform_shop_id)).status_code == 200
    assert client.get(PUSH_URL).status_code == 405


def test_tenant_isolation_a_message_about_a_shop_not_linked_here_is_kept_and_never_applied(
    link, django_capture_on_commit_callbacks
):
    """R13.1: the app's signature is valid, but the message names another platform shop:
    it is acknowledged and stored for inspection, and never becomes a case of shop A."""
    from aftersales.platforms.douyin.ingest import process_message

    msg = message("200", "7009", "999000999", msg_id="m-foreign")
    with django_capture_on_commit_callbacks(execute=False):
        response = push(Client(), link, msg)
    assert response.status_code == 200

    stored = InboundMessage.objects.get(msg_id="m-foreign")
    assert stored.link is None
    processed = process_message(stored.pk)
    assert processed.status == "failed" and "999000999" in processed.error
    assert not Case.objects.exists()
