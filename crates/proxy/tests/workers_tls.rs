//! The workers tell the app who asks and whether over TLS, with the
//! certificate modgate-net's TLS loads.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use modgate_net::tls::{CertFiles, server_config};
use modgate_proxy::workers::{self, ClientAddr, Limits, ViaTls};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// A CA, and a certificate for 127.0.0.1 it issued, written to `dir`.
fn issued(dir: &std::path::Path) -> (String, CertFiles) {
    let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_pem = params.self_signed(&ca_key).unwrap().pem();
    let issuer = rcgen::Issuer::new(params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let files = CertFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    fs_err::write(&files.cert, cert.pem()).unwrap();
    fs_err::write(&files.key, key.serialize_pem()).unwrap();
    (ca_pem, files)
}

/// GET / over `stream` (HTTP/1.1); the body of the answer.
fn get(mut stream: impl std::io::Read + std::io::Write) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    // A peer that closes without close_notify still sent the answer.
    let _ = stream.read_to_string(&mut answer);
    answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

/// The workers tell the app who asks and whether over TLS.
#[test]
fn requests_carry_the_client_address_and_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, files) = issued(dir.path());
    let app =
        axum::Router::new().route(
            "/",
            axum::routing::get(
                |Extension(ClientAddr(addr)): Extension<ClientAddr>,
                 tls: Option<Extension<ViaTls>>| async move {
                    format!("{addr} {}", tls.is_some())
                },
            ),
        );
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    for tls in [None, Some(server_config(files.clone()).unwrap())] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (app, over_tls) = (app.clone(), tls.is_some());
        let server = std::thread::spawn(move || {
            let limits = Limits {
                max_connections: 4,
                max_connections_per_client: 4,
                header_read_timeout: Duration::from_secs(30),
                shutdown_timeout: Duration::from_secs(5),
                release_memory: || {},
            };
            let main = async {
                let _ = stopped.await;
            };
            workers::run(
                listener,
                app,
                tls,
                1,
                limits,
                main,
                Arc::new(|| Box::pin(async {})),
            )
        });
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let me = tcp.local_addr().unwrap();
        let body = if over_tls {
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let conn = rustls::ClientConnection::new(client.clone(), name).unwrap();
            get(rustls::StreamOwned::new(conn, tcp))
        } else {
            get(tcp)
        };
        assert_eq!(body, format!("{me} {over_tls}"));
        stop.send(()).unwrap();
        server.join().unwrap().unwrap();
    }
}
