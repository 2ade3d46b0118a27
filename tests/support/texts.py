"""Article bodies written for the tests (not third-party text)."""

AI_BODY = (
    "<p>今年以来，多地政务服务大厅开始试用人工智能助手，市民排队时间明显缩短。</p>"
    "<p>据介绍，助手能够回答社保、公积金和户籍办理等常见问题，并把复杂事项转给人工窗口。</p>"
    "<p>业内人士认为，人工智能在公共服务中的应用仍需解决数据安全和隐私保护等难题。</p>"
    "<p>下一步，试点城市计划把助手接入政务热线，并定期公布服务评价结果。</p>"
)

BANK_BODY = (
    "<p>多家商业银行近日下调了部分定期存款利率，调整幅度在十到二十个基点之间。</p>"
    "<p>分析人士指出，存款利率下调有助于降低银行负债成本，稳定净息差。</p>"
    "<p>与此同时，居民储蓄意愿依然较强，理财产品收益率也随之走低。</p>"
    "<p>专家建议投资者合理配置资产，关注流动性和风险承受能力。</p>"
)

PORT_BODY = (
    "<p>长江沿线港口货物吞吐量连续三个月回升，集装箱航线运力持续恢复。</p>"
    "<p>港口企业表示，外贸订单增加带动了集装箱需求，内河航运公司也在增开班轮。</p>"
    "<p>交通运输部门将继续推进航道整治工程，提升通航效率和安全水平。</p>"
    "<p>业内预计，下半年长江航运市场仍将保持平稳增长态势。</p>"
)

# The same story as BANK_BODY, lightly rewritten by another outlet: a near-duplicate.
BANK_BODY_REWRITE = BANK_BODY.replace("近日", "本周").replace("专家建议", "有专家建议")

# The issue 8 editor's cases, each in the style of a real generator but written for the tests.

# 每经网 style: a teaser line at the top, a giveaway section at the end.
GIVEAWAY_BODY = (
    "<p><strong>~~~文末有福利~~~</strong></p>"
    "<p>记者 王小明</p>"
    "<p>今年一季度，全国快递业务量突破三百亿件，同比增长百分之二十五。</p>"
    "<p><strong>农村快递网点覆盖率提升</strong></p>"
    "<p>国家邮政局表示，农村地区快递网点覆盖率已超过九成，寄递服务下沉成效明显。</p>"
    "<p>业内人士认为，快递企业价格战趋缓，服务质量成为竞争重点。</p>"
    "<p><strong>每经送书</strong></p>"
    "<p>本期每经送书活动送出《物流的未来》5本，在文末留言区留言，点赞数前五名的读者即可获得。</p>"
)

# A paragraph that only announces the list after it.
LEAD_IN_BODY = (
    "<p>国务院常务会议日前部署进一步优化营商环境，会议确定的九大要点如下：</p>"
    "<p>一是压减涉企审批事项，推行证照分离改革全覆盖。</p>"
    "<p>二是降低企业用电用网成本，清理规范涉企收费。</p>"
    "<p>三是加快建设全国统一大市场，破除地方保护。</p>"
)

# Numbered points, one a plain line and one a bold heading, each spelt out by the next paragraph.
POINTS_BODY = (
    "<p>央行发布报告，提出下一步金融监管的三项重点工作。</p>"
    "<p>1. 加强平台企业金融业务监管</p>"
    "<p>加强平台企业金融业务监管，督促平台企业按照统一规则开展金融业务，防止资本无序扩张。</p>"
    "<p><strong>2. 完善存款保险制度</strong></p>"
    "<p>完善存款保险制度，健全风险处置机制，守住不发生系统性金融风险的底线。</p>"
)

# 开源中国 style: a release note with code written as paragraphs, a bold code line and a listing.
CODE_BODY = (
    "<p>sqlbox 2.1 发布，这是一个轻量的数据库迁移工具，支持 MySQL 和 PostgreSQL。</p>"
    "<p>本次更新修复了多个连接池问题，并新增命令行参数。</p>"
    "<p><strong>Migrator m = new Migrator(url);</strong></p>"
    "<p><code>pip install sqlbox==2.1</code></p>"
    '<p>String url = Config.load("db.yml").getUrl();</p>'
    "<p>// 初始化迁移器，读取配置文件</p>"
    "<p>m.run(); // 执行全部迁移</p>"
    "<p>&lt;dependency&gt;&lt;artifactId&gt;sqlbox&lt;/artifactId&gt;&lt;/dependency&gt;</p>"
    "<pre>sqlbox migrate --all</pre>"
)
CODE_MARKS = ("(", ";", "//", "==", "<", "migrate --all")

# Acronyms the text writes in capitals.
ACRONYM_BODY = (
    "<p>国家统计局公布，3月份CPI同比上涨0.9%，PPI同比上涨4.4%。</p>"
    "<p>分析人士认为，CPI温和上涨，PPI涨幅扩大主要受大宗商品价格推动。</p>"
    "<p>专家预计，二季度CPI涨幅仍将保持在合理区间，NFT等新消费对物价影响有限。</p>"
    "<p>NFT交易平台数量增加，监管部门提示NFT炒作风险。</p>"
)

# A 199IT-style post whose body is its title, which splits into two sentences at the ！.
TITLE_ONLY_TITLE = "快递业务量猛增！一季度突破三百亿件"
