"""Article parsing: front matter, dates, bodies, encodings, boilerplate."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from digest.errors import ArticleError
from digest.parse import parse_article, read_article
from tests.support.builders import build_post
from tests.support import texts

SEED_BODY = """<div>
<p>记者 胡琳</p>
<p>“有温度的金融”，近日在金融圈引起众多关注。</p>
<h2>直面行业变化 金融服务主动“升温”</h2>
<p>当前，我国金融业发展步入了一个变革期。</p>
<h3>三级标题</h3>
<p><strong>平安这次的保险服务革新符合四大趋势：</strong></p>
<p>第一，跨业综合经营。</p>
<!-- 当没有勾选文章中显示缩略图时，在文章最末尾加上 封面图片来源：摄图网 -->
<script>var x = 1;</script><style>p { color: red }</style>
<p><img src="https://example.org/a.jpg" alt="图"></p>
<p>图片来源：摄图网</p>
<p>免责声明：本文内容仅供参考。</p>
</div>"""


def write(tmp_path: Path, text: str, name: str = "post.md", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_seed_format_fields(tmp_path: Path) -> None:
    article = read_article(write(tmp_path, build_post(SEED_BODY)))
    assert article.title == "测试标题"
    assert article.source == "测试来源"
    assert article.categories == ("金融", "测试来源", "分类")
    assert article.published == datetime(2021, 4, 19, 19, 1, 48, tzinfo=timezone.utc)
    assert not article.date_from_file
    assert article.headings == [
        "直面行业变化 金融服务主动“升温”",
        "三级标题",
        "平安这次的保险服务革新符合四大趋势：",
    ]
    assert article.paragraphs == [
        "“有温度的金融”，近日在金融圈引起众多关注。",
        "当前，我国金融业发展步入了一个变革期。",
        "第一，跨业综合经营。",
    ]
    assert article.path == str(tmp_path / "post.md")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 19 Apr 2021 19:01:48 GMT", datetime(2021, 4, 19, 19, 1, 48, tzinfo=timezone.utc)),
        ("'2021-04-19 19:01:48'", datetime(2021, 4, 19, 11, 1, 48, tzinfo=timezone.utc)),
        ("2021-04-19T19:01:48+08:00", datetime(2021, 4, 19, 11, 1, 48, tzinfo=timezone.utc)),
        ("2021-04-19T11:01:48Z", datetime(2021, 4, 19, 11, 1, 48, tzinfo=timezone.utc)),
        ("2021-04-19", datetime(2021, 4, 18, 16, 0, tzinfo=timezone.utc)),
        ("2021-04-19 19:01:48", datetime(2021, 4, 19, 11, 1, 48, tzinfo=timezone.utc)),
    ],
)
def test_dates_in_every_shape_are_timezone_aware(value: str, expected: datetime) -> None:
    article = parse_article(build_post("<p>正文内容在这里。</p>", date=value))
    assert article.published.tzinfo is not None
    assert article.published == expected


def test_missing_date_uses_mtime_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, build_post("<p>正文内容在这里。</p>", date=None))
    os.utime(path, (1_600_000_000, 1_600_000_000))
    article = read_article(path)
    assert article.date_from_file
    assert article.published == datetime.fromtimestamp(1_600_000_000, timezone.utc)


def test_unreadable_date_falls_back_too() -> None:
    modified = datetime(2020, 1, 2, tzinfo=timezone.utc)
    article = parse_article(build_post("<p>正文。</p>", date="'not a date'"), modified=modified)
    assert article.date_from_file and article.published == modified


def test_no_blank_line_before_front_matter() -> None:
    article = parse_article(build_post("<p>正文内容。</p>", leading_blank_line=False))
    assert article.title == "测试标题" and article.source == "测试来源"


def test_entities_are_unescaped_once_and_twice() -> None:
    body = "<p>配置写作 &#123;a: 1&#125; 与 &amp;#123;b&amp;#125;。</p>"
    article = parse_article(build_post(body))
    assert article.paragraphs == ["配置写作 {a: 1} 与 {b}。"]


@pytest.mark.parametrize(
    "line",
    [
        "记者 胡琳",
        "每经编辑 杜宇",
        "每经实习编辑 李泽东",
        "(记者 胡玲)",
        "编辑|王小明 校对|李大华",
        "责任编辑：张三",
        "图片来源：摄图网",
        "封面图片来源：新华社",
        "免责声明：本文内容与数据仅供参考，不构成投资建议。",
        "（每经App登载此文出于传递更多信息之目的，并不意味着赞同其观点。投资者据此操作，风险自担。）",
        "每日经济新闻综合央视新闻、新华社报道",
        "来源：每日经济新闻综合自央视新闻",
        "关注全球新冠肺炎疫情动态，请点击↓↓",
        "https://search.maven.org/search?q=g:com.baomidou",
        "~~~文末有福利~~~",
        "每经送书",
        "★★本期福利★★",
        "在评论区留言，点赞数前三名的读者将获赠新书一本",
    ],
)
def test_boilerplate_lines_are_dropped(line: str) -> None:
    article = parse_article(build_post(f"<p>{line}</p><p>这是正文的一句话。</p>"))
    assert article.paragraphs == ["这是正文的一句话。"]


@pytest.mark.parametrize(
    "line",
    [
        "记者了解到，今年的销量明显上升。",
        "来源于市场的压力正在加大。",
        "编辑部收到了大量读者来信。",
        "志愿者为山区学校送书上门。",
        "多家企业提高员工福利待遇。",
        "该视频被转发超过十万次，获得网友广泛关注。",
    ],
)
def test_real_sentences_that_look_like_boilerplate_survive(line: str) -> None:
    assert parse_article(build_post(f"<p>{line}</p>")).paragraphs == [line]


def test_wire_lead_in_is_removed() -> None:
    body = '<p><span style="font-weight: bold;">每经AI快讯，</span><span>10月11日，券商关注38只个股。</span></p>'
    assert parse_article(build_post(body)).paragraphs == ["10月11日，券商关注38只个股。"]


def test_bold_sentence_is_emphasis_not_heading() -> None:
    body = "<p><strong>截至收盘，辉瑞下跌1.39%，市值损失近35亿美元。</strong></p>"
    article = parse_article(build_post(body))
    assert article.headings == [] and len(article.paragraphs) == 1


def test_code_blocks_and_bare_text_in_div() -> None:
    body = "<div>   \n纯文本的正文，没有段落标签。\n<pre><dependency>x</dependency></pre>\n</div>"
    assert parse_article(build_post(body)).paragraphs == ["纯文本的正文，没有段落标签。"]


def test_code_lines_and_headings_are_dropped() -> None:
    article = parse_article(build_post(texts.CODE_BODY))
    assert article.headings == []
    assert article.paragraphs == [
        "sqlbox 2.1 发布，这是一个轻量的数据库迁移工具，支持 MySQL 和 PostgreSQL。",
        "本次更新修复了多个连接池问题，并新增命令行参数。",
    ]


def test_giveaway_heading_and_paragraph_are_dropped() -> None:
    article = parse_article(build_post(texts.GIVEAWAY_BODY))
    assert article.headings == ["农村快递网点覆盖率提升"]
    assert not any("送书" in p or "福利" in p for p in article.paragraphs)
    assert len(article.paragraphs) == 3


def test_br_separates_paragraphs() -> None:
    body = "<p>第一段的内容。<br><br><em><strong>来源：综合报道</strong></em></p>"
    assert parse_article(build_post(body)).paragraphs == ["第一段的内容。"]


def test_markdown_body() -> None:
    body = "记者 周明远\n\n第一段正文。\n\n## 二级标题\n\n**加粗小标题**\n\n第二段，含[链接](https://example.org)。\n\n![图](a.png)\n"
    article = parse_article(build_post(body))
    assert article.headings == ["二级标题", "加粗小标题"]
    assert article.paragraphs == ["第一段正文。", "第二段，含链接。"]


def test_markdown_without_front_matter_takes_its_title_from_h1() -> None:
    article = parse_article("# 一个标题\n\n正文一句。\n", fallback_title="file-name")
    assert article.title == "一个标题"
    assert article.source == "" and article.categories == ()


@pytest.mark.parametrize("body", ["", "<div>   \n</div>", "<!-- 只有注释 -->"])
def test_empty_bodies(body: str) -> None:
    article = parse_article(build_post(body))
    assert article.blocks == () and article.title == "测试标题"


def test_url_from_front_matter() -> None:
    article = parse_article(build_post("<p>正文。</p>", extra="link: https://example.org/a"))
    assert article.url == "https://example.org/a"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, build_post("<p>长江航运一季度货运量回升。</p>"), encoding=encoding)
    article = read_article(path)
    assert article.title == "测试标题"
    assert article.paragraphs == ["长江航运一季度货运量回升。"]


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "---\ntitle: '没有闭合\ncategories: [a\n---\n<p>正文</p>\n")
    with pytest.raises(ArticleError) as caught:
        read_article(path)
    assert str(path) in str(caught.value)
    assert "YAML" in caught.value.reason


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(ArticleError, match="binary"):
        read_article(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="No such file"):
        read_article(tmp_path / "nope.md")


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("digest.parse.MAX_FILE_BYTES", 100)
    path = write(tmp_path, build_post("<p>" + "很长的正文。" * 50 + "</p>"))
    with pytest.raises(ArticleError, match="limit"):
        read_article(path)
