//! The welfare service as its own process.

fn main() -> anyhow::Result<()> {
    citydash_sector::launch::main::<citydash_welfare::Welfare>()
}
