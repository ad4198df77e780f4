"""The knowledge base in the workbench (R8.3), mounted at /knowledge/.

| page                                   | agent | supervisor | shop admin | auditor |
|----------------------------------------|-------|------------|------------|---------|
| GET /knowledge/ (list, search, hit rate)| yes   | yes        | yes        | yes     |
| /knowledge/new/, /knowledge/<pk>/ edit | yes   | yes        | yes        | 403     |
| POST /knowledge/<pk>/retire/, restore/ | 403   | yes        | yes        | 403     |
| GET /knowledge/cases/<pk>/search/      | yes   | yes        | yes        | yes     |

Another shop's article or case is a 404, like a missing one; anonymous users are sent to the
login page. Views check form shapes and call `services`; a refusal changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.cases.fetch import get_case_for_actor
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, NotFound, PermissionDenied
from aftersales.shops.models import Shop
from aftersales.shops.services import actor_for_user

from . import services
from .forms import ArticleForm, SearchForm
from .models import Article

View = Callable[..., HttpResponse]
HIT_RATE_DAYS = 30


def staff_only(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        actor = actor_for_user(request.user)
        try:
            return view(request, actor, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.render("en")) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.render("en")) from exc

    return wrapper


def _language() -> str:
    return translation.get_language() or "zh-hans"


def _shops(actor: Actor) -> list[tuple[int, str]]:
    return list(
        Shop.objects.filter(pk__in=list(actor.shop_roles))
        .order_by("name")
        .values_list("pk", "name")
    )


def _shop_of(request: HttpRequest, actor: Actor) -> int:
    """The shop the page is about: `shop` from the query or form, else the first."""
    shops = [pk for pk, _name in _shops(actor)]
    if not shops:
        raise NotFound()
    raw = request.POST.get("shop") or request.GET.get("shop")
    if not raw:
        return shops[0]
    try:
        shop_id = int(raw)
    except ValueError:
        raise NotFound() from None
    if shop_id not in shops:
        raise NotFound()
    return shop_id


def _require(actor: Actor, shop_id: int, roles: frozenset[str]) -> None:
    if actor.role_in(shop_id) not in roles:
        raise PermissionDenied()


@require_GET
@staff_only
def article_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    shops = _shops(actor)
    shop_id = _shop_of(request, actor)
    form = SearchForm(request.GET or None, shops=shops, initial={"shop": shop_id})
    form.is_valid()
    data = form.cleaned_data if form.is_bound else {}
    text, retired = data.get("q") or "", bool(data.get("retired"))
    articles = services.articles_for_actor(actor, shop_ids=[shop_id], text=text, retired=retired)
    role = actor.role_in(shop_id)
    return render(
        request,
        "knowledge/list.html",
        {
            "nav": "knowledge",
            "form": form,
            "shop_id": shop_id,
            "show_shop": len(shops) > 1,
            "articles": articles,
            "searching": bool(text.strip()),
            "retired": retired,
            "can_edit": role in services.EDIT_ROLES,
            "can_retire": role in services.RETIRE_ROLES,
            "hit_rate": services.hit_rate(
                shop_ids=[shop_id], since=timezone.now() - timedelta(days=HIT_RATE_DAYS)
            ),
            "hit_rate_all": services.hit_rate(shop_ids=[shop_id]),
            "hit_rate_days": HIT_RATE_DAYS,
        },
    )


def _initial(article: Article) -> dict[str, Any]:
    return {
        "question": article.question,
        "answer": article.answer,
        "tags": article.tags,
        "categories": article.category_list,
        "products": list(article.products.values_list("pk", flat=True)),
    }


@require_http_methods(["GET", "POST"])
@staff_only
def article_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    """A new article; with `case`, the standard solution drawn from that resolved case."""
    case = None
    case_pk = request.POST.get("case") or request.GET.get("case")
    if case_pk:
        if not case_pk.isdigit():
            raise NotFound()
        case = get_case_for_actor(actor, int(case_pk), write=True)
        shop_id = case.shop_id
    else:
        shop_id = _shop_of(request, actor)
    _require(actor, shop_id, services.EDIT_ROLES)
    initial: dict[str, Any] = {}
    if case is not None:
        draft = services.draft_from_case(case)
        initial = {
            "question": draft.question,
            "answer": draft.answer,
            "tags": draft.tags,
            "categories": list(draft.categories),
            "products": list(draft.product_ids),
        }
    form = ArticleForm(request.POST or None, shop_id=shop_id, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if case is not None:
                article = services.article_from_case(
                    case=case, question="", answer="", tags="", by=actor, draft=form.draft()
                )
            else:
                article = services.create_article(shop_id=shop_id, draft=form.draft(), by=actor)
        except DomainError as exc:
            messages.error(request, exc.render(_language()))
        else:
            messages.success(request, translation.gettext("The article is in the knowledge base."))
            if case is not None:
                return redirect("workbench:case", case.pk)
            return redirect(f"{reverse('knowledge:list')}?shop={article.shop_id}")
    return render(
        request,
        "knowledge/edit.html",
        {
            "nav": "knowledge",
            "form": form,
            "shop_id": shop_id,
            "case": case,
            "article": None,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_only
def article_edit(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    article = services.get_article_for_actor(actor, pk)
    _require(actor, article.shop_id, services.EDIT_ROLES)
    form = ArticleForm(request.POST or None, shop_id=article.shop_id, initial=_initial(article))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_article(article=article, draft=form.draft(), by=actor)
        except DomainError as exc:
            messages.error(request, exc.render(_language()))
        else:
            messages.success(request, translation.gettext("The article is saved."))
            return redirect(f"{reverse('knowledge:list')}?shop={article.shop_id}")
    return render(
        request,
        "knowledge/edit.html",
        {
            "nav": "knowledge",
            "form": form,
            "shop_id": article.shop_id,
            "article": article,
            "case": article.source_case,
            "can_retire": actor.role_in(article.shop_id) in services.RETIRE_ROLES,
        },
        status=400 if form.errors else 200,
    )


def _retire(request: HttpRequest, actor: Actor, pk: int, *, retired: bool) -> HttpResponse:
    article = services.get_article_for_actor(actor, pk)
    try:
        services.retire_article(article=article, by=actor, retired=retired)
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        messages.error(request, exc.render(_language()))
    else:
        messages.success(
            request,
            translation.gettext("The article is retired: the bot no longer uses it.")
            if retired
            else translation.gettext("The article is back in use."),
        )
    query = "&retired=on" if not retired else ""
    return redirect(f"{reverse('knowledge:list')}?shop={article.shop_id}{query}")


@require_POST
@staff_only
def article_retire(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    return _retire(request, actor, pk, retired=True)


@require_POST
@staff_only
def article_restore(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    return _retire(request, actor, pk, retired=False)


@require_GET
@staff_only
def case_search(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """The case page's panel: the case shop's articles matching what the agent typed (or, at
    first, what the buyer said), each with its answer to insert into the message form."""
    case = get_case_for_actor(actor, pk)
    text = (request.GET.get("q") or "").strip()[:100]
    query = text or case.buyer_statement or str(case.get_reason_display())
    hits = services.search_articles(shop_id=case.shop_id, text=query, limit=5)
    return render(
        request,
        "knowledge/_case_results.html",
        {"case": case, "hits": [a for a, _s in hits], "q": text, "typed": bool(text)},
    )
