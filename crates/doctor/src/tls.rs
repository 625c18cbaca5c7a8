//! TLS for the probes: the system's trust store (as the go command uses on
//! Linux, honouring SSL_CERT_FILE and SSL_CERT_DIR), a verifier that keeps
//! the presented chain for the report, and errors worded like Go's.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::check::Category;
use crate::error::Error;

/// What every probe shares: the provider and the verifier over the roots.
pub struct TlsSetup {
    provider: Arc<CryptoProvider>,
    /// `None` when the system has no trusted roots at all: then every chain
    /// is unknown, which is exactly what the go command would find.
    verifier: Option<Arc<WebPkiServerVerifier>>,
}

impl TlsSetup {
    pub fn new() -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        // Unreadable files among the system certificates are not fatal: the
        // probes then report what does not verify.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let verifier = if roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(Error::Tls)?,
            )
        };
        Ok(Self { provider, verifier })
    }

    /// A client configuration for one connection, with its own record of the
    /// chain the server presents.
    pub fn client(&self) -> Result<(Arc<ClientConfig>, Arc<RecordingVerifier>), rustls::Error> {
        let recorder = Arc::new(RecordingVerifier {
            inner: self.verifier.clone(),
            provider: self.provider.clone(),
            chain: Mutex::new(Vec::new()),
        });
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        // The probes speak HTTP/1.1 by hand.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok((Arc::new(config), recorder))
    }
}

/// Delegates verification and keeps the certificates the server presented.
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl RecordingVerifier {
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            *chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        match &self.inner {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// One certificate, summarised.
#[derive(Debug, Clone)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_after: i64,
    pub self_signed: bool,
}

pub fn summarize(der: &CertificateDer<'_>) -> Option<CertSummary> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    Some(CertSummary {
        self_signed: subject == issuer,
        subject,
        issuer,
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// A failed handshake: its category and a Go-like description.
pub fn classify_error(err: &std::io::Error, chain: &[CertificateDer<'_>]) -> (Category, String) {
    let leaf = chain.first().and_then(summarize);
    let rustls_err = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_err {
        Some(rustls::Error::InvalidCertificate(cert_err)) => (
            Category::TlsCertificate,
            describe_cert_error(cert_err, leaf.as_ref()),
        ),
        Some(rustls::Error::InvalidMessage(msg)) => (
            Category::TlsHandshake,
            format!(
                "the server does not speak TLS here ({msg:?}): plain HTTP on an https:// URL, \
                 or something in between rewriting the connection"
            ),
        ),
        Some(rustls::Error::AlertReceived(alert)) => (
            Category::TlsHandshake,
            format!("remote error: tls: {alert:?}: the server refused the handshake"),
        ),
        Some(other) => (
            Category::TlsHandshake,
            format!("TLS handshake failed: {other}"),
        ),
        None if err.kind() == std::io::ErrorKind::UnexpectedEof => (
            Category::TlsHandshake,
            "the server closed the connection during the TLS handshake".to_owned(),
        ),
        None => (
            Category::TlsHandshake,
            format!("TLS handshake failed: {err}"),
        ),
    }
}

fn describe_cert_error(err: &CertificateError, leaf: Option<&CertSummary>) -> String {
    let who = leaf.map_or_else(String::new, |l| {
        if l.self_signed {
            format!(" (self-signed: {})", l.subject)
        } else {
            format!(" (subject {}, issuer {})", l.subject, l.issuer)
        }
    });
    let self_signed = leaf.is_some_and(|l| l.self_signed);
    match err {
        // Whatever webpki objects to first (often that a CA certificate is
        // used as the server's), a self-signed certificate is, in Go's
        // words, signed by an unknown authority.
        CertificateError::UnknownIssuer | CertificateError::Other(_) if self_signed => {
            format!("x509: certificate signed by unknown authority{who}")
        }
        CertificateError::UnknownIssuer => {
            format!("x509: certificate signed by unknown authority{who}")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("x509: certificate has expired{who}")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("x509: certificate is not yet valid (is the clock right?){who}")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("x509: certificate is not valid for this host name{who}")
        }
        other => format!("x509: certificate rejected: {other:?}{who}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_certificate_and_protocol_errors() {
        let err = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let (cat, detail) = classify_error(&err, &[]);
        assert_eq!(cat, Category::TlsCertificate);
        assert!(detail.contains("unknown authority"));
        let err = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        assert_eq!(classify_error(&err, &[]).0, Category::TlsHandshake);
        let err = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(classify_error(&err, &[]).0, Category::TlsHandshake);
    }

    #[test]
    fn builds_a_client_config() {
        let setup = TlsSetup::new().unwrap();
        assert!(setup.client().is_ok());
    }
}
