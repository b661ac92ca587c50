"""The newcomer's path: `citydash demo` starts the whole city, the dashboard
renders every panel with the demo's numbers in a real (headless Debian)
Chromium, a pushed progress report changes the page without a reload, and
starting the demo again keeps the same numbers. A screenshot is kept in
tests/artifacts/."""

import subprocess
import tempfile
import time

import grpc
import pytest

from citydash_stubs import ROOT, binary, free_port, free_port_run, generate, money_zh
from demo_process import CHROMIUM, CHROMIUM_ARGS, Demo, overview_when_settled

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    generate(tmp_path_factory.mktemp("gen"))
    from citydash.v1 import city_pb2, city_pb2_grpc, common_pb2

    return city_pb2, city_pb2_grpc, common_pb2


def content(o):
    """The overview without the feeds' connection state."""
    c = type(o)()
    c.CopyFrom(o)
    for s in c.sectors:
        s.ClearField("feed")
    c.ClearField("stale_feeds")
    return c.SerializeToString(deterministic=True)


def stub_what_if(stubs, demo):
    """The demo's statistics what-if of June, read through the API."""
    city_pb2, city_pb2_grpc, common_pb2 = stubs
    stub = city_pb2_grpc.CityServiceStub(demo.channel())
    request = city_pb2.GetStatisticsWhatIfRequest(period=common_pb2.Period(year=2026, month=6))
    return stub.GetStatisticsWhatIf(request, metadata=demo.metadata("viewer"), timeout=10)


def test_the_demo_dashboard_renders_follows_pushes_and_restarts_with_the_same_numbers(stubs):
    from playwright.sync_api import sync_playwright

    city_pb2, city_pb2_grpc, common_pb2 = stubs
    with tempfile.TemporaryDirectory() as data:
        base = free_port_run(5)
        demo = Demo(data, base, free_port())
        try:
            o = overview_when_settled(stubs, demo)
            assert (o.period.year, o.period.month) == (2026, 6)
            assert demo.url.startswith(f"http://127.0.0.1:{demo.http_port}/?token=")
            stub = city_pb2_grpc.CityServiceStub(demo.channel())
            with pytest.raises(grpc.RpcError) as err:
                stub.GetOverview(city_pb2.GetOverviewRequest(), timeout=10)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            gdp = next(s for s in o.city_indicators if s.definition.code == "city.gdp")
            counted_before = o.investment.counted_yuan
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(demo.url)
                page.wait_for_selector("body[data-rendered]", timeout=30_000)
                # Every panel, with the demo's numbers.
                card = page.locator('.headline[data-indicator="city.gdp"]')
                assert card.locator(".amount").inner_text() == money_zh(gdp.actual)
                assert f"{gdp.completion.value * 100:.1f}%" in card.inner_text()
                # The year-end landing beside the gauge, the API's figure.
                assert gdp.HasField("outlook")
                expected = gdp.outlook.seasonal_landing if gdp.outlook.HasField("seasonal_landing") else gdp.outlook.linear_landing
                landing = card.locator(".landing")
                assert landing.get_attribute("data-landing") == ("met" if gdp.outlook.met else str(expected))
                if not gdp.outlook.met:
                    assert money_zh(expected) in landing.inner_text()
                # The what-if beside the counted/uncounted chart (the projects layout), marked
                # as a projection, the API's figure.
                page.click('#screens button[data-screen="projects"]')
                what_if = stub_what_if(stubs, demo)
                line = page.locator("#what-if")
                assert line.get_attribute("data-ready") == str(what_if.with_ready.added_projects)
                assert "推演" in line.inner_text()
                assert f"{what_if.with_ready.completion.value * 100:.1f}%" in line.inner_text()
                # Each headline's trend chart has its four series: actual, last year, time progress, landing.
                for code in ["city.gdp", "city.fixed_asset_investment", "city.budget_revenue"]:
                    trend = page.locator(f'[id="trend-{code}"]')
                    assert trend.get_attribute("data-series") == "4", code
                    assert trend.locator("canvas").count() == 1, code
                # The wall's three layouts, chosen on the header's tabs: each shows its panels.
                screens = {
                    "overview": [".headline", ".sector", "#city-alerts"],
                    "projects": ["#funnel", "#investment", "#promotion", "#ranking", "#alerts"],
                    "supervision": ["#orders", "#reporting", "#supervision", "#brief"],
                }
                for screen, panels in screens.items():
                    page.click(f'#screens button[data-screen="{screen}"]')
                    assert page.locator("#stage").get_attribute("data-screen") == screen
                    for panel in panels:
                        assert page.locator(panel).first.is_visible(), (screen, panel)
                    for other, hidden in screens.items():
                        if other != screen:
                            assert not page.locator(hidden[-1]).is_visible(), (screen, hidden[-1])
                    assert f"screen={screen}" in page.url
                page.click('#screens button[data-screen="projects"]')
                assert page.locator(".headline").count() == 3
                assert page.locator(".sector").count() == 4
                assert page.locator("#funnel-chart canvas").count() == 1
                assert page.locator("#counted").inner_text().endswith(money_zh(counted_before))
                assert page.locator("ul.alerts li").count() == o.red_alerts + o.yellow_alerts
                assert page.locator("#supervision tr[data-unit]").count() > 0
                assert page.locator("#ranking table").count() > 0
                assert "1—6月份" in page.locator("#brief").text_content()
                # Drill-down: a project alert shows the project as its sector service holds it.
                first = page.locator("ul.alerts li.project").first
                code = first.get_attribute("data-code")
                first.click()
                page.wait_for_selector("#drill table", timeout=15_000)
                assert code in page.locator("#drill").inner_text()
                page.evaluate("window.__sameDocument = true")

                # Who has not reported: every agency of the month, the overdue first, as
                # GetReporting answers; the brief says it too.
                reporting = city_pb2_grpc.CityServiceStub(demo.channel()).GetReporting(
                    city_pb2.GetReportingRequest(period=o.period), metadata=demo.metadata("viewer"), timeout=10
                )
                assert reporting.agencies, "the demo owes reports"
                rows = page.locator("#reporting tr[data-agency]")
                assert rows.count() == len(reporting.agencies)
                assert rows.first.get_attribute("data-agency") == reporting.agencies[0].unit_code
                assert page.locator("#reporting-counts").get_attribute("data-overdue") == str(reporting.overdue_agencies)
                assert "报送情况" in page.locator("#brief").text_content()
                # The health line's notification part: no destination is failing in the demo.
                assert page.locator("#notify").get_attribute("data-failing") == "0"
                # The city-level alerts, which no sector panel holds, have a place of their own.
                alerts = city_pb2_grpc.CityServiceStub(demo.channel()).ListAlerts(
                    city_pb2.ListAlertsRequest(period=o.period), metadata=demo.metadata("viewer"), timeout=10
                ).alerts
                city_alerts = [a for a in alerts if a.sector == common_pb2.SECTOR_CITY]
                red = sum(1 for a in city_alerts if a.color == city_pb2.ALERT_COLOR_RED)
                assert page.locator("#city-alerts").get_attribute("data-red") == str(red)
                assert page.locator("#city-alerts").get_attribute("data-yellow") == str(len(city_alerts) - red)
                # June's figures are provisional in the demo: each says 初步 beside its amount.
                provisional = [s for s in o.city_indicators if s.status == common_pb2.VALUE_STATUS_PROVISIONAL]
                assert provisional, "the demo's June figures are provisional"
                for s in provisional:
                    card = page.locator(f'.headline[data-indicator="{s.definition.code}"]')
                    assert card.locator(".provisional").text_content() == "初步", s.definition.code
                # Counts as reports write them: no raw 1457000人次.
                for text in page.locator(".sector td.num").all_text_contents():
                    digits = "".join(ch for ch in text if ch.isdigit())
                    assert len(digits) < 7 or "元" in text, text
                assert page.locator("#live").get_attribute("data-state") == "live"
                assert "更新于" in page.locator("#live").inner_text()

                # The supervision orders: the demo's open ones, overdue first, and the
                # red and black lists. An order closed by data leaves the panel without a reload.
                from citydash.v1 import orders_pb2, orders_pb2_grpc, sector_pb2, sector_pb2_grpc

                office = orders_pb2_grpc.OrdersServiceStub(demo.channel())
                listed = office.ListOrders(
                    orders_pb2.ListOrdersRequest(page_size=200), metadata=demo.metadata("supervision"), timeout=10
                ).orders
                open_orders = [x for x in listed if x.state != orders_pb2.ORDER_STATE_CLOSED]
                assert {x.state for x in listed} >= {
                    orders_pb2.ORDER_STATE_OPEN,
                    orders_pb2.ORDER_STATE_PLANNED,
                    orders_pb2.ORDER_STATE_REPORTED,
                    orders_pb2.ORDER_STATE_CLOSED,
                }, "the demo has orders in every state"
                assert page.locator("#orders tr[data-order]").count() == len(open_orders)
                assert page.locator("#orders-counts").get_attribute("data-open") == str(len(open_orders))
                # A funded project not started: its start clears the alert.
                unstarted = next(x for x in open_orders if x.alert_code == city_pb2.ALERT_CODE_FUNDED_NOT_STARTED)
                sector = sector_pb2_grpc.SectorServiceStub(grpc.insecure_channel(f"127.0.0.1:{base + unstarted.sector}"))
                agency = {1: "agriculture", 2: "industry", 3: "tourism", 4: "welfare"}[unstarted.sector]
                sector.UpsertProjects(
                    sector_pb2.UpsertProjectsRequest(
                        request_id="dashboard-test-start",
                        projects=[
                            common_pb2.Project(
                                code=unstarted.subject_code,
                                stage=common_pb2.PROJECT_STAGE_STARTED,
                                stage_date=common_pb2.Date(year=2026, month=7, day=5),
                            )
                        ],
                    ),
                    metadata=demo.metadata(agency),
                    timeout=10,
                )
                # The snapshot is of the data the aggregator holds: let it catch up first.
                overview_when_settled(stubs, demo)
                deadline = time.time() + 30
                while True:
                    try:
                        taken = office.TakeSnapshot(
                            orders_pb2.TakeSnapshotRequest(date=common_pb2.Date(year=2026, month=7, day=15)),
                            metadata=demo.metadata("supervision"),
                            timeout=10,
                        )
                        break
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.UNAVAILABLE or time.time() > deadline:
                            raise
                        time.sleep(0.2)
                assert unstarted.code in taken.closed
                page.wait_for_function(
                    "code => !document.querySelector(`#orders tr[data-order='${code}']`)",
                    arg=unstarted.code,
                    timeout=30_000,
                )

                # A pushed revision of June's progress reaches the page without a reload:
                # AG-2026-01 is in the statistics database, so the counted amount grows.
                push = subprocess.run(
                    [
                        str(binary("citydash")),
                        "push",
                        "progress",
                        "--url",
                        f"http://127.0.0.1:{base + 1}",
                        "--project",
                        "AG-2026-01",
                        "--period",
                        "2026-06",
                        "--investment-yuan",
                        "7900000",
                        "--request-id",
                        "dashboard-test-1",
                        "--token",
                        demo.tokens["agriculture"],
                    ],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert push.returncode == 0, push.stderr
                assert "AG-2026-01/2026-06 WRITE_OUTCOME_UPDATED" in push.stdout
                expected = money_zh(counted_before + 5_000_000)
                page.wait_for_function(
                    "text => document.getElementById('counted')?.textContent.endsWith(text)",
                    arg=expected,
                    timeout=30_000,
                )
                assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
                # The phone: one column, nothing wider than the screen, the header's
                # badge on one line, column headers unbroken.
                phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                phone.goto(demo.url)
                phone.wait_for_selector("body[data-rendered]", timeout=30_000)
                assert phone.evaluate("document.documentElement.scrollWidth") <= 390
                live = phone.locator("#live").bounding_box()
                assert live["height"] < 2 * 24 and live["width"] > 60, live
                heights = phone.evaluate("[...document.querySelectorAll('th')].map(th => th.getBoundingClientRect().height)")
                assert max(heights) < 30, max(heights)
                phone.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
                phone.context.close()
                # Without a token the page says what is missing instead of showing numbers.
                stranger = browser.new_context().new_page()
                stranger.goto(f"http://127.0.0.1:{demo.http_port}/")
                stranger.wait_for_selector("text=需要有效的查看令牌", timeout=15_000)
                assert stranger.locator(".headline").count() == 0
                after_push = overview_when_settled(stubs, demo)
                assert after_push.investment.counted_yuan == counted_before + 5_000_000
                # The server goes away: within 10 s the screen says so, with the time of the
                # last figures, and keeps them on screen.
                updated = page.locator("#updated").inner_text()
                demo.stop()
                page.wait_for_selector('#live[data-state="disconnected"]', timeout=10_000)
                assert "连接中断" in page.locator("#live").inner_text()
                assert page.locator("#updated").inner_text() == updated, "the time of the last figures stays"
                assert page.locator(".headline").count() == 3, "the last figures stay on screen"

                # The same data folder and ports again: seeding changes nothing, every number
                # is the same, and the screen is live again by itself.
                demo = Demo(data, base, demo.http_port)
                again = overview_when_settled(stubs, demo)
                assert content(again) == content(after_push)
                page.wait_for_selector('#live[data-state="live"]', timeout=30_000)
                assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
                browser.close()
        finally:
            demo.stop()
