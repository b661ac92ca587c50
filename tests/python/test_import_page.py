"""The clerk's import page in headless Chromium against the demo (issue 18):
the tourism bureau's clerk types the agency token, downloads the template,
uploads a real CSV file with one bad row and reads the refusal with its line
and column in Chinese, fixes the file, imports it, and the wall screen, open
beside it, shows the new figure without a reload. The page fits a phone."""

from pathlib import Path

from citydash_stubs import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
# The demo leaves June's overnight visitors unreported: the clerk sends them.
INDICATOR = "tourism.overnight_visitors"


def base(demo):
    return demo.url.split("/?")[0]


def sheet(tmp: Path, name: str, value: str) -> str:
    path = tmp / name
    path.write_text(f"指标,地区,报告期,累计值（人次）,审核说明\n过夜游客,全市,2026-06,{value},\n", encoding="utf-8")
    return str(path)


def test_a_clerk_fixes_a_refused_row_imports_and_the_wall_shows_it(demo, browser, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wall = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    wall.goto(f"{demo.url}&screen=overview")
    wall.wait_for_selector("body[data-rendered]", timeout=30_000)
    row = wall.locator(f'tr[data-indicator="{INDICATOR}"]')
    before = row.text_content()
    assert "数据缺失" in before or "缺" in before, before

    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.goto(f"{base(demo)}/import")
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    page.fill("#token", demo.tokens["tourism"])
    assert "市文旅局" in page.text_content("#who")
    assert page.input_value("#service") == "tourism", "the token's own service is chosen"
    page.select_option("#kind", "indicators")
    assert "累计值" in page.text_content("#columns")

    # The template downloads as a workbook.
    with page.expect_download() as download:
        page.click("#template-xlsx")
    template = Path(download.value.path()).read_bytes()
    assert template[:2] == b"PK", "an XLSX file is a zip"

    # One bad row: refused by line and column, in Chinese; nothing to confirm.
    page.set_input_files("#file", sheet(tmp_path, "过夜游客.csv", "十五万"))
    page.click("#check")
    page.wait_for_selector("#refused tbody tr", timeout=30_000)
    refusal = page.text_content("#refused tbody tr")
    assert "第 2 行" in refusal and "「累计值」" in refusal, refusal
    assert page.text_content('#summary li[data-count="refused"] b') == "1"
    assert page.is_disabled("#write")
    page.screenshot(path=str(ARTIFACTS / "import-refused.png"), full_page=True)

    # Fixed (a large month, explained for the plausibility check): the dry
    # run passes, the clerk confirms, the wall shows the figure.
    page.set_input_files("#file", sheet(tmp_path, "过夜游客.csv", "1520000"))
    page.fill("#confirm", "暑期前研学团集中到访，经核实无误")
    page.click("#check")
    page.wait_for_function("document.querySelector('#result').dataset.state === 'ok'", timeout=30_000)
    assert page.text_content('#summary li[data-count="created"] b') == "1"
    assert page.is_enabled("#write")
    page.click("#write")
    page.wait_for_function("document.querySelector('#result').dataset.state === 'written'", timeout=30_000)
    assert "导入完成" in page.text_content("#result"), page.text_content("#result")
    page.screenshot(path=str(ARTIFACTS / "import-written.png"), full_page=True)

    wall.wait_for_function(
        f"!document.querySelector('tr[data-indicator=\"{INDICATOR}\"]').textContent.includes('数据缺失')",
        timeout=30_000,
    )
    after = row.text_content()
    assert "152" in after, after

    # Sent again, it changes nothing.
    page.click("#check")
    page.wait_for_function("document.querySelector('#result').dataset.state === 'ok'", timeout=30_000)
    assert page.text_content('#summary li[data-count="unchanged"] b') == "1"


def test_the_import_page_refuses_a_missing_token_and_fits_a_phone(demo, browser, tmp_path):
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{base(demo)}/import")
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, width
    # A token that is not the service's: the service's refusal, in Chinese.
    page.fill("#token", demo.tokens["welfare"])
    page.select_option("#service", "tourism")
    page.select_option("#kind", "indicators")
    page.set_input_files("#file", sheet(tmp_path, "x.csv", "1"))
    page.click("#check")
    page.wait_for_function("document.querySelector('#error').textContent.length > 0", timeout=30_000)
    assert "无权" in page.text_content("#error"), page.text_content("#error")
