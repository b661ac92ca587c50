//! Mutual TLS, the deployment option: the client certificate, signed by the
//! city's CA, names the agency (CN), its role (OU) and its scope (URI SANs).
//! A certificate of the right sector writes; another sector's is refused; a
//! client without a certificate cannot connect at all.

use std::time::Duration;

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::project;
use citydash_e2e::{TestDb, request_id, spawn_sector_unchecked};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    ca: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "citydash test city CA");
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("CA");
        Self {
            dir: tempfile::tempdir().expect("dir"),
            ca_pem: cert.pem(),
            ca: Issuer::new(params, key),
        }
    }

    /// Writes a certificate and key signed by the CA; returns their paths.
    fn issue(&self, name: &str, params: CertificateParams) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        let cert_path = self.dir.path().join(format!("{name}.pem"));
        let key_path = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        (cert_path.display().to_string(), key_path.display().to_string())
    }

    fn agency(&self, file: &str, cn: &str, role: &str, sector: &str) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.distinguished_name.push(DnType::OrganizationalUnitName, role);
        params.subject_alt_names = vec![SanType::URI(
            format!("urn:citydash:sector:{sector}").try_into().expect("uri"),
        )];
        self.issue(file, params)
    }

    fn ca_path(&self) -> String {
        let path = self.dir.path().join("ca.pem");
        std::fs::write(&path, &self.ca_pem).expect("write CA");
        path.display().to_string()
    }
}

async fn connect(port: u16, pki: &Pki, client: Option<&(String, String)>) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    if let Some((cert, key)) = client {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(cert).expect("cert"),
            std::fs::read(key).expect("key"),
        ));
    }
    Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

#[tokio::test]
async fn the_client_certificate_names_the_agency() {
    let pki = Pki::new();
    let ca = pki.ca_path();
    let (server_cert, server_key) = pki.issue(
        "server",
        CertificateParams::new(vec!["localhost".to_owned()]).expect("params"),
    );
    let agri = pki.agency("agri", "市农业农村局", "agency", "agriculture");
    let industry = pki.agency("industry", "市工信局", "agency", "industry");
    let db = TestDb::new().await;
    let svc = spawn_sector_unchecked::<Agriculture>(
        &db,
        &[
            "--tls-cert",
            &server_cert,
            "--tls-key",
            &server_key,
            "--tls-client-ca",
            &ca,
        ],
    )
    .await;
    let port = svc.addr.port();

    // Wait until the service answers over TLS with a valid client certificate.
    let mut channel = None;
    for _ in 0..100 {
        if let Ok(ch) = connect(port, &pki, Some(&agri)).await {
            let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
            if health
                .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                .await
                .is_ok()
            {
                channel = Some(ch);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut c = SectorServiceClient::new(channel.expect("the TLS service came up"));
    let request = |code: &str| v1::UpsertProjectsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        projects: vec![project(code, "city", 6_000_000)],
    };
    c.upsert_projects(request("TLS-1"))
        .await
        .expect("the agriculture bureau writes");
    let p = c
        .get_project(v1::GetProjectRequest { code: "TLS-1".into() })
        .await
        .expect("get")
        .into_inner()
        .project
        .expect("project");
    assert_eq!(p.meta.expect("meta").updated_by, "市农业农村局");

    let mut other = SectorServiceClient::new(connect(port, &pki, Some(&industry)).await.expect("industry connects"));
    let err = other
        .upsert_projects(request("TLS-2"))
        .await
        .expect_err("another sector");
    assert_eq!(err.code(), Code::PermissionDenied);

    // Without a client certificate the handshake fails: nothing reaches the service.
    let refused = match connect(port, &pki, None).await {
        Err(_) => true,
        Ok(ch) => SectorServiceClient::new(ch)
            .list_projects(v1::ListProjectsRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    svc.stop().await;
}
