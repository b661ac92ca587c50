//! The `citydash` binary as an operator runs it: a token issued from a key
//! file verifies with that key, a template carries the Chinese headers, a
//! health check of a service that is not there fails, and a wrong flag is
//! named. (These tests are also why `cargo test --workspace` builds the
//! binary the crash tests in tests/ start as OS processes.)

use std::process::Command;

fn citydash() -> Command {
    Command::new(env!("CARGO_BIN_EXE_citydash"))
}

#[test]
fn an_issued_token_verifies_with_the_key_file_it_was_signed_with() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key");
    std::fs::write(&key, "cli-test-signing-key-0123456789abcdef\n").expect("key file");
    let out = citydash()
        .args(["token", "issue", "--key-file"])
        .arg(&key)
        .args([
            "--subject",
            "市农业农村局",
            "--role",
            "agency",
            "--sector",
            "agriculture",
        ])
        .output()
        .expect("run citydash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let claims = citydash_runtime::auth::TokenKey::new(b"cli-test-signing-key-0123456789abcdef".to_vec())
        .and_then(|k| k.verify(token.trim()))
        .expect("the token verifies");
    assert_eq!(claims.sub, "市农业农村局");
    assert_eq!(claims.sectors, ["agriculture"]);
    let other = citydash_runtime::auth::TokenKey::new(b"another-key-0123456789abcdef-0123456".to_vec()).expect("key");
    assert!(
        other.verify(token.trim()).is_err(),
        "a token must not verify with another key"
    );
}

#[test]
fn a_template_has_the_chinese_headers_and_a_bom_for_excel() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("progress.csv");
    let status = citydash()
        .args(["template", "progress"])
        .arg(&file)
        .status()
        .expect("run");
    assert!(status.success());
    let text = std::fs::read_to_string(&file).expect("template");
    let header = text.strip_prefix('\u{feff}').expect("BOM first");
    assert!(header.starts_with("项目编号,报告期,当月完成投资（元）"), "{header}");
}

#[test]
fn a_health_check_of_nothing_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let out = citydash()
        .args(["health", "--url", &format!("http://127.0.0.1:{port}")])
        .output()
        .expect("run");
    assert!(!out.status.success(), "health of a closed port must fail");
}

#[test]
fn a_wrong_flag_is_named() {
    let out = citydash()
        .args(["serve", "agriculture", "--listen", "not-an-address"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen"), "{err}");
}
