//! Compiles proto/citydash/v1 with protox (pure Rust, no system protoc) and
//! generates the prost messages and tonic services. The encoded descriptor set
//! is written next to the code for server reflection.

use std::path::PathBuf;

use prost::Message;

const FILES: &[&str] = &[
    "citydash/v1/common.proto",
    "citydash/v1/sector.proto",
    "citydash/v1/agriculture.proto",
    "citydash/v1/industry.proto",
    "citydash/v1/tourism.proto",
    "citydash/v1/welfare.proto",
    "citydash/v1/city.proto",
    "citydash/v1/orders.proto",
    "citydash/v1/notifications.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=citydash");
    let fds = protox::compile(FILES, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("citydash_descriptor.bin"), fds.encode_to_vec())?;
    let mut config = prost_build::Config::new();
    // Type names let sector entities travel in the change feed as `Any`.
    config.enable_type_names();
    config.type_name_domain(["."], "type.googleapis.com");
    tonic_prost_build::configure().compile_fds_with_config(fds, config)?;
    Ok(())
}
