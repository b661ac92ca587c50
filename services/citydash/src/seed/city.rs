//! The demo city's the city level (GDP, investment, revenue, targets, peer counties).

use super::common::*;

/// The city level: each bureau pushes its own figure (GDP and the targets
/// the statistics bureau, investment development and reform, revenue
/// finance), as the catalog's writer roles require.
pub(super) async fn seed(e: &Endpoints) -> anyhow::Result<()> {
    let mut gdp = two_years("city.gdp", 12_860 * M, 13_400 * M, &SEASON);
    for v in gdp.iter_mut().filter(|v| v.period.is_some_and(|p| p.year == 2026)) {
        v.official_yoy_growth_bp = Some(420);
    }
    gdp.extend([
        peer("city.gdp", "county_a", 2026, 7_020 * M, Some(610)),
        peer("city.gdp", "county_b", 2026, 5_480 * M, Some(530)),
    ]);
    let mut investment = two_years("city.fixed_asset_investment", 4_200 * M, 3_050 * M, &BUILD_SEASON);
    investment.push(peer(
        "city.fixed_asset_investment",
        "county_a",
        2026,
        1_720 * M,
        Some(820),
    ));
    let mut revenue = two_years("city.budget_revenue", 560 * M, 580 * M, &SEASON);
    revenue.extend([
        peer("city.budget_revenue", "county_a", 2026, 301 * M, None),
        peer("city.budget_revenue", "county_a", 2025, 286 * M, None),
        peer("city.budget_revenue", "county_b", 2026, 233 * M, None),
        peer("city.budget_revenue", "county_b", 2025, 219 * M, None),
    ]);
    let targets = vec![
        target("city.gdp", 13_890 * M, "市发改委"),
        target("city.fixed_asset_investment", 4_620 * M, "市发改委"),
        target("city.budget_revenue", 600 * M, "市财政局"),
    ];
    push_shared(&e.city, "city-gdp", &[], Vec::new(), gdp, targets).await?;
    push_shared(
        &e.development_reform,
        "city-investment",
        &[],
        Vec::new(),
        investment,
        Vec::new(),
    )
    .await?;
    push_shared(&e.finance, "city-revenue", &[], Vec::new(), revenue, Vec::new()).await
}
