//! The `citydash` binary as an operator runs it: a token issued with the
//! private key verifies with the public key only, a template carries the Chinese headers, a
//! health check of a service that is not there fails, and a wrong flag is
//! named. (These tests are also why `cargo test --workspace` builds the
//! binary the crash tests in tests/ start as OS processes.)

use std::process::Command;

fn citydash() -> Command {
    Command::new(env!("CARGO_BIN_EXE_citydash"))
}

#[test]
fn keygen_and_issue_make_a_token_that_verifies_with_the_public_key_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = citydash()
        .args(["token", "keygen", "--out-dir"])
        .arg(dir.path())
        .status()
        .expect("run citydash");
    assert!(status.success());
    let private = dir.path().join("token-signing.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&private).expect("private key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's alone");
    }
    let out = citydash()
        .args(["token", "issue", "--signing-key-file"])
        .arg(&private)
        .args([
            "--subject",
            "市农业农村局",
            "--role",
            "agency",
            "--sector",
            "agriculture",
            "--audience",
            "agriculture",
            "--audience",
            "city",
        ])
        .output()
        .expect("run citydash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let public = std::fs::read_to_string(dir.path().join("token-verifying.pem")).expect("public key");
    let key = citydash_runtime::auth::VerifyingKey::from_pem(&public).expect("a public key");
    let claims = key.verify(token.trim(), "agriculture").expect("the token verifies");
    assert_eq!(claims.sub, "市农业农村局");
    assert_eq!(claims.sectors, ["agriculture"]);
    assert_eq!(claims.aud, ["agriculture", "city"]);
    assert!(!claims.jti.is_empty());
    assert!(
        key.verify(token.trim(), "industry").is_err(),
        "narrowed: not for another sector"
    );
    let other = tempfile::tempdir().expect("temp dir");
    citydash_lib_keygen(other.path());
    let public = std::fs::read_to_string(other.path().join("token-verifying.pem")).expect("public key");
    let other = citydash_runtime::auth::VerifyingKey::from_pem(&public).expect("a public key");
    assert!(
        other.verify(token.trim(), "agriculture").is_err(),
        "a token must not verify with another key"
    );
}

fn citydash_lib_keygen(dir: &std::path::Path) {
    citydash::token::keygen(dir).expect("keygen");
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
