"""Understanding a buyer's message: jieba segmentation, BM25 over example questions, and the
words that send a buyer to a person (R10.1). Pure: no database, no model download.

A message is cut into clauses (a buyer often asks two things at once); each clause is ranked
against the example questions of every intent with BM25 (`rank_bm25.BM25Okapi`), and a clause
whose best intent is clearly ahead counts. Complaints, threats, anger and asking for a person
are read from word lists, not from ranking: missing one must not depend on a score.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache

import jieba
from rank_bm25 import BM25Okapi

jieba.setLogLevel(logging.WARNING)

# Intents the bot answers from the buyer's own case and the shop's articles.
REFUND_STATUS = "refund_status"
CASE_STATUS = "case_status"
RETURN_HOW = "return_how"
SHIPPING_PAYER = "shipping_payer"
REPLACEMENT_WHEN = "replacement_when"
DEADLINE = "deadline"
APPLY_HOW = "apply_how"
WITHDRAW = "withdraw"
EVIDENCE = "evidence"
GREETING = "greeting"
THANKS = "thanks"
# Intents that always go to a person.
HUMAN = "human"
COMPLAINT = "complaint"
OTHER = "other"

INTENTS = (
    REFUND_STATUS,
    CASE_STATUS,
    RETURN_HOW,
    SHIPPING_PAYER,
    REPLACEMENT_WHEN,
    DEADLINE,
    APPLY_HOW,
    WITHDRAW,
    EVIDENCE,
    GREETING,
    THANKS,
    HUMAN,
    COMPLAINT,
    OTHER,
)

# Example questions per intent (not the benchmark's messages: bench/bot_messages.jsonl).
EXAMPLES: dict[str, list[str]] = {
    REFUND_STATUS: [
        "退款处理好了吗",
        "退了没",
        "退款咋样了",
        "钱到现在都没退",
        "退款原路返回吗",
        "我的退款到哪了",
        "退款什么时候到账",
        "钱什么时候退给我",
        "退款进度怎么样",
        "钱还没到账",
        "退款退到哪里了",
        "多久能收到退款",
        "退的钱呢",
        "款退了吗",
        "退款成功了没有",
        "怎么还没收到钱",
        "退款失败了怎么办",
        "什么时候给我退钱",
        "退款 到账 时间",
        "原路退回 多久",
    ],
    CASE_STATUS: [
        "审核要多久",
        "审核到哪了",
        "申请了没人理",
        "我的售后申请怎么样了",
        "审核通过了吗",
        "售后处理到哪一步了",
        "申请有人处理吗",
        "商家审核了没",
        "售后单状态",
        "我的申请被拒绝了为什么",
        "处理结果是什么",
        "售后进度",
        "现在是什么状态",
    ],
    RETURN_HOW: [
        "东西怎么退回",
        "退货怎么弄",
        "退货咋寄",
        "怎么退货",
        "退货寄到哪里",
        "退货地址是多少",
        "怎么寄回去",
        "退货流程是什么",
        "快递单号填在哪里",
        "我已经寄回了单号怎么填",
        "寄回用什么快递",
        "上门取件吗",
        "退回去要怎么包装",
        "退货 寄回 地址",
    ],
    SHIPPING_PAYER: [
        "快递费报销吗",
        "退货运费能退吗",
        "买了运费险退货还要钱吗",
        "运费谁出",
        "退货运费谁承担",
        "寄回的运费要我出吗",
        "运费险能用吗",
        "运费能报销吗",
        "邮费谁付",
        "退运费吗",
        "来回运费谁出",
        "运费 承担",
        "要我自己付快递费吗",
    ],
    REPLACEMENT_WHEN: [
        "换货发出没有",
        "修好的寄出来没",
        "补发的快递单号",
        "换货还没发",
        "换货什么时候发",
        "新的什么时候寄给我",
        "补发什么时候发货",
        "换的货发了吗",
        "维修好了吗什么时候寄回",
        "补寄的单号是多少",
        "换货 发货 时间",
        "少的那件什么时候补",
        "重新发货了吗",
        "换新的多久到",
    ],
    DEADLINE: [
        "签收十天了还能退吗",
        "最迟哪天寄出",
        "七天无理由从哪天算",
        "我还有几天可以退",
        "退货期限是多久",
        "几天内要寄回",
        "过了七天还能退吗",
        "什么时候截止",
        "最晚什么时候寄",
        "无理由退货有几天",
        "多久之内申请",
        "超时了怎么办",
        "期限 几天",
    ],
    APPLY_HOW: [
        "想换小一码",
        "杯子碎了怎么办",
        "发错货了怎么处理",
        "申请仅退款",
        "买错了能退吗",
        "我想退货",
        "怎么申请退款",
        "我要换货",
        "能退吗",
        "怎么申请售后",
        "东西坏了想退",
        "我想换个尺码",
        "少发了一件怎么办",
        "不想要了可以退吗",
        "收到的东西有问题",
        "申请 退款 退货",
        "坏了能修吗",
    ],
    WITHDRAW: [
        "取消退货",
        "我不退了",
        "撤销申请",
        "取消售后",
        "不想退了怎么取消",
        "撤回退款申请",
        "申请错了要撤销",
    ],
    EVIDENCE: [
        "要上传什么照片",
        "凭证怎么补充",
        "让我补充证据在哪里传",
        "视频怎么上传",
        "要拍什么图",
        "图片 凭证 上传",
    ],
    GREETING: ["你好", "在吗", "有人吗", "您好", "哈喽", "hello"],
    THANKS: ["谢谢", "好的", "明白了", "知道了", "多谢", "辛苦了", "ok"],
}

# Words that send a buyer to a person whatever else they asked (R10.1).
COMPLAINT_WORDS = (
    "投诉",
    "12315",
    "差评",
    "骗子",
    "骗人",
    "诈骗",
    "举报",
    "曝光",
    "律师",
    "起诉",
    "告你",
    "消协",
    "消费者协会",
    "工商",
    "315",
    "维权",
    "黑店",
    "报警",
    "法院",
)
HUMAN_WORDS = (
    "人工",
    "真人",
    "客服",
    "转人",
    "找人",
    "活人",
    "机器人",
    "店长",
    "主管",
    "经理",
    "打电话",
    "电话联系",
)
UPSET_WORDS = (
    "垃圾",
    "气死",
    "太慢",
    "破店",
    "坑人",
    "坑爹",
    "无语",
    "恶心",
    "忽悠",
    "骗",
    "没人管",
    "没人理",
    "不回",
    "一直没",
    "好几天",
    "都几天",
    "一个星期",
    "一周了",
    "半个月",
    "什么破",
    "太差",
    "搞什么",
    "耍我",
    "不讲理",
    "失望",
    "离谱",
    "过分",
    "欺负",
    "别敷衍",
    "敷衍",
    "凭什么",
    "tm",
    "TM",
    "妈的",
    "靠",
)
# A buyer shouting: several exclamation or question marks in a row.
SHOUTING = re.compile(r"[!！]{2,}|[?？]{3,}")
CLAUSE_BREAK = re.compile(r"[，,。.！!？?；;\s~～]+|还有|另外|顺便|再问|以及|然后")

DOMAIN_WORDS = (
    "退款",
    "退货",
    "换货",
    "补发",
    "运费",
    "运费险",
    "七天无理由",
    "无理由",
    "到账",
    "快递单号",
    "单号",
    "寄回",
    "售后",
    "审核",
    "凭证",
    "撤销",
    "上门取件",
    "原路退回",
    "维修",
    "邮费",
)
FILLERS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "哦",
        "噢",
        "嘛",
        "哈",
        "么",
        "啦",
        "喔",
        "哇",
        "额",
        "呃",
        "嗯",
        "诶",
        "哎",
        "我",
        "你",
        "你们",
        "亲",
        "请问",
        "一下",
        "问下",
        "下",
        "那",
        "这",
        "个",
        "是",
    ]
)

# A clause about after-sales names one of these; one that names none is small talk or off topic.
AFTERSALES_HINT = re.compile(
    r"退|款|钱|货|运费|邮费|快递|单号|寄|换|补|修|售后|申请|审核|期限|几天|七天|天内|截止|最晚|最迟|"
    r"照片|凭证|视频|图|撤|取消|到账|到帐|进度|状态|结果|处理|坏|碎|错|少|问题|尺码|大了|小了|kuan|huo"
)
SMALL_TALK = frozenset({"greeting", "thanks"})

# Below this share of its clause's total score, an intent's lead is not enough.
_MIN_CLAUSE_SCORE = 2.5


@dataclass(frozen=True)
class Understanding:
    intents: list[str]
    confidence: float  # 0–1: how clearly the best clause's intent led
    complaint: bool = False
    wants_human: bool = False
    upset: bool = False
    scores: dict[str, float] = field(default_factory=dict)


def segment(text: str) -> list[str]:
    """Words of `text` without the particles and pronouns that carry no question."""
    _ready()
    return [w for w in jieba.lcut(text.lower()) if w.strip() and w not in FILLERS]


@cache
def _ready() -> bool:
    for word in DOMAIN_WORDS:
        jieba.add_word(word, freq=200000)
    jieba.initialize()
    return True


@cache
def _index() -> tuple[BM25Okapi, tuple[str, ...]]:
    labels: list[str] = []
    corpus: list[list[str]] = []
    for intent, examples in EXAMPLES.items():
        for example in examples:
            labels.append(intent)
            corpus.append(segment(example) or [example])
    return BM25Okapi(corpus), tuple(labels)


def _clause_scores(clause: str) -> dict[str, float]:
    words = segment(clause)
    if not words:
        return {}
    index, labels = _index()
    best: dict[str, float] = {}
    for label, score in zip(labels, index.get_scores(words), strict=True):
        if score > best.get(label, 0.0):
            best[label] = float(score)
    return best


def _has_any(text: str, words: tuple[str, ...]) -> bool:
    return any(word in text for word in words)


def understand(text: str) -> Understanding:
    """The intents of a message (in the order asked), how sure, and what needs a person."""
    text = text.strip()
    lowered = text.lower()
    complaint = _has_any(lowered, COMPLAINT_WORDS)
    wants_human = _has_any(lowered, HUMAN_WORDS)
    upset = complaint or _has_any(lowered, UPSET_WORDS) or bool(SHOUTING.search(text))
    intents: list[str] = []
    confidences: list[float] = []
    totals: dict[str, float] = {}
    for clause in (c for c in CLAUSE_BREAK.split(text) if c.strip()):
        # A clause that complains or asks for a person is that and nothing else.
        if _has_any(clause.lower(), COMPLAINT_WORDS + HUMAN_WORDS):
            continue
        scores = _clause_scores(clause)
        if not scores:
            continue
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        top, top_score = ranked[0]
        if top not in SMALL_TALK and not AFTERSALES_HINT.search(clause.lower()):
            continue
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if top_score < _MIN_CLAUSE_SCORE:
            continue
        for label, score in scores.items():
            totals[label] = max(totals.get(label, 0.0), score)
        if top not in intents:
            intents.append(top)
        confidences.append((top_score - runner_up) / top_score if top_score else 0.0)
    # Small talk beside a real question is not a question of its own.
    if any(i not in {GREETING, THANKS} for i in intents):
        intents = [i for i in intents if i not in {GREETING, THANKS}]
    if complaint:
        intents = [COMPLAINT, *[i for i in intents if i != COMPLAINT]]
    elif wants_human:
        intents = [HUMAN, *[i for i in intents if i != HUMAN]]
    if not intents:
        return Understanding(
            intents=[OTHER],
            confidence=0.0,
            complaint=complaint,
            wants_human=wants_human,
            upset=upset,
            scores=totals,
        )
    confidence = min(1.0, max(confidences, default=1.0) + 0.3) if confidences else 1.0
    return Understanding(
        intents=intents,
        confidence=round(confidence, 3),
        complaint=complaint,
        wants_human=wants_human,
        upset=upset,
        scores=totals,
    )
