"""The wall screen in headless Chromium against the demo: the 1920×1080
canvas fits a wall, a 4K screen and a laptop with nothing below the fold and no
text on other text, in each of its layouts; the phone is never wider than its
screen; boards scroll by themselves and the layouts rotate when asked; the
screen's credential is taken out of the address, kept only once accepted, and
warns before it expires; and a soak of pushes leaves the heap and the number
of charts where they were. Screenshots go to tests/artifacts/."""

import json
import os
import subprocess
import time

import pytest

from citydash_stubs import ROOT, binary

ARTIFACTS = ROOT / "tests" / "artifacts"
OVERLAPS = (ROOT / "tests" / "python" / "js" / "overlaps.js").read_text()
LAYOUTS = ["overview", "projects", "supervision"]


def open_page(browser, url, width, height):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(url)
    page.wait_for_selector("body[data-rendered]", timeout=30_000)
    # The charts and the fonts settle on the first frames.
    page.wait_for_timeout(500)
    return page


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160), (1366, 768)])
def test_every_layout_fits_the_screen_with_nothing_below_the_fold_and_no_text_on_other_text(demo, browser, width, height):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for layout in LAYOUTS:
        page = open_page(browser, f"{demo.url}&screen={layout}", width, height)
        try:
            size = page.evaluate(
                "[document.scrollingElement.scrollWidth, document.scrollingElement.scrollHeight, innerWidth, innerHeight]"
            )
            assert size == [width, height, width, height], (layout, size)
            cards = page.evaluate(
                """[...document.querySelectorAll('header, .layout.active .card')].map(e => {
                     const r = e.getBoundingClientRect();
                     return [e.id || e.className, r.left, r.top, r.right, r.bottom];
                   })"""
            )
            assert len(cards) >= 4, (layout, cards)
            for name, left, top, right, bottom in cards:
                assert left >= -0.5 and top >= -0.5 and right <= width + 0.5 and bottom <= height + 0.5, (layout, name)
            assert page.evaluate(OVERLAPS) == [], layout
            page.screenshot(path=str(ARTIFACTS / f"wall-{layout}-{width}x{height}.png"))
        finally:
            page.context.close()


def test_the_phone_is_never_wider_than_its_screen_and_its_text_never_overlaps(demo, browser):
    page = open_page(browser, demo.url, 390, 844)
    try:
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
        widest = page.evaluate("Math.max(...[...document.querySelectorAll('.card')].map(e => e.getBoundingClientRect().right))")
        assert widest <= 390
        # Every layout is there, one under another.
        for panel in ["#headlines", "#sectors", "#alerts", "#orders", "#brief"]:
            assert page.locator(panel).is_visible(), panel
        assert page.evaluate(OVERLAPS) == []
        page.screenshot(path=str(ARTIFACTS / "wall-phone-390x844.png"), full_page=True)
    finally:
        page.context.close()


def test_a_board_longer_than_its_box_scrolls_by_itself_and_the_layouts_rotate_when_asked(demo, browser):
    page = open_page(browser, f"{demo.url}&screen=supervision", 1920, 1080)
    try:
        board = page.locator("#brief-board")
        assert board.evaluate("b => b.scrollHeight > b.clientHeight"), "the demo's brief is longer than its box"
        page.wait_for_function("() => document.getElementById('brief-board').scrollTop > 0", timeout=10_000)
        assert board.get_attribute("data-auto") == "on"
        # In the other language the frame is made again, and its boards scroll too.
        page.click("#lang")
        page.wait_for_function("() => document.getElementById('brief-board').textContent.includes('GDP')", timeout=15_000)
        page.wait_for_function("() => document.getElementById('brief-board').scrollTop > 0", timeout=10_000)
    finally:
        page.context.close()
    page = open_page(browser, f"{demo.url}&screen=rotate&every=5", 1920, 1080)
    try:
        assert page.locator("#stage").get_attribute("data-screen") == "overview"
        page.wait_for_selector('#stage[data-screen="projects"]', timeout=10_000)
        assert page.locator("#alerts").is_visible() and not page.locator(".headline").first.is_visible()
    finally:
        page.context.close()


def issue_viewer_token(demo, days):
    out = subprocess.run(
        [
            str(binary("citydash")),
            "token",
            "issue",
            "--signing-key-file",
            os.path.join(demo.data_dir, "token-signing.pem"),
            "--subject",
            "会议室大屏",
            "--role",
            "viewer",
            "--days",
            str(days),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.split()[0]


def test_the_screen_credential_leaves_the_address_is_kept_only_when_accepted_and_warns_before_it_expires(demo, browser):
    base = f"http://127.0.0.1:{demo.http_port}/"
    good = demo.tokens["viewer"]
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        page.goto(f"{base}?token={good}&screen=projects")
        page.wait_for_selector("body[data-rendered]", timeout=30_000)
        assert "token=" not in page.url and "screen=projects" in page.url
        assert page.evaluate("localStorage.getItem('citydash-token')") == good
        assert page.locator("#expiry").is_hidden(), "a year-long token gives no warning"
        # A bad token in a link does not replace the good one saved before: the screen
        # says so and goes on with the saved one.
        page.goto(f"{base}?token=garbage")
        page.wait_for_selector("body[data-rendered]", timeout=30_000)
        assert page.evaluate("localStorage.getItem('citydash-token')") == good
        assert page.locator("#expiry").get_attribute("data-warning") == "address"
        assert "地址中的令牌无效" in page.locator("#expiry").inner_text()
        # The next visit needs no token in the address.
        page.goto(base)
        page.wait_for_selector("body[data-rendered]", timeout=30_000)
        assert page.locator("#expiry").is_hidden()
    finally:
        context.close()
    # A token three days from its expiry: the screen warns, with the date.
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        page.goto(f"{base}?token={issue_viewer_token(demo, 3)}")
        page.wait_for_selector("body[data-rendered]", timeout=30_000)
        assert page.locator("#expiry").get_attribute("data-warning") == "soon"
        assert "到期" in page.locator("#expiry").inner_text()
        assert page.locator("#expiry").is_visible()
    finally:
        context.close()


def js_heap(cdp):
    """The page's JS heap after forced garbage collections, in bytes: (all of it,
    the part that is compiled code). V8 compiles more of the page's functions
    as they run more often (a bounded warm-up, not a leak), so the soak compares
    the heap without the compiled code; the whole is reported beside it."""
    for _ in range(3):
        cdp.send("HeapProfiler.collectGarbage")
    used = cdp.send("Runtime.getHeapUsage")["usedSize"]
    chunks = []

    def chunk(event):
        chunks.append(event["chunk"])

    cdp.on("HeapProfiler.addHeapSnapshotChunk", chunk)
    cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    cdp.remove_listener("HeapProfiler.addHeapSnapshotChunk", chunk)
    snapshot = json.loads("".join(chunks))
    meta = snapshot["snapshot"]["meta"]
    fields, nodes = meta["node_fields"], snapshot["nodes"]
    code = meta["node_types"][0].index("code")
    kind, size = fields.index("type"), fields.index("self_size")
    compiled = sum(nodes[k + size] for k in range(0, len(nodes), len(fields)) if nodes[k + kind] == code)
    return used, compiled


def test_a_soak_of_pushes_keeps_the_heap_and_the_number_of_charts(stubs, demo, browser):
    """CITYDASH_SOAK_PUSHES pushes (200 in CI; BENCHMARKS.md's figure is 1,000), one every 100 ms."""
    city_pb2, city_pb2_grpc, common_pb2, sector_pb2, sector_pb2_grpc = stubs
    import grpc

    pushes = int(os.environ.get("CITYDASH_SOAK_PUSHES", "200"))
    sector = sector_pb2_grpc.SectorServiceStub(grpc.insecure_channel(f"127.0.0.1:{demo.grpc_port + 1}"))
    city = city_pb2_grpc.CityServiceStub(demo.channel())

    def push(i):
        report = common_pb2.ProgressReport(
            project_code="AG-2026-01",
            period=common_pb2.Period(year=2026, month=6),
            investment_completed_yuan=7_900_000 + (i % 2) * 100_000,
        )
        sector.ReportProgress(
            sector_pb2.ReportProgressRequest(request_id=f"soak-{i}", reports=[report]),
            metadata=demo.metadata("agriculture"),
            timeout=10,
        )

    def shown_everything(page):
        """Waits until the page shows the overview the aggregator holds now."""
        version = city.GetOverview(city_pb2.GetOverviewRequest(), metadata=demo.metadata(), timeout=10).overview.data_version
        page.wait_for_function("v => Number(document.body.dataset.rendered) >= v", arg=version, timeout=60_000)
        page.wait_for_timeout(1000)

    page = open_page(browser, f"{demo.url}&screen=overview", 1920, 1080)
    try:
        cdp = page.context.new_cdp_session(page)

        def charts():
            return page.evaluate("[Number(document.body.dataset.charts), document.querySelectorAll('canvas').length]")

        started = time.time()
        for i in range(pushes):
            push(i)
            if i == 49:
                shown_everything(page)
                early, early_charts = js_heap(cdp), charts()
            time.sleep(max(0.0, started + (i + 1) * 0.1 - time.time()))
        shown_everything(page)
        late, late_charts = js_heap(cdp), charts()
        data_early, data_late = early[0] - early[1], late[0] - late[1]
        figure = {
            "pushes": pushes,
            "heap_after_50": early[0],
            "heap_at_end": late[0],
            "ratio": round(late[0] / early[0], 3),
            "compiled_code_after_50": early[1],
            "compiled_code_at_end": late[1],
            "ratio_without_compiled_code": round(data_late / data_early, 3),
            "charts": late_charts,
        }
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "soak.json").write_text(json.dumps(figure, indent=2))
        print("soak:", figure)
        assert early_charts == late_charts and late_charts[0] == late_charts[1] > 0, (early_charts, late_charts)
        assert data_late <= data_early * 1.10, figure
    finally:
        page.context.close()
