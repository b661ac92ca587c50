//! The formulas at the city's scale: the overview (summed afresh, and kept
//! current after a change to one project), the day's alerts (all, and one
//! unit's) and the funnel
//! computed from a read model of 5,000 and of 100,000 projects with 24
//! months of progress each. The overview is recomputed after every burst
//! of changes, so its cost bounds how fresh the view can be and how fast an
//! empty aggregator catches up (BENCHMARKS.md, issue #9).
//!
//! `cargo bench -p citydash-aggregator --bench formulas`; CI runs it once in
//! test mode (`cargo test -p citydash-aggregator --benches`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use chrono::NaiveDate;
use citydash_aggregator::compute::{Settings, alerts, as_of, overview, projects};
use citydash_aggregator::model::CityModel;
use citydash_proto::v1::{self, ProjectStage, project_event::Event, record::Record};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// The month every figure is computed for: the last of the 24 reported.
const PERIOD: v1::Period = v1::Period { year: 2026, month: 10 };
/// The sector of the i-th project: the sectors in turn.
fn sector(i: usize) -> v1::Sector {
    let all = citydash_proto::sectors::SECTORS;
    all[i % all.len()].sector
}
const REGIONS: [&str; 4] = ["chengguan", "dongcheng", "xiang", "city"];

fn date(d: NaiveDate) -> Option<v1::Date> {
    Some(citydash_sector::domain::from_date(d))
}

fn stage(on: NaiveDate, s: ProjectStage) -> v1::ProjectEvent {
    v1::ProjectEvent {
        date: date(on),
        event: Some(Event::Stage(s as i32)),
    }
}

/// Project `i`: a deterministic mix of every stage (some funded and waiting,
/// some started but not yet in the statistics, some suspended), sizes on
/// both sides of the 5,000,000-yuan line, a 2026 monthly plan, and an
/// investment-promotion contract on every third, so that every rule and
/// every figure has work to do.
fn project(i: usize) -> v1::Project {
    let planned_start = NaiveDate::from_ymd_opt(2024, 6, 1).expect("date") + chrono::Days::new((i % 800) as u64);
    let after = |days: u64| planned_start + chrono::Days::new(days);
    let planned_total = 2_000_000 + (i as i64 % 25) * 2_000_000;
    let kind = i % 10;
    let mut events = vec![stage(after(0) - chrono::Days::new(120), ProjectStage::Declared)];
    if kind >= 2 {
        events.push(stage(after(0) - chrono::Days::new(40), ProjectStage::Funded));
    }
    if kind >= 3 {
        events.push(stage(after(10), ProjectStage::Started));
        if kind != 6 {
            events.push(v1::ProjectEvent {
                date: date(after(40)),
                event: Some(Event::InStatisticsDatabase(true)),
            });
        }
    }
    match kind {
        7 => events.push(stage(after(500), ProjectStage::Completed)),
        8 => events.push(stage(after(300), ProjectStage::InProduction)),
        9 => events.push(stage(after(200), ProjectStage::Suspended)),
        _ => {}
    }
    events.sort_by_key(|e| e.date.map(|d| (d.year, d.month, d.day)));
    let last = events.last().cloned().expect("an event");
    v1::Project {
        code: format!("P{i:06}"),
        name: format!("项目{i}"),
        sector: sector(i) as i32,
        region_code: REGIONS[i % 4].to_owned(),
        responsible_unit: format!("责任单位{}", i % 40),
        planned_total_investment_yuan: planned_total,
        planned_start_date: date(planned_start),
        planned_completion_date: date(after(720)),
        stage: match last.event {
            Some(Event::Stage(s)) => s,
            _ => ProjectStage::Started as i32,
        },
        stage_date: last.date,
        in_statistics_database: Some(kind >= 3 && kind != 6),
        statistics_date: (kind >= 3 && kind != 6).then(|| date(after(40))).flatten(),
        plans: vec![v1::InvestmentPlan {
            year: 2026,
            monthly_plan_yuan: vec![planned_total / 24; 12],
        }],
        promotion: i.is_multiple_of(3).then(|| v1::PromotionContract {
            signed_date: date(after(0) - chrono::Days::new(200)),
            investor: format!("投资方{}", i % 50),
            contracted_investment_yuan: planned_total,
        }),
        events,
        meta: None,
        kind: String::new(),
        readiness: Vec::new(),
    }
}

/// 24 months of progress, November 2024 to October 2026; a project behind
/// its plan reports less.
fn progress(i: usize, planned_total: i64) -> impl Iterator<Item = v1::ProgressReport> {
    let pace = [24, 30, 36, 48][i % 4];
    (0..24).map(move |k| {
        let m = 2024 * 12 + 10 + k;
        v1::ProgressReport {
            project_code: format!("P{i:06}"),
            period: Some(v1::Period {
                year: m / 12,
                month: m % 12 + 1,
            }),
            investment_completed_yuan: planned_total / pace,
            funds_arrived_yuan: planned_total / 30,
            status: v1::ValueStatus::Final as i32,
            ..Default::default()
        }
    })
}

fn change(sequence: i64, sector: v1::Sector, key: String, record: Record) -> v1::Change {
    v1::Change {
        sequence,
        sector: sector as i32,
        record: Some(v1::Record { record: Some(record) }),
        record_type: String::new(),
        key,
        time: None,
    }
}

/// A read model of `n` projects spread over the four sectors, built the way
/// the feed consumers build it.
fn model(n: usize) -> CityModel {
    let mut m = CityModel::default();
    let mut seq = 0;
    for i in 0..n {
        let p = project(i);
        let sector = sector(i);
        let planned_total = p.planned_total_investment_yuan;
        let started = p
            .events
            .iter()
            .any(|e| e.event == Some(Event::Stage(ProjectStage::Started as i32)));
        seq += 1;
        m.apply(sector as i32, &change(seq, sector, p.code.clone(), Record::Project(p)));
        if started {
            for r in progress(i, planned_total) {
                seq += 1;
                m.apply(sector as i32, &change(seq, sector, String::new(), Record::Progress(r)));
            }
        }
    }
    m
}

fn formulas(c: &mut Criterion) {
    let settings = Settings::default();
    let feeds = BTreeMap::new();
    let mut group = c.benchmark_group("formulas");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    for n in [5_000, 100_000] {
        let m = model(n);
        // Another period's overview: every project summed afresh.
        group.bench_with_input(BenchmarkId::new("overview_afresh", n), &m, |b, m| {
            b.iter(|| {
                let projects = projects::contributions(black_box(m), &settings, &PERIOD);
                overview::overview(m, &settings, &PERIOD, &feeds, 0, &projects)
            });
        });
        // The current period's overview after a change to one project (what
        // the aggregator recomputes after each change).
        let mut sums = projects::ProjectSums::new(&m, &settings, &PERIOD);
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("overview_after_a_change", n), &m, |b, m| {
            b.iter(|| {
                i = (i + 7919) % n;
                sums.refresh(black_box(m), &settings, sector(i) as i32, &format!("P{i:06}"));
                overview::overview(m, &settings, &PERIOD, &feeds, 0, sums.by_sector())
            });
        });
        group.bench_with_input(BenchmarkId::new("alerts_on_day", n), &m, |b, m| {
            b.iter(|| alerts::on_day(black_box(m), &settings, as_of(&PERIOD)));
        });
        // One responsible unit's list (ListAlerts with a filter).
        let unit = alerts::AlertFilter {
            responsible_unit: "责任单位7".to_owned(),
            ..Default::default()
        };
        group.bench_with_input(BenchmarkId::new("alerts_of_one_unit", n), &m, |b, m| {
            b.iter(|| alerts::matching(black_box(m), &settings, as_of(&PERIOD), &unit));
        });
        group.bench_with_input(BenchmarkId::new("funnel", n), &m, |b, m| {
            b.iter(|| projects::funnel(black_box(m), &PERIOD, None, ""));
        });
    }
    group.finish();
}

criterion_group!(benches, formulas);
criterion_main!(benches);
