"""The evidence package for the platform's intervention (R5.2): a PDF in Chinese, readable on
paper, and a zip of the original files with a SHA-256 manifest.

The PDF uses reportlab's built-in CID font `STSong-Light` (Adobe's Chinese font the PDF reader
provides), so no font file is needed on the server. Personal data stays masked (R6.5).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from django.core.files.base import ContentFile
from django.utils import timezone, translation
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import EvidenceKind
from aftersales.cases.events import CaseEvent
from aftersales.core.money import fen_to_yuan
from aftersales.core.privacy import mask_address, mask_name, mask_phone
from aftersales.workdays.calendar import SHANGHAI

from .models import Offer

if TYPE_CHECKING:
    from aftersales.cases.models import Case

    from .models import Intervention

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15, wordWrap="CJK")
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8.5, leading=12)
H1 = ParagraphStyle("h1", parent=BODY, fontSize=17, leading=24, spaceAfter=6)
H2 = ParagraphStyle(
    "h2",
    parent=BODY,
    fontSize=12.5,
    leading=18,
    spaceBefore=10,
    spaceAfter=4,
    textColor=colors.HexColor("#1f3a5f"),
)

# The conversation with the buyer: what the shop said and the negotiation.
CONVERSATION_EVENTS = frozenset(
    {CaseEvent.BUYER_MESSAGE_SENT, CaseEvent.OFFER_MADE, CaseEvent.OFFER_ANSWERED}
)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
EVENT_WORDS = dict(CaseEvent.choices)


@dataclass
class RenderedPackage:
    pdf: bytes
    archive: bytes
    manifest: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()

    @property
    def archive_sha256(self) -> str:
        return hashlib.sha256(self.archive).hexdigest()

    def pdf_file(self) -> ContentFile[bytes]:
        return ContentFile(self.pdf)

    def archive_file(self) -> ContentFile[bytes]:
        return ContentFile(self.archive)


def _p(text: Any, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _local(value: Any) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else "—"


def _table(rows: list[list[Any]], widths: list[float]) -> Table:
    cells = [[c if isinstance(c, Paragraph) else _p(c, SMALL) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _files(case: Case) -> list[dict[str, Any]]:
    """Every original file of the case: the buyer's and the shop's photos and videos, the
    inspection photos."""
    files = []
    for e in case.evidence.order_by("pk"):
        with e.file.open("rb") as handle:
            data = handle.read()
        extension = e.file.name.rsplit(".", 1)[-1] if "." in e.file.name else "bin"
        files.append(
            {
                "evidence_id": e.pk,
                "name": f"{e.source}/{e.pk}.{extension}",
                "source": e.source,
                "source_label": str(e.get_source_display()),
                "kind": e.kind,
                "image": e.kind == EvidenceKind.IMAGE and e.content_type in IMAGE_TYPES,
                "content_type": e.content_type,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "stored_sha256": e.sha256,
                "inspection": e.inspection_id,
                "note": e.note,
                "uploaded_at": e.uploaded_at.isoformat(),
                "_data": data,
            }
        )
    return files


def render_package(
    case: Case, *, ticket: Intervention | None, built_by: str, number: int
) -> RenderedPackage:
    with translation.override("zh-hans"):
        files = _files(case)
        pdf = _pdf(case, ticket, files, built_by=built_by, number=number)
        manifest = [{k: v for k, v in f.items() if k != "_data"} for f in files]
        archive = _zip(case, files, manifest, pdf)
    return RenderedPackage(pdf=pdf, archive=archive, manifest=manifest)


def _zip(
    case: Case, files: list[dict[str, Any]], manifest: list[dict[str, Any]], pdf: bytes
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            archive.writestr(f["name"], f["_data"])
        archive.writestr(f"case-{case.pk}.pdf", pdf)
        lines = [f"{f['sha256']}  {f['name']}" for f in manifest]
        lines.append(f"{hashlib.sha256(pdf).hexdigest()}  case-{case.pk}.pdf")
        archive.writestr("SHA256SUMS", "\n".join(lines) + "\n")
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return buffer.getvalue()


def _pdf(
    case: Case,
    ticket: Intervention | None,
    files: list[dict[str, Any]],
    *,
    built_by: str,
    number: int,
) -> bytes:
    from aftersales.policy.services import latest_decision

    order = case.order
    story: list[Any] = [
        _p(f"售后争议证据包（第 {number} 份）", H1),
        _p(
            f"售后单 #{case.pk}　平台售后单号 {case.platform_case_id or '—'}　"
            f"订单号 {order.platform_order_id}　"
            f"生成时间 {_local(timezone.now())}　生成人 {built_by}",
            SMALL,
        ),
    ]
    if ticket is not None:
        story.append(
            _p(
                f"平台介入工单 {ticket.platform_ref or ticket.pk}：{ticket.get_status_display()}，"
                f"举证截止 {_local(ticket.evidence_due_at)}",
                SMALL,
            )
        )

    story.append(_p("一、订单信息", H2))
    rows: list[list[Any]] = [["商品", "规格", "数量", "实付（元）"]]
    for item in order.items.select_related("sku__product").order_by("pk"):
        rows.append(
            [item.sku.product.name, item.sku.spec, item.quantity, fen_to_yuan(item.paid_amount_fen)]
        )
    story.append(_table(rows, [70 * mm, 45 * mm, 20 * mm, 30 * mm]))
    story.append(
        _p(
            f"下单 {_local(order.paid_at)}　发货 {_local(order.shipped_at)}　"
            f"签收 {_local(order.delivered_at)}　"
            f"运费 {fen_to_yuan(order.shipping_fee_paid_fen)} 元　"
            f"收货人 {mask_name(order.receiver_name)} "
            f"{mask_phone(order.receiver_phone)} {mask_address(order.receiver_address)}",
            SMALL,
        )
    )

    story.append(_p("二、售后申请", H2))
    story.append(
        _p(
            f"类型：{case.get_type_display()}　原因：{case.reason_info.label}　"
            f"申请金额：{fen_to_yuan(case.requested_amount_fen)} 元　"
            f"申请时间：{_local(case.applied_at)}\n"
            f"买家描述：{case.buyer_statement or '—'}"
        )
    )
    if case.reject_reason:
        story.append(_p(f"商家拒绝理由：{case.get_reject_reason_display()}。{case.reject_note}"))

    events = list(AuditEvent.objects.filter(case=case).order_by("seq"))
    story.append(_p("三、沟通与协商记录", H2))
    said = [e for e in events if e.type in CONVERSATION_EVENTS]
    if said:
        rows = [["时间", "经办", "内容"]]
        for e in said:
            rows.append([_local(e.created_at), e.actor_label, _conversation_text(e)])
        story.append(_table(rows, [32 * mm, 35 * mm, 100 * mm]))
    else:
        story.append(_p("无。"))
    offers = list(Offer.objects.filter(case=case).order_by("number"))
    if offers:
        rows = [["#", "提出方", "方案", "金额（元）", "结果"]]
        for offer in offers:
            rows.append(
                [
                    offer.number,
                    offer.get_side_display(),
                    offer.get_kind_display(),
                    fen_to_yuan(offer.amount_fen),
                    f"{offer.get_status_display()} {offer.answer_note}".strip(),
                ]
            )
        story.append(Spacer(1, 4))
        story.append(_table(rows, [10 * mm, 22 * mm, 40 * mm, 25 * mm, 70 * mm]))

    story.append(_p("四、照片与视频", H2))
    if files:
        rows = [["文件", "来源", "类型", "说明", "SHA-256"]]
        for f in files:
            rows.append(
                [
                    f["name"],
                    f["source_label"],
                    "照片" if f["kind"] == EvidenceKind.IMAGE else "视频",
                    f["note"] or "—",
                    f["sha256"],
                ]
            )
        story.append(_table(rows, [30 * mm, 20 * mm, 14 * mm, 35 * mm, 68 * mm]))
        for f in files:
            if f["image"]:
                story.append(KeepTogether([Spacer(1, 4), _image(f), _p(f["name"], SMALL)]))
    else:
        story.append(_p("无。"))

    story.append(_p("五、验货结果", H2))
    inspections = list(case.inspections.order_by("pk"))
    if inspections:
        rows = [["时间", "结果", "状况", "包装完好", "备注"]]
        for i in inspections:
            intact = "—" if i.package_intact is None else ("是" if i.package_intact else "否")
            rows.append(
                [
                    _local(i.inspected_at),
                    i.get_result_display(),
                    i.get_condition_display(),
                    intact,
                    i.notes,
                ]
            )
        story.append(_table(rows, [32 * mm, 20 * mm, 30 * mm, 20 * mm, 65 * mm]))
    else:
        story.append(_p("无验货记录。"))

    story.append(_p("六、物流跟踪", H2))
    shipments = list(order.shipments.prefetch_related("history").order_by("pk"))
    if shipments:
        rows = [["包裹", "承运商 / 单号", "轨迹"]]
        for s in shipments:
            history = "\n".join(
                f"{_local(h.at)} {h.get_status_display()} {h.note}".strip()
                for h in s.history.order_by("at", "pk")
            )
            rows.append(
                [
                    s.get_kind_display(),
                    f"{s.carrier} {s.tracking_number}",
                    history or s.get_status_display(),
                ]
            )
        story.append(_table(rows, [25 * mm, 45 * mm, 97 * mm]))
    else:
        story.append(_p("无物流记录。"))

    story.append(_p("七、处理时间线", H2))
    rows = [["时间", "事件", "经办"]]
    for e in events:
        rows.append([_local(e.created_at), str(EVENT_WORDS.get(e.type, e.type)), e.actor_label])
    story.append(_table(rows, [32 * mm, 95 * mm, 40 * mm]))

    story.append(_p("八、政策判定及理由", H2))
    decision = latest_decision(case)
    if decision is not None:
        story.append(
            _p(
                f"政策版本 {decision.policy_version}，判定时间 {_local(decision.decided_at)}，"
                f"建议：{decision.recommendation}"
            )
        )
        for hit in decision.payload.get("trace", []):
            story.append(_p(f"• {hit.get('zh', '')}（{hit.get('requirement', '')}）", SMALL))
    else:
        story.append(_p("无。"))

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"售后争议证据包 #{case.pk}",
        author=built_by,
    )
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {doc.page} 页")
    canvas.restoreState()


def _image(f: dict[str, Any]) -> Image:
    image = Image(io.BytesIO(f["_data"]))
    ratio = image.imageHeight / image.imageWidth if image.imageWidth else 1
    width = min(80 * mm, image.imageWidth)
    image.drawWidth, image.drawHeight = width, width * ratio
    image.hAlign = "LEFT"
    return image


def _conversation_text(event: AuditEvent) -> str:
    payload = event.payload or {}
    if event.type == CaseEvent.BUYER_MESSAGE_SENT:
        return str(payload.get("text", ""))
    if event.type == CaseEvent.OFFER_MADE:
        side = "买家还价" if payload.get("side") == "buyer" else "商家方案"
        text = payload.get("text") or payload.get("note") or ""
        return f"{side} #{payload.get('number')}：{text}".strip()
    answer = "同意" if payload.get("accepted") else "不同意"
    return f"对方案 #{payload.get('number')} 的答复：{answer} {payload.get('answer', '')}".strip()
