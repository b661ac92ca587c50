//! The aggregator as its own process.

fn main() -> anyhow::Result<()> {
    citydash_aggregator::launch::main()
}
