"""The knowledge base and the bot as services (R8.3, R10.1, R2.8, R6.2).

`answer_buyer` is the one way a buyer's message is answered, whichever channel it came by (the
self-service page, a chat channel on the API): it keeps the message and the answer with the
order's case, and hands the buyer over to a person when the bot is not confident, the buyer is
upset, complains or threatens to, asks for a person, or is a VIP buyer (always, R2.8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from rank_bm25 import BM25Plus

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case
from aftersales.cases.ports import CaseChange
from aftersales.cases.transitions import record_case_event
from aftersales.catalog.models import Product
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.orders.choices import ShipmentKind
from aftersales.orders.models import Order, Shipment
from aftersales.policy.services import latest_decision
from aftersales.shops.choices import WRITE_ROLES, Role
from aftersales.sla.models import ClockState, SlaClock

from . import answers, bot
from .models import Article, Conversation, Handover, Turn

BOT = Actor.system("bot")
# BM25 scores below this do not make an article an answer.
ARTICLE_MIN_SCORE = 2.0
MAX_MESSAGE_CHARS = 500

# Why a buyer was handed over; stored on the handover and shown to the agents.
VIP = "vip"
COMPLAINT = "complaint"
UPSET = "upset"
ASKED_FOR_PERSON = "asked_for_person"
NOT_CONFIDENT = "not_confident"


@dataclass(frozen=True)
class BotReply:
    text: str
    intents: list[str]
    confidence: float
    handed_over: bool
    reasons: list[str]
    conversation: Conversation
    article: answers.Snippet | None = None


# --- Facts ---------------------------------------------------------------------------------


def order_facts(order: Order) -> answers.OrderFacts:
    """The buyer's order and cases as the bot may speak of them, latest case first."""
    cases = list(Case.objects.filter(order=order).order_by("-applied_at", "-pk"))
    return answers.OrderFacts(
        order_status=order.status,
        vip=order.buyer.is_vip,
        cases=[case_facts(case) for case in cases],
    )


def case_facts(case: Case) -> answers.CaseFacts:
    decision = latest_decision(case)
    payload = decision.payload if decision else {}
    refund = getattr(case, "refund_decision", None)
    execution = getattr(refund, "execution", None) if refund is not None else None
    due = {
        clock.kind: clock.due_at
        for clock in SlaClock.objects.filter(case=case, state=ClockState.RUNNING)
    }
    shipments = {
        s.kind: s.tracking_number
        for s in Shipment.objects.filter(case=case).order_by("created_at", "pk")
    }
    outbound = next(
        (
            shipments[k]
            for k in (ShipmentKind.EXCHANGE, ShipmentKind.RESEND, ShipmentKind.REPAIR)
            if k in shipments
        ),
        "",
    )
    return answers.CaseFacts(
        type=case.type,
        type_label=str(case.get_type_display()),
        status=case.status,
        status_label=str(case.get_status_display()),
        refund_status=case.refund_status,
        refund_fen=refund.total_fen if refund is not None else None,
        refunded_at=execution.executed_at if execution is not None else None,
        return_status=case.return_status,
        return_payer=str(payload.get("return_shipping_payer") or ""),
        no_reason_last_day=str(payload.get("no_reason_last_day") or ""),
        no_reason_eligible=payload.get("no_reason_eligible"),
        evidence_request=case.evidence_request_note,
        due=due,
        return_tracking=shipments.get(ShipmentKind.RETURN, ""),
        outbound_tracking=outbound,
    )


# --- The knowledge base --------------------------------------------------------------------


def search_articles(*, shop_id: int, text: str, limit: int = 5) -> list[tuple[Article, float]]:
    """The shop's published articles best matching `text`, best first (BM25 over the question,
    the tags and the answer)."""
    ids, index = _article_index(shop_id, _articles_version(shop_id))
    words = bot.segment(text)
    if not ids or not words:
        return []
    scores = index.get_scores(words)
    # BM25+ scores every document above 0; one that has none of the words is no match.
    ranked = sorted(
        (
            (pk, float(s))
            for pk, s, freqs in zip(ids, scores, index.doc_freqs, strict=True)
            if s > 0 and any(w in freqs for w in words)
        ),
        key=lambda x: x[1],
        reverse=True,
    )[:limit]
    articles = Article.objects.in_bulk([pk for pk, _s in ranked])
    return [(articles[pk], score) for pk, score in ranked if pk in articles]


def _articles_version(shop_id: int) -> tuple[int, str]:
    """Changes whenever an article of the shop is added, edited or removed."""
    rows = Article.objects.filter(shop_id=shop_id, is_published=True)
    latest = rows.order_by("-updated_at").values_list("updated_at", flat=True).first()
    return rows.count(), latest.isoformat() if latest else ""


@lru_cache(maxsize=64)
def _article_index(shop_id: int, version: tuple[int, str]) -> tuple[list[int], BM25Plus]:
    rows = list(
        Article.objects.filter(shop_id=shop_id, is_published=True).values_list(
            "pk", "question", "tags", "answer"
        )
    )
    # The question and tags count three times: they say what the article is about.
    corpus = [bot.segment(f"{q} {t} " * 3 + a) or ["-"] for _pk, q, t, a in rows]
    return [row[0] for row in rows], BM25Plus(corpus or [["-"]])


# Who may do what with the shop's articles (R8.3): every role reads and searches them;
# agents, supervisors and shop admins write them; only the leads retire or restore one.
EDIT_ROLES = WRITE_ROLES
RETIRE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
MAX_QUESTION_CHARS = 200
MAX_TAGS_CHARS = 200
MAX_ANSWER_CHARS = 2000


@dataclass(frozen=True)
class ArticleDraft:
    """What a person typed for an article, before it is checked."""

    question: str
    answer: str
    tags: str = ""
    categories: tuple[str, ...] = ()
    product_ids: tuple[int, ...] = ()


def get_article_for_actor(actor: Actor, pk: int) -> Article:
    """One article of the actor's shops; another shop's is not found, like a missing one."""
    article = Article.objects.filter(pk=pk).first()
    if article is None or not (actor.is_unscoped or actor.role_in(article.shop_id)):
        raise NotFound(_("Article not found."))
    return article


def articles_for_actor(
    actor: Actor, *, shop_ids: list[int], text: str = "", retired: bool = False
) -> list[Article]:
    """The articles of the actor's shops, best match first when searching, else newest."""
    shop_ids = [s for s in shop_ids if actor.is_unscoped or actor.role_in(s)]
    text = text.strip()
    if text and not retired:
        found: list[tuple[Article, float]] = []
        for shop_id in shop_ids:
            found += search_articles(shop_id=shop_id, text=text, limit=50)
        return [a for a, _s in sorted(found, key=lambda x: x[1], reverse=True)]
    rows = Article.objects.filter(shop_id__in=shop_ids, is_published=not retired)
    if text:
        rows = rows.filter(question__icontains=text) | rows.filter(answer__icontains=text)
    return list(rows.order_by("-updated_at", "-pk")[:200])


def _check_role(actor: Actor, shop_id: int, roles: frozenset[str]) -> None:
    if not actor.is_unscoped and actor.role_in(shop_id) not in roles:
        if actor.role_in(shop_id) is None:
            raise NotFound(_("Article not found."))
        raise PermissionDenied(_("Your role may not change the shop's articles this way."))


def _clean(draft: ArticleDraft, shop_id: int) -> tuple[ArticleDraft, list[Product]]:
    question, answer, tags = draft.question.strip(), draft.answer.strip(), draft.tags.strip()
    if not question or not answer:
        raise InvalidInput(_("An article needs a question and an answer."))
    if len(question) > MAX_QUESTION_CHARS or len(tags) > MAX_TAGS_CHARS:
        raise InvalidInput(
            _("The question and the tags have at most %(max)s characters each."),
            max=MAX_QUESTION_CHARS,
        )
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidInput(_("An answer has at most %(max)s characters."), max=MAX_ANSWER_CHARS)
    products = list(Product.objects.filter(shop_id=shop_id, pk__in=draft.product_ids))
    if len(products) != len(set(draft.product_ids)):
        raise InvalidInput(_("Choose products of this shop."))
    clean = ArticleDraft(
        question=question,
        answer=answer,
        tags=tags,
        categories=tuple(sorted({c.strip() for c in draft.categories if c.strip()})),
        product_ids=tuple(p.pk for p in products),
    )
    return clean, products


def _snapshot(article: Article) -> dict[str, object]:
    return {
        "question": article.question,
        "answer": article.answer,
        "tags": article.tags,
        "categories": article.categories,
        "published": article.is_published,
    }


@transaction.atomic
def create_article(*, shop_id: int, draft: ArticleDraft, by: Actor) -> Article:
    """A new standard answer of the shop (R8.3); the bot uses it at once."""
    _check_role(by, shop_id, EDIT_ROLES)
    draft, products = _clean(draft, shop_id)
    article = Article.objects.create(
        shop_id=shop_id,
        question=draft.question,
        answer=draft.answer,
        tags=draft.tags,
        categories=",".join(draft.categories),
        updated_by=by.label,
    )
    article.products.set(products)
    record_event(
        shop_id=shop_id,
        type="knowledge_article_created",
        by=by,
        after=_snapshot(article),
        payload={"article": article.pk},
    )
    return article


@transaction.atomic
def update_article(*, article: Article, draft: ArticleDraft, by: Actor) -> Article:
    _check_role(by, article.shop_id, EDIT_ROLES)
    article = Article.objects.select_for_update().get(pk=article.pk)
    draft, products = _clean(draft, article.shop_id)
    before = _snapshot(article)
    article.question, article.answer, article.tags = draft.question, draft.answer, draft.tags
    article.categories = ",".join(draft.categories)
    article.updated_by = by.label
    article.save()
    article.products.set(products)
    record_event(
        shop_id=article.shop_id,
        type="knowledge_article_updated",
        by=by,
        before=before,
        after=_snapshot(article),
        payload={"article": article.pk},
    )
    return article


@transaction.atomic
def retire_article(*, article: Article, by: Actor, retired: bool = True) -> Article:
    """Take an article out of use (the bot and the search no longer find it), or back."""
    _check_role(by, article.shop_id, RETIRE_ROLES)
    article = Article.objects.select_for_update().get(pk=article.pk)
    if article.is_published != retired:
        raise InvalidInput(
            _("The article is already retired.") if retired else _("The article is in use.")
        )
    article.is_published = not retired
    article.updated_by = by.label
    article.save(update_fields=["is_published", "updated_by", "updated_at"])
    record_event(
        shop_id=article.shop_id,
        type="knowledge_article_retired" if retired else "knowledge_article_restored",
        by=by,
        payload={"article": article.pk},
    )
    return article


RESOLVED_STATUSES = frozenset({"completed", "closed", "rejected"})


def draft_from_case(case: Case) -> ArticleDraft:
    """What a resolved case suggests as a standard solution: the buyer's words as the question,
    the last message the shop sent as the answer, the products' categories."""
    last_message = (
        AuditEvent.objects.filter(case_id=case.pk, type=CaseEvent.BUYER_MESSAGE_SENT)
        .order_by("-pk")
        .values_list("payload", flat=True)
        .first()
    )
    answer = str((last_message or {}).get("text") or "")
    items = list(case.items.select_related("order_item__sku__product"))
    return ArticleDraft(
        question=(case.buyer_statement or str(case.get_reason_display())).strip()[
            :MAX_QUESTION_CHARS
        ],
        answer=answer[:MAX_ANSWER_CHARS],
        tags=str(case.get_reason_display()),
        categories=tuple(sorted({i.order_item.sku.product.category for i in items})),
        product_ids=tuple(sorted({i.order_item.sku.product_id for i in items})),
    )


@transaction.atomic
def article_from_case(
    *,
    case: Case,
    question: str,
    answer: str,
    tags: str,
    by: Actor,
    draft: ArticleDraft | None = None,
) -> Article:
    """An agent turns a resolved case into a standard solution (R8.3)."""
    case = Case.objects.get(pk=case.pk)
    if case.status not in RESOLVED_STATUSES:
        raise InvalidInput(_("Only a resolved case can become an article."))
    suggested = draft_from_case(case)
    draft = draft or ArticleDraft(
        question=question,
        answer=answer,
        tags=tags,
        categories=suggested.categories,
        product_ids=suggested.product_ids,
    )
    _check_role(by, case.shop_id, EDIT_ROLES)
    draft, products = _clean(draft, case.shop_id)
    article = Article.objects.create(
        shop_id=case.shop_id,
        question=draft.question,
        answer=draft.answer,
        tags=draft.tags,
        categories=",".join(draft.categories),
        source_case=case,
        updated_by=by.label,
    )
    article.products.set(products)
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type="knowledge_article_created",
        by=by,
        after=_snapshot(article),
        payload={"article": article.pk, "case": case.pk},
    )
    return article


# --- The hit rate --------------------------------------------------------------------------


@dataclass(frozen=True)
class HitRate:
    """Of the buyers' questions the bot answered, how many an article answered without a
    person (R8.3's measure of the knowledge base)."""

    questions: int
    from_articles: int
    handed_over: int

    @property
    def rate(self) -> float | None:
        return self.from_articles / self.questions if self.questions else None

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.1f}%"


def hit_rate(*, shop_ids: list[int], since: datetime | None = None) -> HitRate:
    """Counted from the bot's turns: each answers one buyer message."""
    turns = Turn.objects.filter(speaker=Turn.Speaker.BOT, conversation__shop_id__in=shop_ids)
    if since is not None:
        turns = turns.filter(at__gte=since)
    counts = turns.aggregate(
        questions=Count("pk"),
        from_articles=Count("pk", filter=Q(article__isnull=False, handed_over=False)),
        handed_over=Count("pk", filter=Q(handed_over=True)),
    )
    return HitRate(**counts)


# --- The bot -------------------------------------------------------------------------------


def reply_to(
    text: str, facts: answers.OrderFacts, *, shop_id: int
) -> tuple[bot.Understanding, list[str], str, answers.Snippet | None]:
    """Understand and answer without writing anything: what `answer_buyer` keeps, and what
    bench/bot.py measures."""
    understanding = bot.understand(text)
    snippet = None
    if any(
        i in {bot.RETURN_HOW, bot.APPLY_HOW, bot.EVIDENCE, bot.OTHER, bot.SHIPPING_PAYER}
        for i in understanding.intents
    ):
        hits = search_articles(shop_id=shop_id, text=text, limit=1)
        if hits and hits[0][1] >= ARTICLE_MIN_SCORE:
            article, _score = hits[0]
            snippet = answers.Snippet(article.pk, article.question, article.answer)
    reasons = handover_reasons(understanding, facts, answered_by_article=snippet is not None)
    parts = [answers.answer_for(i, facts, snippet) for i in understanding.intents]
    if bot.OTHER in understanding.intents and snippet is not None:
        parts = [snippet.answer]
    text_out = "\n".join(p for p in parts if p)
    if reasons:
        text_out = f"{text_out}\n{answers.handover_text()}" if text_out else answers.handover_text()
    return understanding, reasons, text_out, snippet


def handover_reasons(
    understanding: bot.Understanding, facts: answers.OrderFacts, *, answered_by_article: bool
) -> list[str]:
    reasons = []
    if facts.vip:
        reasons.append(VIP)
    if understanding.complaint:
        reasons.append(COMPLAINT)
    elif understanding.upset:
        reasons.append(UPSET)
    if understanding.wants_human:
        reasons.append(ASKED_FOR_PERSON)
    unsure = understanding.confidence < settings.AFTERSALES_BOT_MIN_CONFIDENCE
    if (bot.OTHER in understanding.intents and not answered_by_article) or unsure:
        reasons.append(NOT_CONFIDENT)
    return reasons


def answer_buyer(*, order: Order, text: str, channel: str, by: Actor) -> BotReply:
    """Answer one message of the buyer of `order`; keep both with the case; hand over."""
    text = text.strip()
    if not text:
        raise InvalidInput(_("Type a question."))
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(_("A message has at most %(max)s characters."), max=MAX_MESSAGE_CHARS)
    facts = order_facts(order)
    understanding, reasons, reply, snippet = reply_to(text, facts, shop_id=order.shop_id)
    case = Case.objects.filter(order=order).order_by("-applied_at", "-pk").first()
    now = timezone.now()
    with transaction.atomic():
        conversation = _conversation(order=order, case=case, channel=channel, now=now)
        Turn.objects.create(
            conversation=conversation,
            speaker=Turn.Speaker.BUYER,
            text=text,
            intents=understanding.intents,
            confidence=understanding.confidence,
            at=now,
        )
        Turn.objects.create(
            conversation=conversation,
            speaker=Turn.Speaker.BOT,
            text=reply,
            intents=understanding.intents,
            article_id=snippet.article_id if snippet else None,
            handed_over=bool(reasons),
            at=now,
        )
        if reasons:
            _hand_over(
                conversation=conversation, case=case, text=text, reasons=reasons, by=by, now=now
            )
    return BotReply(
        text=reply,
        intents=understanding.intents,
        confidence=understanding.confidence,
        handed_over=bool(reasons),
        reasons=reasons,
        conversation=conversation,
        article=snippet,
    )


def _conversation(*, order: Order, case: Case | None, channel: str, now: datetime) -> Conversation:
    """The order's open conversation on this channel (one a day), or a new one."""
    since = timezone.now() - timedelta(hours=24)
    existing = (
        Conversation.objects.select_for_update()
        .filter(order=order, channel=channel, case=case, started_at__gte=since)
        .order_by("-started_at")
        .first()
    )
    if existing is not None:
        return existing
    return Conversation.objects.create(
        shop_id=order.shop_id, order=order, case=case, channel=channel, started_at=now
    )


def _hand_over(
    *,
    conversation: Conversation,
    case: Case | None,
    text: str,
    reasons: list[str],
    by: Actor,
    now: datetime,
) -> Handover:
    """One open handover per conversation: a second upset message adds no second flag."""
    open_one = Handover.objects.filter(conversation=conversation, taken_at__isnull=True).first()
    if open_one is not None:
        return open_one
    handover = Handover.objects.create(
        shop_id=conversation.shop_id,
        order_id=conversation.order_id,
        case=case,
        conversation=conversation,
        reasons=reasons,
        message=text,
        created_at=now,
    )
    payload = {"handover": handover.pk, "reasons": reasons, "conversation": conversation.pk}
    if case is not None:
        record_case_event(case, by=by, event=CaseEvent.BUYER_HANDOVER_REQUESTED, payload=payload)
    else:
        record_event(
            shop_id=conversation.shop_id,
            type=CaseEvent.BUYER_HANDOVER_REQUESTED,
            by=by,
            payload={**payload, "order": conversation.order_id},
        )
    return handover


def open_handovers(shop_ids: list[int]) -> list[Handover]:
    return list(
        Handover.objects.filter(shop_id__in=shop_ids, taken_at__isnull=True)
        .select_related("order", "case")
        .order_by("created_at")
    )


@transaction.atomic
def take_handover(*, handover: Handover, by: Actor) -> Handover:
    """A person takes the conversation over; the flag leaves the list."""
    updated = Handover.objects.filter(pk=handover.pk, taken_at__isnull=True).update(
        taken_at=timezone.now(), taken_by=by.label
    )
    if not updated:
        raise InvalidInput(_("Someone has already taken this conversation."))
    handover.refresh_from_db()
    return handover


def take_handovers_on_answer(change: CaseChange) -> None:
    """A case reaction: when a person of the shop messages the buyer, the case's open
    handovers are taken by them and leave the queue's handover bucket."""
    if change.event != CaseEvent.BUYER_MESSAGE_SENT or change.by.user_id is None:
        return
    Handover.objects.filter(case_id=change.case.pk, taken_at__isnull=True).update(
        taken_at=timezone.now(), taken_by=change.by.label
    )


def open_handover_case_ids(shop_ids: list[int]) -> QuerySet[Handover, Any]:
    """The cases with a handover nobody has taken yet (for the queue's bucket)."""
    return Handover.objects.filter(
        shop_id__in=shop_ids, taken_at__isnull=True, case__isnull=False
    ).values("case_id")
