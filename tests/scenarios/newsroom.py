"""Made-up news for the scenarios: many distinct stories, each its own words, so that
only the retellings we write on purpose are near-duplicates of each other."""

from __future__ import annotations

import random

# (category, subject, words of its field): every story draws from one row only
_FIELDS = [
    ("科技", "人工智能实验室", ["算法", "模型", "算力", "芯片", "数据集", "推理", "训练", "开源"]),
    ("科技", "量子计算团队", ["量子比特", "纠错", "低温", "超导", "相干时间", "光子", "门电路", "测控"]),
    ("科技", "卫星导航中心", ["轨道", "定位", "授时", "星座", "地面站", "信号", "精度", "终端"]),
    ("金融", "城市商业银行", ["存款", "贷款", "利率", "拨备", "净息差", "不良率", "理财", "信用卡"]),
    ("金融", "证券交易所", ["上市", "市值", "成交额", "指数", "融资", "退市", "注册制", "投资者"]),
    ("金融", "保险公司", ["保费", "赔付", "精算", "再保险", "健康险", "车险", "偿付能力", "代理人"]),
    ("交通", "长江航运集团", ["集装箱", "航道", "吞吐量", "船舶", "码头", "班轮", "水位", "锚地"]),
    ("交通", "高速铁路公司", ["动车组", "客流", "线路", "站台", "调度", "票价", "准点率", "隧道"]),
    ("农业", "粮食种植合作社", ["小麦", "水稻", "灌溉", "化肥", "收割", "种子", "墒情", "仓储"]),
    ("农业", "果蔬批发市场", ["柑橘", "苹果", "冷链", "批发价", "产地", "菜篮子", "采购商", "损耗"]),
    ("健康", "三甲医院", ["门诊", "手术", "医保", "床位", "护士", "挂号", "药品", "康复"]),
    ("教育", "职业技术学院", ["招生", "实训", "专业", "教师", "就业率", "校企合作", "课程", "证书"]),
]
_VERBS = ["发布", "启动", "完成", "宣布", "扩大", "调整", "推进", "试点"]
_TAILS = ["引发业内关注", "预计年内见效", "得到多方支持", "仍面临不少挑战", "计划明年推广", "将分阶段实施"]


def story(seed: int) -> tuple[str, str, str]:
    """(category, title, HTML body) of story number `seed`, the same every time."""
    rng = random.Random(seed)
    category, subject, words = _FIELDS[seed % len(_FIELDS)]
    picked = rng.sample(words, 6)
    title = f"{subject}{rng.choice(_VERBS)}{picked[0]}新方案（第{seed}号）"
    sentences = [
        f"{subject}近日{rng.choice(_VERBS)}了关于{picked[0]}和{picked[1]}的计划，{rng.choice(_TAILS)}。",
        f"负责人介绍，{picked[2]}方面投入{rng.randint(2, 90)}亿元，{picked[3]}指标提高{rng.randint(3, 40)}个百分点。",
        f"有分析认为，{picked[4]}的变化将影响{picked[5]}，第{seed}批项目{rng.choice(_TAILS)}。",
        f"据悉，相关{picked[1]}工作将在{rng.randint(2, 12)}个城市展开，编号{seed * 7919 % 100000}。",
    ]
    return category, title, "".join(f"<p>{s}</p>" for s in sentences)


def retelling(body: str) -> str:
    """The same story as another outlet writes it: a few words changed (a near-duplicate)."""
    return body.replace("近日", "日前")
