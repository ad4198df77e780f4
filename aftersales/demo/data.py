"""The content of the demo: two shops' catalogs, names, addresses and what buyers write.

Pure data, no logic; `aftersales.demo.seed` turns it into rows. Prices are yuan strings
(converted to fen with `yuan_to_fen`, never through floats).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aftersales.catalog.choices import Category as C

# An axis of a SKU: its name and its values; a value may carry a price step in yuan.
Axis = tuple[str, tuple[str | tuple[str, str], ...]]

COLORS_BASIC = ("黑色", "白色", "灰色", "杏色")
SIZES_TOP = ("S", "M", "L", "XL", "XXL")
SIZES_WAIST = ("26", "27", "28", "29", "30", "31")
SIZES_SHOE = ("36", "37", "38", "39", "40", "41", "42", "43")


@dataclass(frozen=True)
class ProductSpec:
    name: str
    category: str
    price_yuan: str
    axes: tuple[Axis, ...] = ()
    shelf_life_days: int | None = None
    is_high_risk: bool = False
    popularity: float = 1.0


@dataclass(frozen=True)
class ShopSpec:
    key: str
    platform_shop_id: str
    name: str
    products: tuple[ProductSpec, ...]
    # Orders paying at least this get free shipping (包邮); below it, the base fee.
    free_shipping_from_yuan: str
    shipping_fee_yuan: str
    insurance_rate: float  # share of orders with 运费险
    unshipped_refund_rate: float  # 未发货仅退款: cancelled before shipping
    category_mix: dict[str, float] = field(default_factory=dict)


FASHION = ShopSpec(
    key="fashion",
    platform_shop_id="7310000001",
    name="潮流服饰旗舰店",
    free_shipping_from_yuan="99",
    shipping_fee_yuan="8",
    insurance_rate=0.45,
    unshipped_refund_rate=0.035,
    category_mix={C.APPAREL: 0.74, C.BEAUTY: 0.18, C.CUSTOM: 0.03, C.GENERAL: 0.04, C.BOOKS: 0.01},
    products=(
        ProductSpec(
            "重磅纯棉短袖T恤 男女同款",
            C.APPAREL,
            "79",
            (("颜色", COLORS_BASIC), ("尺码", SIZES_TOP)),
            popularity=3.0,
        ),
        ProductSpec(
            "美式复古oversize连帽卫衣",
            C.APPAREL,
            "159",
            (("颜色", ("燕麦色", "雾霾蓝", "黑色")), ("尺码", SIZES_TOP)),
            popularity=2.0,
        ),
        ProductSpec(
            "冰丝垂感阔腿裤 女 夏季薄款",
            C.APPAREL,
            "99",
            (("颜色", ("黑色", "米白", "咖色")), ("尺码", SIZES_TOP[:4])),
            popularity=2.2,
        ),
        ProductSpec(
            "高腰直筒牛仔裤 显瘦微喇",
            C.APPAREL,
            "169",
            (("颜色", ("浅蓝", "深蓝")), ("尺码", SIZES_WAIST)),
            popularity=1.8,
        ),
        ProductSpec(
            "法式碎花收腰连衣裙",
            C.APPAREL,
            "219",
            (("颜色", ("蓝色碎花", "黄色碎花")), ("尺码", SIZES_TOP[:4])),
            popularity=1.6,
        ),
        ProductSpec(
            "轻薄90白鸭绒羽绒服 短款",
            C.APPAREL,
            "459",
            (("颜色", ("黑色", "奶白", "卡其")), ("尺码", SIZES_TOP)),
            popularity=1.2,
        ),
        ProductSpec(
            "UPF50+ 冰丝防晒开衫",
            C.APPAREL,
            "89",
            (("颜色", ("白色", "浅紫", "薄荷绿")), ("尺码", ("M", "L", "XL"))),
            popularity=1.5,
        ),
        ProductSpec(
            "工装多口袋休闲裤 男",
            C.APPAREL,
            "139",
            (("颜色", ("军绿", "黑色", "卡其")), ("尺码", SIZES_TOP)),
        ),
        ProductSpec(
            "慵懒风V领针织开衫",
            C.APPAREL,
            "129",
            (("颜色", ("燕麦色", "酒红", "黑色")), ("尺码", ("均码",))),
            popularity=1.3,
        ),
        ProductSpec(
            "商务免烫长袖衬衫 男",
            C.APPAREL,
            "149",
            (("颜色", ("白色", "浅蓝", "粉色")), ("尺码", ("39", "40", "41", "42", "43"))),
        ),
        ProductSpec(
            "运动速干T恤短裤套装",
            C.APPAREL,
            "189",
            (("颜色", ("黑色", "深灰", "藏青")), ("尺码", SIZES_TOP)),
        ),
        ProductSpec(
            "加绒加厚保暖打底裤",
            C.APPAREL,
            "69",
            (("颜色", ("黑色", "肤色")), ("尺码", ("M", "L", "XL"))),
            popularity=1.6,
        ),
        ProductSpec(
            "双面羊毛呢大衣 中长款",
            C.APPAREL,
            "699",
            (("颜色", ("驼色", "黑色", "燕麦色")), ("尺码", SIZES_TOP[:4])),
            popularity=0.6,
        ),
        ProductSpec(
            "纯色基础款背心 2件装",
            C.APPAREL,
            "49",
            (("颜色", ("黑白各一", "双白")), ("尺码", SIZES_TOP[:4])),
            popularity=1.4,
        ),
        ProductSpec(
            "高腰A字百褶半身裙",
            C.APPAREL,
            "119",
            (("颜色", ("黑色", "灰色", "藏青")), ("尺码", SIZES_TOP[:4])),
            popularity=4.0,  # the live room's best seller (the size-chart story, seed.py)
        ),
        ProductSpec(
            "三合一冲锋衣 防风防水",
            C.APPAREL,
            "399",
            (("颜色", ("黑色", "藏青", "墨绿")), ("尺码", SIZES_TOP)),
            popularity=0.8,
        ),
        ProductSpec(
            "厚底增高老爹鞋",
            C.APPAREL,
            "229",
            (("颜色", ("白灰", "全白")), ("尺码", SIZES_SHOE)),
            popularity=1.1,
        ),
        ProductSpec(
            "经典低帮帆布鞋",
            C.APPAREL,
            "99",
            (("颜色", ("黑色", "白色")), ("尺码", SIZES_SHOE)),
        ),
        ProductSpec(
            "纯棉中筒袜 5双装",
            C.APPAREL,
            "29.9",
            (("颜色", ("混色", "全黑", "全白")), ("尺码", ("均码",))),
            popularity=1.5,
        ),
        ProductSpec(
            "桑蚕丝印花小方巾",
            C.APPAREL,
            "159",
            (("颜色", ("复古红", "雾蓝")),),
            popularity=0.5,
        ),
        ProductSpec(
            "玻尿酸补水保湿面膜 10片装",
            C.BEAUTY,
            "89",
            (("规格", ("10片装", ("20片装", "70"))),),
            popularity=2.0,
        ),
        ProductSpec("烟酰胺亮肤精华液 30ml", C.BEAUTY, "199", popularity=1.2),
        ProductSpec("氨基酸温和洁面乳 120g", C.BEAUTY, "59", popularity=1.4),
        ProductSpec("清爽防晒乳 SPF50+ PA++++ 50ml", C.BEAUTY, "129", popularity=1.3),
        ProductSpec(
            "丝绒哑光口红",
            C.BEAUTY,
            "99",
            (("色号", ("#01 正红", "#02 豆沙", "#03 枫叶", "#04 奶茶")),),
            popularity=1.2,
        ),
        ProductSpec("轻透遮瑕气垫BB霜", C.BEAUTY, "149", (("色号", ("象牙白", "自然色")),)),
        ProductSpec("植物卸妆油 200ml", C.BEAUTY, "119"),
        ProductSpec("香氛保湿身体乳 250ml", C.BEAUTY, "79", (("香型", ("白茶", "小苍兰")),)),
        ProductSpec(
            "定制刺绣姓名卫衣",
            C.CUSTOM,
            "199",
            (("颜色", ("白色", "黑色")), ("尺码", SIZES_TOP)),
        ),
        ProductSpec("情侣定制刻字手链", C.CUSTOM, "129", (("款式", ("男款", "女款")),)),
        ProductSpec("大容量帆布托特包", C.GENERAL, "69", (("颜色", ("米白", "黑色")),)),
        ProductSpec("简约通勤双肩包", C.GENERAL, "189", (("颜色", ("黑色", "灰色")),)),
        ProductSpec("《时装》杂志 2025年秋季刊", C.BOOKS, "35", popularity=0.5),
        ProductSpec("《穿搭的基本》穿搭指南", C.BOOKS, "49", popularity=0.5),
    ),
)

DIGITAL_LIFE = ShopSpec(
    key="digital",
    platform_shop_id="7310000002",
    name="数码生活专营店",
    free_shipping_from_yuan="59",
    shipping_fee_yuan="6",
    insurance_rate=0.2,
    unshipped_refund_rate=0.02,
    category_mix={
        C.ELECTRONICS: 0.55,
        C.FOOD: 0.17,
        C.FRESH: 0.05,
        C.HOME: 0.14,
        C.DIGITAL: 0.04,
        C.BOOKS: 0.02,
        C.GENERAL: 0.03,
    },
    products=(
        ProductSpec(
            "主动降噪真无线蓝牙耳机",
            C.ELECTRONICS,
            "299",
            (("颜色", ("白色", "黑色")),),
            popularity=2.5,
        ),
        ProductSpec(
            "20000mAh 22.5W快充充电宝",
            C.ELECTRONICS,
            "129",
            (("颜色", ("白色", "黑色")),),
            is_high_risk=True,
            popularity=2.2,
        ),
        ProductSpec(
            "65W氮化镓快充充电器",
            C.ELECTRONICS,
            "119",
            is_high_risk=True,
            popularity=1.6,
        ),
        ProductSpec(
            "智能手表 心率血氧监测",
            C.ELECTRONICS,
            "599",
            (("颜色", ("曜石黑", "星光银")), ("版本", ("标准版", ("NFC版", "100")))),
            popularity=1.0,
        ),
        ProductSpec(
            "声波电动牙刷 5档模式",
            C.ELECTRONICS,
            "199",
            (("颜色", ("白色", "粉色", "黑色")),),
            popularity=1.4,
        ),
        ProductSpec(
            "87键热插拔机械键盘",
            C.ELECTRONICS,
            "349",
            (("轴体", ("红轴", "茶轴", "青轴")),),
            popularity=0.8,
        ),
        ProductSpec("静音无线鼠标", C.ELECTRONICS, "69", (("颜色", ("黑色", "白色")),)),
        ProductSpec("1080P家用投影仪", C.ELECTRONICS, "1299", popularity=0.5),
        ProductSpec(
            "激光导航扫地机器人",
            C.ELECTRONICS,
            "1599",
            (("版本", ("标准版", ("自动集尘版", "500"))),),
            popularity=0.4,
        ),
        ProductSpec("1.7L不锈钢电热水壶", C.ELECTRONICS, "99", is_high_risk=True),
        ProductSpec(
            "高速负离子吹风机",
            C.ELECTRONICS,
            "399",
            (("颜色", ("灰色", "粉色")),),
            is_high_risk=True,
            popularity=1.0,
        ),
        ProductSpec(
            "10.1英寸学习平板电脑",
            C.ELECTRONICS,
            "1199",
            (("存储", ("6+128G", ("8+256G", "300"))),),
            popularity=0.5,
        ),
        ProductSpec("Type-C快充数据线 2条装", C.ELECTRONICS, "29.9", popularity=1.8),
        ProductSpec("高清夜视行车记录仪", C.ELECTRONICS, "259", popularity=0.6),
        ProductSpec("小钢炮蓝牙音箱", C.ELECTRONICS, "199", (("颜色", ("黑色", "蓝色")),)),
        ProductSpec("家用速热小太阳取暖器", C.ELECTRONICS, "299", is_high_risk=True),
        ProductSpec(
            "每日坚果混合果仁 30袋礼盒",
            C.FOOD,
            "99",
            shelf_life_days=180,
            popularity=1.6,
        ),
        ProductSpec(
            "内蒙古手撕风干牛肉干",
            C.FOOD,
            "89",
            (("规格", ("250g", ("500g", "70"))),),
            shelf_life_days=180,
            popularity=1.2,
        ),
        ProductSpec("柳州螺蛳粉 5袋装", C.FOOD, "49", shelf_life_days=180, popularity=1.5),
        ProductSpec("冷萃挂耳咖啡 50包", C.FOOD, "79", shelf_life_days=365),
        ProductSpec("低糖即食燕麦片 1kg", C.FOOD, "39", shelf_life_days=270),
        ProductSpec("农家土蜂蜜 500g", C.FOOD, "69", shelf_life_days=730),
        ProductSpec("九蒸九晒黑芝麻丸", C.FOOD, "59", shelf_life_days=240),
        ProductSpec("麻辣自热小火锅 3盒装", C.FOOD, "45", shelf_life_days=180),
        ProductSpec(
            "云南阳光玫瑰青提",
            C.FRESH,
            "69",
            (("规格", ("2斤装", ("4斤装", "60"))),),
            shelf_life_days=7,
            popularity=1.2,
        ),
        ProductSpec("智利进口车厘子 JJ级 2斤", C.FRESH, "139", shelf_life_days=10),
        ProductSpec("阳澄湖大闸蟹礼盒 8只装", C.FRESH, "299", shelf_life_days=3, popularity=0.6),
        ProductSpec(
            "纯棉四件套 1.8m床",
            C.HOME,
            "299",
            (("颜色", ("奶白", "浅灰", "雾蓝")),),
        ),
        ProductSpec("慢回弹记忆棉枕头", C.HOME, "129"),
        ProductSpec("可叠加收纳箱 3个装", C.HOME, "59", popularity=1.3),
        ProductSpec("麦饭石不粘炒锅 32cm", C.HOME, "159"),
        ProductSpec(
            "316不锈钢保温杯 500ml",
            C.HOME,
            "89",
            (("颜色", ("白色", "黑色", "蓝色")),),
            popularity=1.4,
        ),
        ProductSpec("视频平台会员年卡 兑换码", C.DIGITAL, "198", popularity=1.2),
        ProductSpec("正版办公软件 激活码 一年", C.DIGITAL, "299"),
        ProductSpec("网盘超级会员月卡", C.DIGITAL, "30"),
        ProductSpec("《Python编程:从入门到实践》", C.BOOKS, "89"),
        ProductSpec("《人类简史》平装版", C.BOOKS, "68"),
        ProductSpec("磁吸透明手机壳", C.GENERAL, "39", (("型号", ("15", "15 Pro", "16")),)),
        ProductSpec("高清钢化膜 2片装", C.GENERAL, "19.9", (("型号", ("15", "15 Pro", "16")),)),
    ),
)

SHOPS = (FASHION, DIGITAL_LIFE)

# The shop `make demo` connects to the local Douyin simulator. It starts with no history: its
# cases arrive as the simulator's buyers apply, as in a shop that has just connected. The
# seeded shops' history is not on the simulator, so they stay unconnected (an operation sent
# for one of their cases would find no such after-sale there).
LIVE_SHOP_ID = "7310000003"
LIVE_SHOP_NAME = "潮流服饰抖音直播店"

# --- People --------------------------------------------------------------------------------

NICK_HEADS = (
    "爱吃",
    "快乐的",
    "不加糖的",
    "慢半拍的",
    "会飞的",
    "温柔的",
    "早睡的",
    "努力的",
    "佛系",
    "元气",
    "沉默的",
    "追风的",
)
NICK_TAILS = (
    "小熊",
    "橘子",
    "奶茶",
    "柚子",
    "阿喵",
    "土豆",
    "汤圆",
    "小鹿",
    "星星",
    "芒果",
    "豆包",
    "团子",
    "鲸鱼",
    "可乐",
)
NICK_PLAIN = (
    "momo",
    "阿杰",
    "小雨",
    "Lily",
    "陈先生",
    "王姐",
    "晴天",
    "木子",
    "一只胖橘",
    "Kevin",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文宇浩欣怡晨"

# (province, city, districts); the last three are remote (偏远地区) with extra shipping.
REGIONS = (
    ("浙江省", "杭州市", ("西湖区", "余杭区", "滨江区")),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区")),
    ("广东省", "广州市", ("天河区", "海珠区", "白云区")),
    ("上海市", "上海市", ("浦东新区", "徐汇区", "闵行区")),
    ("北京市", "北京市", ("朝阳区", "海淀区", "丰台区")),
    ("江苏省", "南京市", ("鼓楼区", "江宁区")),
    ("江苏省", "苏州市", ("姑苏区", "工业园区")),
    ("四川省", "成都市", ("武侯区", "锦江区", "高新区")),
    ("湖北省", "武汉市", ("洪山区", "江汉区")),
    ("山东省", "青岛市", ("市南区", "黄岛区")),
    ("河南省", "郑州市", ("金水区", "二七区")),
    ("福建省", "厦门市", ("思明区", "湖里区")),
    ("湖南省", "长沙市", ("岳麓区", "雨花区")),
    ("陕西省", "西安市", ("雁塔区", "未央区")),
    ("新疆维吾尔自治区", "乌鲁木齐市", ("天山区",)),
    ("西藏自治区", "拉萨市", ("城关区",)),
    ("内蒙古自治区", "呼和浩特市", ("新城区",)),
)
REMOTE_PROVINCES = frozenset({"新疆维吾尔自治区", "西藏自治区", "内蒙古自治区"})
STREETS = (
    "文三路",
    "科技园南路",
    "人民路",
    "解放大道",
    "中山路",
    "建设路",
    "长江路",
    "学府路",
    "新华街",
    "滨河路",
)
COMMUNITIES = ("阳光花园", "锦绣家园", "翠苑小区", "金色港湾", "东方名城", "公司前台")

# (name, code for tracking numbers, digits after the code)
CARRIERS = (
    ("中通快递", "7", 14),
    ("圆通速递", "YT", 13),
    ("韵达快递", "43", 13),
    ("极兔速递", "JT", 13),
    ("顺丰速运", "SF", 13),
    ("京东快递", "JDVB", 11),
)
COLD_CHAIN_CARRIER = ("顺丰速运", "SF", 13)

# --- What buyers write, by (category, reason) with a fallback by reason ----------------------

STATEMENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("apparel", "wrong_size"): (
        "平时穿M,这件M偏小,肩膀和腰都紧",
        "尺码偏大一码,穿着松垮",
        "裤长太长了,想换短一点的",
        "按尺码表买的,胸围还是小了",
    ),
    ("apparel", "no_reason"): (
        "颜色和想象的不一样,不太喜欢,七天无理由退货",
        "上身效果不适合我,吊牌未拆",
        "买了两个颜色,退掉一个",
    ),
    ("apparel", "not_as_described"): (
        "实物颜色和主图差别很大,偏暗",
        "详情页写的纯棉,摸起来像化纤",
        "版型和模特图完全不一样",
    ),
    ("apparel", "quality_issue"): (
        "衣服腋下开线,还有很多线头",
        "洗了一次就严重起球",
        "拉链拉不上,卡住了",
        "有明显的污渍洗不掉",
    ),
    ("apparel", "wrong_item"): ("买的黑色发成了白色", "拍的L码,收到的是M码"),
    ("beauty", "quality_issue"): (
        "用了两天脸上起红疹,过敏了",
        "精华有异味,和之前买的不一样",
    ),
    ("beauty", "damaged"): ("收到时瓶子裂了,漏了一半", "外盒压坏,泵头断了"),
    ("beauty", "expired"): ("收到的生产日期是两年前的,临期了",),
    ("beauty", "no_reason"): ("未拆封,不想要了", "买重复了,未开封"),
    ("electronics", "functional_fault"): (
        "右耳没有声音,重置过了也不行",
        "充不进电,换了充电线也一样",
        "蓝牙连不上手机,一直闪灯",
        "开机就自动重启",
        "用了三天突然无法开机",
    ),
    ("electronics", "quality_issue"): ("外壳有划痕,像是二手的", "按键松动,有异响"),
    ("electronics", "no_reason"): ("未激活未拆封,不想要了", "买错型号了"),
    ("electronics", "damaged"): ("外包装破损,屏幕有裂痕",),
    ("food", "damaged"): ("包装袋破了,漏气了", "快递压坏了好几袋"),
    ("food", "expired"): ("收到离过期只剩十来天", "生产日期是去年的,临期了"),
    ("food", "quality_issue"): ("有一股哈喇味", "里面有异物"),
    ("fresh", "damaged"): ("收到时有好几颗坏果、压烂了", "泡沫箱破了,冰袋都化了"),
    ("fresh", "quality_issue"): ("到手就有死蟹", "果子发软有霉点"),
    ("home", "quality_issue"): ("锅用了一次就掉涂层", "保温杯不保温,半小时就凉了"),
    ("home", "not_as_described"): ("尺寸比描述的小很多", "颜色有色差"),
    ("home", "damaged"): ("收纳箱裂了一个", "杯子磕瘪了一块"),
    ("digital", "quality_issue"): ("兑换码提示已被使用", "激活码无效,无法激活"),
    ("digital", "no_reason"): ("买错了,还没用",),
    ("books", "damaged"): ("书角压坏了,封面有折痕",),
    ("custom", "quality_issue"): ("刺绣的名字有错字", "刻字歪了"),
    ("custom", "no_reason"): ("不太喜欢,想退",),
}
STATEMENTS_BY_REASON: dict[str, tuple[str, ...]] = {
    "no_reason": ("不想要了,七天无理由退货", "买多了"),
    "changed_mind": ("拍错了,重新拍", "不想要了", "买重复了"),
    "wrong_size": ("尺寸不合适",),
    "quality_issue": ("质量有问题", "用了一次就坏了"),
    "functional_fault": ("无法正常使用",),
    "damaged": ("收到时已经破损",),
    "wrong_item": ("发错货了",),
    "missing_item": ("少发了一件", "赠品没收到", "只收到一个包裹,少了一件"),
    "not_as_described": ("与描述不符",),
    "expired": ("临期了",),
    "not_received": ("物流好几天没更新,不想等了", "一直显示运输中,还没收到"),
    "late_shipment": ("说好48小时发货,三天了还没发", "一直不发货"),
    "other": ("地址填错了,重新下单", "收货人电话填错了"),
}

# Merchants' words, shown to buyers.
APPROVE_NOTES = (
    "已同意,请按退货地址寄回,寄回时请勿使用到付",
    "亲,已为您同意申请,麻烦尽快寄回哦",
    "已核实,同意处理",
)
PARTIAL_REFUND_REASONS = {
    "damaged": "商品部分破损,与买家协商一致部分退款,无需退回",
    "quality_issue": "商品有轻微瑕疵,与买家协商一致部分退款补偿",
    "not_as_described": "与买家协商一致,按色差补偿部分货款",
    "expired": "临期商品,与买家协商部分退款",
}
REPAIR_NOTES = (
    "更换电池,通电测试2小时正常",
    "更换左耳喇叭单元,配对测试正常",
    "主板重新焊接,功能测试通过",
    "刷新固件并更换充电口,测试正常",
)
INSPECTION_FAIL_NOTES = {
    "goods_used": "包装已拆封,商品有明显使用痕迹,影响二次销售",
    "returned_damaged": "退回商品有人为损坏,吊牌已剪",
    "returned_wrong_item": "退回的商品与发出的不是同一件(序列号不符)",
}


# --- The knowledge base (R8.3) -------------------------------------------------------------
# The shops' standard answers, so that the bot answers from them in `make demo`:
# (question, tags, answer, categories). Every demo shop gets the common ones and its own.
ArticleSpec = tuple[str, str, str, tuple[str, ...]]

COMMON_ARTICLES: tuple[ArticleSpec, ...] = (
    (
        "退货地址是哪里，寄回到哪",
        "退货,地址,寄回,寄哪,退货地址",
        "退货请寄到：浙江省杭州市余杭区仓前街道文一西路 1 号 售后仓，收件人“售后组”，"
        "电话 0571-8888 0000。请不要寄到付，寄出后在本页填写快递单号。",
        (),
    ),
    (
        "退货可以上门取件吗，用什么快递",
        "上门取件,快递,寄回,退货快递",
        "可以。在抖音订单的售后详情里选择“上门取件”，快递员会按约定时间上门；"
        "也可以自行寄回，建议用顺丰或中通并保留寄件凭证。",
        (),
    ),
    (
        "退货要原包装吗，吊牌能剪吗",
        "原包装,包装,吊牌,配件,赠品",
        "请尽量用原包装寄回，附上全部配件和赠品。吊牌已剪、商品已使用会影响七天无理由退货；"
        "质量问题不受影响。",
        (),
    ),
    (
        "快递单号填在哪里",
        "快递单号,单号,填写,寄出",
        "寄出后回到本页，在售后进度下方“填写退货快递单号”处选择快递公司并填写单号即可，"
        "仓库收到后会尽快验货。",
        (),
    ),
    (
        "需要上传什么照片或凭证",
        "照片,凭证,图片,视频,拍照,上传",
        "请拍清楚问题所在：整体外观一张、问题细节一张、外包装和快递面单一张；"
        "功能问题可以录一段 10 秒内的视频。在本页“补充凭证”处上传。",
        (),
    ),
    (
        "可以开发票吗",
        "发票,开票,专票,普票",
        "可以。请在订单页“申请开票”填写抬头和税号，电子普通发票 1–3 个工作日发到您的邮箱；"
        "退货退款后发票会作废重开。",
        (),
    ),
    (
        "什么时候发货，多久能到",
        "发货,发货时间,几天到,多久到,物流",
        "现货 48 小时内发货，预售商品以商品页写明的时间为准；江浙沪一般 1–2 天送达，"
        "其他地区 2–4 天，偏远地区 5–7 天。",
        (),
    ),
    (
        "有运费险吗，退货运费怎么赔",
        "运费险,运费,退货运费,理赔",
        "下单时买了运费险的，退货寄出并填写单号后，保险公司按首重自动理赔到您的支付账户，"
        "一般 72 小时内到账。",
        (),
    ),
)

SHOP_ARTICLES: dict[str, tuple[ArticleSpec, ...]] = {
    "fashion": (
        (
            "尺码不合适可以换吗",
            "尺码,换码,大了,小了,换货",
            "可以换码。签收 7 天内在本页申请“换货”，选择要换的尺码；衣服请保持吊牌完好、"
            "未洗未穿，换码往返运费由我们承担一次。",
            ("apparel",),
        ),
        (
            "衣服起球、掉色怎么办",
            "起球,掉色,褪色,质量问题,缩水",
            "这属于质量问题，请拍下起球或掉色的位置和洗标，在本页申请退货退款或换货，"
            "运费由我们承担。",
            ("apparel",),
        ),
    ),
    "digital": (
        (
            "耳机、充电器坏了怎么保修",
            "保修,维修,坏了,不响,充不上电,质保",
            "数码配件享一年质保。请在本页申请“维修”，写明故障并附视频；寄回后我们 3 个工作日内"
            "检测，能修的修好寄回，不能修的换新。",
            ("electronics",),
        ),
        (
            "激活过的数码产品还能退吗",
            "激活,拆封,七天无理由,数码",
            "已激活或已拆封影响二次销售的数码产品不支持七天无理由退货；"
            "有质量问题的，经检测确认后可以退换。",
            ("electronics", "digital"),
        ),
    ),
}
