"""Lines that are not the article: code listings told apart from prose."""

from __future__ import annotations

import pytest

from digest.boilerplate import is_code


@pytest.mark.parametrize(
    "line",
    [
        "// 生成票据，适合前后分离模式",
        "m.run(); // 执行全部迁移",
        'String token = Token.create().setId(1).getToken();',
        "if (a == b) { return; }",
        "for i in range(10):",
        "pip install sqlbox==2.1",
        "git clone https://example.org/sqlbox.git",
        "<dependency> <groupId>org.example</groupId>",
        "```java",
    ],
)
def test_code_lines(line: str) -> None:
    assert is_code(line)


@pytest.mark.parametrize(
    "line",
    [
        "sqlbox = sql toolbox 基于 JDBC 的迁移工具，它能一键升级数据库结构。",
        "前后分离可选：请求 Header 票据模式, 请求 Cookie 模式",
        "The S&P 500 index (SPX) fell 1.3% on Monday.",
        "Apple (AAPL) rose 3% on Monday; analysts were upbeat.",
        "标普500收盘下跌56.58点，跌幅为1.3%（报4300.46点）；",
        "x = 1",
    ],
)
def test_prose_is_not_code(line: str) -> None:
    assert not is_code(line)
