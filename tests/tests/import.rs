//! Agencies' own spreadsheets in and reports out, through the public API:
//! messy sheets (merged title rows, blank lines, full-width digits, amounts
//! in 万元 or with commas, dates as Excel serials) import with a line-by-line
//! summary, bad rows import nothing unless accepted, a re-run changes nothing,
//! and exports read back.

use std::path::{Path, PathBuf};

use citydash::import::{ImportArgs, Summary, TemplateArgs, counts};
use citydash_agriculture::Agriculture;
use citydash_e2e::{Running, Sectors, TestDb, spawn_aggregator, spawn_sector};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};

fn args(kind: &str, file: &Path, dry_run: bool, accept: bool) -> ImportArgs {
    ImportArgs {
        kind: kind.into(),
        file: file.to_owned(),
        url: String::new(),
        token: None,
        dry_run,
        accept_good_rows: accept,
        confirm: None,
    }
}

async fn import(svc: &Running, kind: &str, file: &Path, dry_run: bool, accept: bool) -> Summary {
    citydash::import::run(&args(kind, file, dry_run, accept), svc.channel().await)
        .await
        .unwrap_or_else(|e| panic!("import {kind}: {e:#}"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

async fn feed_len(svc: &Running) -> usize {
    citydash_e2e::feed(svc).await.len()
}

const PROJECTS: &str = "\u{feff}2026年农业重点项目清单,,,,,,,
,,,,,,,
项目编号,项目名称,所属区域,责任单位,计划总投资（万元）,计划开工日期,项目阶段,阶段日期
AG-X1,青稞加工园,城关区,市农业农村局,\"1,200\",2026-03-01,资金已下达,2026年2月10日
AG-X2,中药材基地,dongcheng,市农业农村局,８００,46082,已开工,46097

AG-X3,冷链中心,乡镇片区,市农业农村局,0.35亿元,2026/8/1,储备,
";

const PROGRESS: &str = "项目编号,报告期,当月完成投资（万元）,是否入库,入库日期,备注
AG-X2,2026年3月,１２０.５,,,
AG-X2,2026-04,130,是,2026-04-20,
AG-X2,2026-13,10,,,月份写错
AG-NOPE,2026-04,10,,,没有这个项目
AG-X1,202604,abc,,,金额写错
AG-X1,2026年1-5月,0,,,
";

#[tokio::test]
async fn messy_sheets_import_with_a_line_by_line_summary_and_rerun_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;

    // Projects: a merged title row and a blank row above the header, Chinese
    // region names, 万元 in the header, 亿元 in a cell, full-width digits,
    // Excel serial dates and Chinese dates, Chinese stage names.
    let projects = write(dir.path(), "projects.csv", PROJECTS);
    let dry = import(&svc, "projects", &projects, true, false).await;
    assert_eq!(
        counts(&dry)["created"],
        3,
        "{}",
        dry.render(
            citydash::import::kinds::kind("projects").unwrap(),
            &projects.display().to_string()
        )
    );
    assert!(!dry.written);
    assert_eq!(feed_len(&svc).await, 0, "a dry run writes nothing");
    let done = import(&svc, "projects", &projects, false, false).await;
    assert!(done.written && done.created == 3 && done.refused.is_empty());
    let c = SectorServiceClient::new(svc.channel().await);
    let get = |code: &str| {
        let mut c = c.clone();
        let code = code.to_owned();
        async move {
            c.get_project(v1::GetProjectRequest { code })
                .await
                .expect("get")
                .into_inner()
                .project
                .expect("project")
        }
    };
    let x1 = get("AG-X1").await;
    assert_eq!(
        (x1.region_code.as_str(), x1.planned_total_investment_yuan),
        ("chengguan", 12_000_000)
    );
    assert_eq!(x1.stage, v1::ProjectStage::Funded as i32);
    assert_eq!(
        x1.stage_date,
        Some(v1::Date {
            year: 2026,
            month: 2,
            day: 10
        })
    );
    let x2 = get("AG-X2").await;
    assert_eq!(x2.planned_total_investment_yuan, 8_000_000);
    // 46082 and 46097 are Excel's 2026-03-01 and 2026-03-16.
    assert_eq!(
        x2.planned_start_date,
        Some(v1::Date {
            year: 2026,
            month: 3,
            day: 1
        })
    );
    assert_eq!(
        x2.stage_date,
        Some(v1::Date {
            year: 2026,
            month: 3,
            day: 16
        })
    );
    assert_eq!(get("AG-X3").await.planned_total_investment_yuan, 35_000_000);

    // Re-running the same file changes nothing.
    let again = import(&svc, "projects", &projects, false, false).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    let feed_after_projects = feed_len(&svc).await;
    assert_eq!(feed_after_projects, 3);

    // Progress with bad rows: the summary names line, column and reason; nothing is written.
    let progress = write(dir.path(), "progress.csv", PROGRESS);
    let dry = import(&svc, "progress", &progress, true, false).await;
    let refused: Vec<(usize, String)> = dry.refused.iter().map(|r| (r.line, r.column.clone())).collect();
    assert_eq!(
        refused,
        [
            (4, "报告期".to_owned()),
            (5, "项目编号".to_owned()),
            (6, "当月完成投资".to_owned())
        ],
        "{:?}",
        dry.refused
    );
    assert!(dry.refused[0].reason.contains("2026-13"), "{}", dry.refused[0].reason);
    assert!(dry.refused[1].reason.contains("AG-NOPE"), "{}", dry.refused[1].reason);
    assert_eq!((dry.created, dry.rows), (3, 6));
    let refused_run = import(&svc, "progress", &progress, false, false).await;
    assert!(!refused_run.written);
    assert_eq!(feed_len(&svc).await, feed_after_projects, "bad rows: nothing imported");

    // Accepting the good rows imports them, and only them.
    let accepted = import(&svc, "progress", &progress, false, true).await;
    assert!(accepted.written);
    assert_eq!((accepted.created, accepted.refused_rows()), (3, 3));
    let reports = c
        .clone()
        .list_progress(v1::ListProgressRequest {
            project_code: "AG-X2".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .reports;
    let amounts: Vec<i64> = reports.iter().map(|r| r.investment_completed_yuan).collect();
    assert_eq!(amounts, [1_205_000, 1_300_000]);
    let x2 = get("AG-X2").await;
    assert_eq!(x2.in_statistics_database, Some(true));
    let n = feed_len(&svc).await;
    let again = import(&svc, "progress", &progress, false, true).await;
    assert_eq!(again.unchanged, 3);
    assert_eq!(feed_len(&svc).await, n, "the re-run wrote nothing");
    svc.stop().await;
}

#[tokio::test]
async fn an_xlsx_sheet_with_merged_titles_and_date_cells_imports() {
    let dir = tempfile::tempdir().expect("dir");
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    // A template from the command, filled the way a clerk would in Excel.
    let template = dir.path().join("bases-template.xlsx");
    citydash::import::template(&TemplateArgs {
        kind: "bases".into(),
        out: template.clone(),
    })
    .expect("template");
    // An empty template is a valid file: its header row is recognised, no rows.
    let empty = import(&svc, "bases", &template, true, false).await;
    assert_eq!((empty.rows, empty.refused_rows()), (0, 0));
    for kind in citydash::import::kinds::KINDS {
        let csv = dir.path().join(format!("{}.csv", kind.name));
        citydash::import::template(&TemplateArgs {
            kind: kind.name.into(),
            out: csv.clone(),
        })
        .expect("template");
        let header = std::fs::read_to_string(&csv).expect("read");
        assert!(header.starts_with('\u{feff}'), "{} has a BOM for Excel", kind.name);
        assert!(header.contains(kind.columns[0].zh), "{}: {header}", kind.name);
    }

    let path = dir.path().join("bases.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .merge_range(0, 0, 0, 6, "2026年特色种养殖基地台账", &rust_xlsxwriter::Format::new())
        .expect("merge");
    let headers = [
        "基地编号",
        "基地名称",
        "所属区域",
        "责任单位",
        "产品",
        "面积（亩）",
        "存栏（头）",
        "产值（万元）",
    ];
    for (i, h) in headers.iter().enumerate() {
        sheet.write_string(1, i as u16, *h).expect("header");
    }
    let rows: [[&str; 8]; 2] = [
        [
            "BASE-A",
            "青稞基地",
            "城关区",
            "市农业农村局",
            "青稞",
            "12,000",
            "",
            "1,800",
        ],
        [
            "BASE-B",
            "藏香猪基地",
            "xiang",
            "乡镇农业服务中心",
            "藏香猪",
            "",
            "８５００",
            "900.5",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 2, c as u16, *v).expect("cell");
        }
    }
    sheet
        .write_number(4, 0, 1.0)
        .expect("a stray number below the table is a row too");
    book.save(&path).expect("save");
    let summary = import(&svc, "bases", &path, false, true).await;
    assert_eq!(summary.created, 2, "{:?}", summary.refused);
    assert_eq!(
        summary.refused_rows(),
        1,
        "the stray row is refused, not silently dropped"
    );
    let bases = citydash_proto::v1::agriculture_service_client::AgricultureServiceClient::new(svc.channel().await)
        .list_production_bases(v1::ListProductionBasesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .bases;
    let got: Vec<(String, i64, i64, i64)> = bases
        .iter()
        .map(|b| (b.code.clone(), b.area_mu, b.head_count, b.output_value_yuan))
        .collect();
    assert_eq!(
        got,
        [
            ("BASE-A".to_owned(), 12_000, 0, 18_000_000),
            ("BASE-B".to_owned(), 0, 8_500, 9_005_000)
        ]
    );
    svc.stop().await;
}

#[tokio::test]
async fn exports_read_back() {
    let dir = tempfile::tempdir().expect("dir");
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let projects = write(dir.path(), "projects.csv", PROJECTS);
    import(&sectors.services[0], "projects", &projects, false, false).await;
    let indicators = write(
        dir.path(),
        "gdp.csv",
        "指标,地区,报告期,累计值,官方增速\n地区生产总值,全市,2026年1-6月,60亿元,5.2%\n地区生产总值,甲县,2026-06,\"7,000,000,000\",6.1\n",
    );
    import(&agg, "indicators", &indicators, false, false).await;
    let targets = write(
        dir.path(),
        "targets.csv",
        "指标,地区,年度,目标值（亿元）,责任单位\ncity.gdp,city,2026,130,市发改委\n",
    );
    import(&agg, "targets", &targets, false, false).await;
    // Wait until the aggregator shows the imported GDP.
    let mut city = citydash_proto::v1::city_service_client::CityServiceClient::new(agg.channel().await);
    let june = Some(v1::Period { year: 2026, month: 6 });
    for _ in 0..200 {
        let o = city
            .get_overview(v1::GetOverviewRequest { period: june })
            .await
            .expect("overview")
            .into_inner();
        let gdp = o.overview.as_ref().and_then(|o| {
            o.city_indicators
                .iter()
                .find(|s| s.definition.as_ref().is_some_and(|d| d.code == "city.gdp"))
                .cloned()
        });
        if gdp.is_some_and(|g| g.actual == Some(6_000_000_000) && g.target == Some(13_000_000_000)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let export = |what: &str, file: &str, url: String| citydash::export::ExportArgs {
        what: what.into(),
        out: dir.path().join(file),
        url,
        token: None,
        period: Some("2026-06".into()),
        language: "zh".into(),
        units_url: format!("http://{}", agg.addr),
    };
    citydash::export::run(&export("overview", "overview.csv", String::new()), agg.channel().await)
        .await
        .expect("overview csv");
    let text = std::fs::read_to_string(dir.path().join("overview.csv")).expect("read");
    assert!(text.starts_with("\u{feff}指标,单位,本期累计,全年目标"), "{text}");
    assert!(
        text.contains("地区生产总值,万元,600000.00,1300000.00,5.20,46.15,50.00,-3.85,绿,市发改委"),
        "{text}"
    );
    // The outlook: 70亿 remain, 7,000,000,000 / 6 months rounded up = 116666.67万 a month; no 2025
    // figures, so no growth and a straight-pace landing: 60亿 × 12 / 6 = 120亿, 92.31% of 130亿.
    assert!(
        text.contains("市发改委,700000.00,116666.67,不适用,不适用,1200000.00,92.31,—"),
        "{text}"
    );
    citydash::export::run(&export("overview", "overview.xlsx", String::new()), agg.channel().await)
        .await
        .expect("overview xlsx");
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(dir.path().join("overview.xlsx")).expect("open");
    let range = book.worksheet_range("指标完成情况").expect("sheet");
    assert_eq!(range.get_value((0, 0)), Some(&calamine::Data::String("指标".into())));
    assert_eq!(range.get_value((1, 2)), Some(&calamine::Data::Float(600_000.0)));
    citydash::export::run(
        &export("projects", "projects.xlsx", String::new()),
        sectors.services[0].channel().await,
    )
    .await
    .expect("projects");
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(dir.path().join("projects.xlsx")).expect("open");
    let range = book.worksheet_range("项目清单").expect("sheet");
    assert_eq!(range.height(), 4, "header and three projects");
    citydash::export::run(&export("alerts", "alerts.csv", String::new()), agg.channel().await)
        .await
        .expect("alerts");
    let alerts = std::fs::read_to_string(dir.path().join("alerts.csv")).expect("read");
    assert!(
        alerts.contains("资金已下达未开工") || alerts.contains("未按期开工"),
        "{alerts}"
    );
    citydash::export::run(&export("brief", "brief.md", String::new()), agg.channel().await)
        .await
        .expect("brief");
    let brief = std::fs::read_to_string(dir.path().join("brief.md")).expect("read");
    assert!(brief.starts_with("# 2026年1—6月经济运行情况"), "{brief}");
    assert!(
        brief.contains("地区生产总值完成60.00亿元，同比增长5.2%，完成了全年目标任务的46.2%"),
        "{brief}"
    );
    agg.stop().await;
}

async fn try_import(svc: &Running, kind: &str, file: &Path, dry_run: bool) -> anyhow::Result<Summary> {
    citydash::import::run(&args(kind, file, dry_run, false), svc.channel().await).await
}

async fn project_x1_progress(svc: &Running) -> Vec<(i32, i64)> {
    SectorServiceClient::new(svc.channel().await)
        .list_progress(v1::ListProgressRequest {
            project_code: "AG-X1".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .reports
        .iter()
        .map(|r| (r.period.map_or(0, |p| p.month), r.investment_completed_yuan))
        .collect()
}

/// The statistics bureau's and the agencies' own headings: a cumulative
/// sheet is never read as months, a missing required column refuses the
/// whole file (naming it and the headers seen), header variants import the
/// right amount, totals are skipped and reported, a bad value is shown as
/// typed in the sheet's unit, a repeated row names the line it repeats.
#[tokio::test]
async fn imports_fail_closed_and_read_the_headers_clerks_write() {
    let dir = tempfile::tempdir().expect("dir");
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let projects = write(dir.path(), "projects.csv", PROJECTS);
    import(&svc, "projects", &projects, false, false).await;
    let first = write(
        dir.path(),
        "first.csv",
        "项目编号,报告期,当月完成投资（万元）,项目阶段,阶段日期\nAG-X1,2026-04,500,已开工,2026-04-02\n",
    );
    import(&svc, "progress", &first, false, false).await;
    assert_eq!(project_x1_progress(&svc).await, [(4, 5_000_000)]);
    let feed = feed_len(&svc).await;

    // A cumulative column, or no amount column at all: refused whole.
    for (name, text) in [
        (
            "cumulative.csv",
            "项目编号,报告期,1—6月累计完成投资（万元）\nAG-X1,2026-04,0\n",
        ),
        ("no-amount.csv", "项目编号,报告期,备注\nAG-X1,2026-04,补报\n"),
    ] {
        let file = write(dir.path(), name, text);
        for dry_run in [true, false] {
            let err = try_import(&svc, "progress", &file, dry_run).await.expect_err(name);
            let refused = err
                .downcast_ref::<citydash::import::FileRefused>()
                .unwrap_or_else(|| panic!("{name}: {err:#}"));
            assert!(refused.reason.contains("「当月完成投资」"), "{}", refused.reason);
            assert!(refused.reason.contains("项目编号、报告期"), "{}", refused.reason);
        }
    }
    assert_eq!(feed_len(&svc).await, feed, "a refused file writes nothing");
    assert_eq!(project_x1_progress(&svc).await, [(4, 5_000_000)]);

    // Header variants clerks write, a total row and a value in 万元.
    let variants = write(
        dir.path(),
        "variants.csv",
        "项目编号,报告期,本月完成投资额（万元）,填报人\nAG-X1,2026-05,300,张三\n合计,,300,\n",
    );
    let dry = import(&svc, "progress", &variants, true, false).await;
    assert_eq!(
        (dry.created, dry.refused_rows(), dry.skipped.len()),
        (1, 0, 1),
        "{dry:?}"
    );
    assert_eq!(dry.skipped[0].line, 3);
    assert!(dry.skipped[0].reason.contains("合计"), "{:?}", dry.skipped);
    assert_eq!(dry.ignored_columns, ["填报人"]);
    import(&svc, "progress", &variants, false, false).await;
    let spaced = write(
        dir.path(),
        "spaced.csv",
        "项目编号,报告期,本月完成投资 万元\nAG-X1,2026-06,２５０\n",
    );
    import(&svc, "progress", &spaced, false, false).await;
    assert_eq!(
        project_x1_progress(&svc).await,
        [(4, 5_000_000), (5, 3_000_000), (6, 2_500_000)]
    );

    let feed = feed_len(&svc).await;
    let bad = write(
        dir.path(),
        "bad.csv",
        "项目编号,报告期,当月完成投资（万元）\nAG-X1,2026-07,-300\nAG-X2,2026-07,10\nAG-X2,2026-07,20\n",
    );
    let dry = import(&svc, "progress", &bad, true, false).await;
    let reasons: Vec<(usize, &str, &str)> = dry
        .refused
        .iter()
        .map(|r| (r.line, r.column.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (2, "当月完成投资", "「-300」（万元）不能为负数"),
            (
                4,
                "项目编号",
                "与第 3 行重复（项目编号、报告期相同），同一记录只能出现一次"
            ),
        ]
    );
    let rejected = import(&svc, "progress", &bad, false, false).await;
    assert!(!rejected.written);
    assert_eq!(feed_len(&svc).await, feed, "refused rows: nothing written");

    // An unknown region is refused naming the closest registered one.
    let typo = write(
        dir.path(),
        "typo.csv",
        "项目编号,项目名称,所属区域,责任单位,计划总投资（万元）\nAG-X9,新项目,城官区,市农业农村局,600\n",
    );
    let dry = import(&svc, "projects", &typo, true, false).await;
    assert_eq!(dry.refused.len(), 1, "{dry:?}");
    assert!(dry.refused[0].reason.contains("城关区"), "{}", dry.refused[0].reason);
    // So is an unknown indicator, by the service, with the closest catalog names.
    let typo = write(
        dir.path(),
        "indicator-typo.csv",
        "指标,地区,报告期,累计值
农林牧鱼业总产值,全市,2026-06,100
",
    );
    let dry = import(&svc, "indicators", &typo, true, false).await;
    assert_eq!(
        (dry.refused.len(), dry.refused[0].column.as_str()),
        (1, "指标"),
        "{dry:?}"
    );
    assert!(
        dry.refused[0].reason.contains("农林牧渔业总产值"),
        "{}",
        dry.refused[0].reason
    );
    svc.stop().await;
}

/// The statistics bureau's sheet headed `1—6月累计（万元）` sets GDP, never 0.
#[tokio::test]
async fn a_cumulative_indicator_sheet_imports_its_amounts() {
    let dir = tempfile::tempdir().expect("dir");
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let sheet = write(
        dir.path(),
        "stats.csv",
        "指标,地区,报告期,1—6月累计（万元）,同比增长（%）\n地区生产总值,全市,2026年1—6月,\"630,000\",4.2\n",
    );
    let dry = import(&agg, "indicators", &sheet, true, false).await;
    assert_eq!((dry.created, dry.refused_rows()), (1, 0), "{dry:?}");
    import(&agg, "indicators", &sheet, false, false).await;
    let values = SectorServiceClient::new(agg.channel().await)
        .list_indicator_values(v1::ListIndicatorValuesRequest {
            indicator_code: "city.gdp".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .values;
    let got: Vec<(i64, Option<i32>)> = values.iter().map(|v| (v.value, v.official_yoy_growth_bp)).collect();
    assert_eq!(got, [(6_300_000_000, Some(420))]);
    agg.stop().await;
}

/// `citydash import` tells a script what happened by its exit code: 0
/// imported, 3 rows refused (a dry run too), 4 the file refused whole; the
/// reasons are printed in Chinese.
#[tokio::test]
async fn the_import_command_exits_with_a_code_of_its_own_for_refusals() {
    let dir = tempfile::tempdir().expect("dir");
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let projects = write(dir.path(), "projects.csv", PROJECTS);
    let run = |kind: &str, file: &Path, dry_run: bool| {
        let mut cmd = std::process::Command::new(citydash_e2e::citydash_binary());
        cmd.args(["import", kind])
            .arg(file)
            .args(["--url", &format!("http://{}", svc.addr), "--token", &svc.token]);
        if dry_run {
            cmd.arg("--dry-run");
        }
        cmd.env("RUST_LOG", "warn").output().expect("run citydash")
    };
    let ok = run("projects", &projects, false);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = write(
        dir.path(),
        "bad.csv",
        "项目编号,报告期,当月完成投资（万元）\nAG-X1,2026-07,-300\n",
    );
    let dry = run("progress", &bad, true);
    assert_eq!(dry.status.code(), Some(citydash::import::EXIT_ROWS_REFUSED));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("「-300」（万元）不能为负数"), "{out}");
    assert_eq!(run("progress", &bad, false).status.code(), Some(3));
    let no_amount = write(
        dir.path(),
        "no-amount.csv",
        "项目编号,报告期,备注\nAG-X1,2026-04,补报\n",
    );
    let refused = run("progress", &no_amount, false);
    assert_eq!(refused.status.code(), Some(citydash::import::EXIT_FILE_REFUSED));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("缺少必填列「当月完成投资」"), "{err}");

    // `push progress` refuses a finding unless --confirm explains it.
    let push = |confirm: Option<&str>| {
        let mut cmd = std::process::Command::new(citydash_e2e::citydash_binary());
        cmd.args([
            "push",
            "progress",
            "--url",
            &format!("http://{}", svc.addr),
            "--token",
            &svc.token,
        ])
        .args([
            "--project",
            "AG-X3",
            "--period",
            "2026-06",
            "--investment-yuan",
            "1000000",
        ]);
        if let Some(c) = confirm {
            cmd.args(["--confirm", c]);
        }
        cmd.env("RUST_LOG", "warn").output().expect("run citydash")
    };
    let refused = push(None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("尚未开工"));
    let confirmed = push(Some("前期费用，已核实"));
    assert!(
        confirmed.status.success(),
        "{}",
        String::from_utf8_lossy(&confirmed.stderr)
    );
    svc.stop().await;
}

/// A row with a plausibility finding is refused with the reason and how to
/// confirm it; an 审核说明 cell, or `--confirm` for the whole file, confirms it.
#[tokio::test]
async fn a_finding_is_confirmed_by_an_explanation_column_or_for_the_whole_file() {
    let dir = tempfile::tempdir().expect("dir");
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    import(
        &svc,
        "projects",
        &write(dir.path(), "projects.csv", PROJECTS),
        false,
        false,
    )
    .await;
    // AG-X3 is still in reserve: investment reported for it is a finding.
    let plain = write(
        dir.path(),
        "plain.csv",
        "项目编号,报告期,当月完成投资（万元）\nAG-X3,2026-06,100\n",
    );
    let dry = import(&svc, "progress", &plain, true, false).await;
    assert_eq!(dry.refused.len(), 1, "{dry:?}");
    assert!(
        dry.refused[0].reason.contains("尚未开工") && dry.refused[0].reason.contains("审核说明"),
        "{}",
        dry.refused[0].reason
    );
    let explained = write(
        dir.path(),
        "explained.csv",
        "项目编号,报告期,当月完成投资（万元）,审核说明\nAG-X3,2026-06,100,前期工作费用，已核实\n",
    );
    let done = import(&svc, "progress", &explained, false, false).await;
    assert!(done.written && done.refused.is_empty(), "{done:?}");
    let mut whole = args("progress", &plain, false, false);
    whole.confirm = Some("前期费用，已核实".into());
    let again = citydash::import::run(&whole, svc.channel().await)
        .await
        .expect("confirmed file");
    assert!(again.refused.is_empty(), "{again:?}");
    let reports = SectorServiceClient::new(svc.channel().await)
        .list_progress(v1::ListProgressRequest {
            project_code: "AG-X3".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .reports;
    assert_eq!(reports[0].confirmations[0].explanation, "前期费用，已核实");
    svc.stop().await;
}
