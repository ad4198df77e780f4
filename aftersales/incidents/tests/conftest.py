import pytest

from aftersales.team.models import ReplyTemplate


@pytest.fixture(autouse=True)
def delay_notice_template(db):
    """The default template these tests send. A migration seeds it, but a transactional test
    that ran before empties every table, so make sure it is there."""
    ReplyTemplate.objects.get_or_create(
        shop=None,
        code="delay_notice",
        defaults={
            "name": "处理稍有延迟",
            "text": "亲，非常抱歉，近期售后申请较多，您的售后单 {case_id} 处理会稍有延迟，"
            "我们会在承诺时限内给您答复，感谢您的耐心。",
        },
    )
