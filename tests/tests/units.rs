//! Responsible units are data (issue 14, DOMAIN.md): the administrator
//! registers units on the aggregator; a sector resolves the name, short name
//! or alias a push gives to the unit's code and refuses an unknown or retired
//! one with the closest registered names; alerts and the supervision report
//! show the registered name, so one bureau never ranks twice; a rename changes
//! every view and no stored record.

use std::time::Duration;

use citydash_e2e::fixtures::{date, project};
use citydash_e2e::{request_id, token, violated_fields};
use citydash_proto::v1::{
    self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient,
    units_service_client::UnitsServiceClient,
};
use citydash_runtime::auth::Role;
use tonic::Code;

fn unit(code: &str, name: &str, short: &[&str]) -> v1::ResponsibleUnit {
    v1::ResponsibleUnit {
        code: code.into(),
        name_zh: name.into(),
        short_names: short.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

fn register(units: Vec<v1::ResponsibleUnit>, mask: &[&str]) -> v1::RegisterUnitsRequest {
    v1::RegisterUnitsRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: (!mask.is_empty()).then(|| prost_types::FieldMask {
            paths: mask.iter().map(|p| (*p).to_owned()).collect(),
        }),
        units,
    }
}

fn funded(code: &str, unit: &str) -> v1::Project {
    v1::Project {
        responsible_unit: unit.into(),
        stage: v1::ProjectStage::Funded as i32,
        stage_date: date(2026, 3, 1),
        ..project(code, "city", 8_000_000)
    }
}

#[tokio::test]
async fn units_resolve_to_one_code_and_every_view_shows_the_registered_name() {
    let (agg, agri, _agg_db, _agri_db) = citydash_e2e::spawn_agriculture_reading_the_city().await;
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let mut registry = UnitsServiceClient::new(agg.channel_as(&admin).await);

    // Only the administrator registers units.
    let err = UnitsServiceClient::new(agg.channel().await)
        .register_units(register(vec![unit("x", "某局", &[])], &[]))
        .await
        .expect_err("not an admin");
    assert_eq!(err.code(), Code::PermissionDenied);
    registry
        .register_units(register(
            vec![
                unit("nyncj", "市农业农村局", &["农业农村局"]),
                unit("gxj", "市工信局", &["工信局"]),
            ],
            &[],
        ))
        .await
        .expect("register");
    // A name may belong to one unit only.
    let err = registry
        .register_units(register(vec![unit("dup", "农业农村局", &[])], &[]))
        .await
        .expect_err("a taken name");
    assert_eq!(violated_fields(&err), ["units[0].name_zh"]);

    // The full name and the short name resolve to the same code.
    let mut c = SectorServiceClient::new(agri.channel().await);
    let upsert = |projects| v1::UpsertProjectsRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        projects,
    };
    c.upsert_projects(upsert(vec![
        funded("AG-U1", "农业农村局"),
        funded("AG-U2", "市农业农村局"),
    ]))
    .await
    .expect("resolved");
    let reader = c.clone();
    let stored = |code: &str| {
        let mut c = reader.clone();
        let code = code.to_owned();
        async move {
            c.get_project(v1::GetProjectRequest { code })
                .await
                .expect("get")
                .into_inner()
                .project
                .expect("project")
                .responsible_unit
        }
    };
    assert_eq!(
        (stored("AG-U1").await, stored("AG-U2").await),
        ("nyncj".into(), "nyncj".into())
    );

    // A typo is refused with the closest registered name; nothing is written.
    let err = c
        .upsert_projects(upsert(vec![funded("AG-U3", "市农业农材局")]))
        .await
        .expect_err("unknown unit");
    assert_eq!(violated_fields(&err), ["projects[0].responsible_unit"]);
    assert!(err.message().contains("市农业农村局"), "{}", err.message());

    // The city view ranks one unit, by its registered name.
    let mut city = CityServiceClient::new(agg.channel().await);
    let june = Some(v1::Period { year: 2026, month: 6 });
    let lists = city.clone();
    let alerts_of = |unit: &str| {
        let mut city = lists.clone();
        let unit = unit.to_owned();
        async move {
            city.list_alerts(v1::ListAlertsRequest {
                period: june,
                responsible_unit: unit,
                code: v1::AlertCode::FundedNotStarted as i32,
                ..Default::default()
            })
            .await
            .expect("alerts")
            .into_inner()
            .alerts
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let alerts = loop {
        let alerts = alerts_of("").await;
        if alerts.len() == 2 && alerts.iter().all(|a| a.responsible_unit == "市农业农村局") {
            break alerts;
        }
        assert!(tokio::time::Instant::now() < deadline, "{alerts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(alerts.iter().all(|a| a.responsible_unit_code == "nyncj"));
    assert_eq!(
        alerts_of("农业农村局").await.len(),
        2,
        "a unit asked for by its short name"
    );
    let report = city
        .get_supervision_report(v1::GetSupervisionReportRequest {
            date: date(2026, 6, 30),
        })
        .await
        .expect("report")
        .into_inner()
        .report
        .expect("report");
    let names: Vec<&str> = report.units.iter().map(|u| u.responsible_unit.as_str()).collect();
    assert_eq!(names, ["市农业农村局"], "one bureau, ranked once");
    let drill = city
        .get_sector_project(v1::GetSectorProjectRequest {
            sector: v1::Sector::Agriculture as i32,
            code: "AG-U1".into(),
        })
        .await
        .expect("drill-down")
        .into_inner();
    assert_eq!(drill.responsible_unit_name, "市农业农村局");

    // A rename changes every view, not the stored records.
    registry
        .register_units(register(
            vec![unit("nyncj", "市农业农村和乡村振兴局", &[])],
            &["name_zh"],
        ))
        .await
        .expect("rename");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !alerts_of("")
        .await
        .iter()
        .all(|a| a.responsible_unit == "市农业农村和乡村振兴局")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rename did not reach the view"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored("AG-U1").await, "nyncj");
    // The short name still resolves; the renamed unit's old full name no longer does.
    c.upsert_projects(upsert(vec![funded("AG-U4", "农业农村局")]))
        .await
        .expect("short name after the rename");

    // A retired unit is refused in new pushes.
    let mut retired = unit("gxj", "市工信局", &["工信局"]);
    retired.retired = true;
    registry
        .register_units(register(vec![retired], &[]))
        .await
        .expect("retire");
    tokio::time::sleep(citydash_sector::units::REFRESH_AFTER).await;
    let err = c
        .upsert_projects(upsert(vec![funded("AG-U5", "工信局")]))
        .await
        .expect_err("retired");
    assert!(err.message().contains("已撤销"), "{}", err.message());
    let listed = registry
        .list_units(v1::ListUnitsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .units;
    let codes: Vec<&str> = listed.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(codes, ["gxj", "nyncj"]);
    agri.stop().await;
    agg.stop().await;
}
