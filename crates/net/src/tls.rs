//! modgate's own TLS: the certificate and key from PEM files, reloaded
//! when the files change (certificates renewed by certbot, cert-manager or
//! a script are picked up without a restart), and the server configuration
//! with ALPN `h2` and `http/1.1`.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{InconsistentKeys, ServerConfig};

/// Locks `mutex` whatever a panicking holder left: the certificate state is
/// never left half-updated between statements.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How often handshakes look at the files for a change: a stat of each, no more.
const CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Read(std::io::Error),
    #[error("{}: not valid PEM", path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("{}: no certificate (BEGIN CERTIFICATE) found", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: no private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found", path.display())]
    NoKey { path: PathBuf },
    #[error("{}: unusable private key", path.display())]
    Key {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("{}: unusable certificate", path.display())]
    Certificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("{}: not a readable X.509 certificate", path.display())]
    Unparsable {
        path: PathBuf,
        #[source]
        source: x509_parser::nom::Err<x509_parser::error::X509Error>,
    },
    /// Every client would refuse it: better the old one, or no start.
    #[error("{}: the certificate is not valid now (valid from {not_before} until {not_after})", path.display())]
    OutsideValidity {
        path: PathBuf,
        not_before: String,
        not_after: String,
    },
    #[error("the key in {} does not match the certificate in {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("TLS configuration")]
    Config(#[source] rustls::Error),
}

/// `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// PEM: the server's certificate first, then any intermediates.
    pub cert: PathBuf,
    /// PEM: PKCS#8, RSA (PKCS#1) or SEC1 (EC).
    pub key: PathBuf,
}

/// One of `--tls-cert` and `--tls-key` without the other.
#[derive(Debug, thiserror::Error)]
#[error("{given} is set but {missing} is not: TLS needs both")]
pub struct Unpaired {
    given: &'static str,
    missing: &'static str,
}

impl CertFiles {
    /// The files, when both are given (serve HTTPS); neither (plain HTTP)
    /// is `None`; only one is refused.
    pub fn pair(cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<Option<Self>, Unpaired> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(CertFiles { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(Unpaired {
                given: "tls-cert",
                missing: "tls-key",
            }),
            (None, Some(_)) => Err(Unpaired {
                given: "tls-key",
                missing: "tls-cert",
            }),
        }
    }

    /// Reads and checks both files: the key must be the certificate's.
    pub fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        let cert_pem = fs_err::read(&self.cert).map_err(TlsError::Read)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TlsError::Pem {
                path: self.cert.clone(),
                source,
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                path: self.cert.clone(),
            });
        }
        let key_pem = fs_err::read(&self.key).map_err(TlsError::Read)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => TlsError::NoKey {
                path: self.key.clone(),
            },
            source => TlsError::Pem {
                path: self.key.clone(),
                source,
            },
        })?;
        let signer = provider
            .key_provider
            .load_private_key(key)
            .map_err(|source| TlsError::Key {
                path: self.key.clone(),
                source,
            })?;
        self.check_validity(&chain[0])?;
        let certified = CertifiedKey::new(chain, signer);
        // As CertifiedKey::from_der, with errors that say which file is wrong.
        match certified.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {
                Ok(certified)
            }
            Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
                Err(TlsError::Mismatch {
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                })
            }
            Err(source) => Err(TlsError::Certificate {
                path: self.cert.clone(),
                source,
            }),
        }
    }
}

impl CertFiles {
    /// The server certificate must be valid now: an expired (or not yet
    /// valid) one would make every client fail its handshake.
    fn check_validity(&self, leaf: &CertificateDer<'_>) -> Result<(), TlsError> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(leaf).map_err(|source| TlsError::Unparsable {
                path: self.cert.clone(),
                source,
            })?;
        let validity = cert.validity();
        if validity.is_valid() {
            return Ok(());
        }
        Err(TlsError::OutsideValidity {
            path: self.cert.clone(),
            not_before: validity.not_before.to_string(),
            not_after: validity.not_after.to_string(),
        })
    }
}

/// What identifies a version of a file without reading it: a rename over
/// it changes the inode, a rewrite in place the length or times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<Self> {
        let m = fs_err::metadata(path)?;
        Ok(Self {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

type Stamp = (FileStamp, FileStamp);

fn stamp(files: &CertFiles) -> std::io::Result<Stamp> {
    Ok((FileStamp::of(&files.cert)?, FileStamp::of(&files.key)?))
}

/// Serves the certificate last loaded from [`CertFiles`], and reloads it
/// when the files change. A reload that fails (a half-written file, a key
/// not matching the certificate) keeps the current certificate and warns
/// once; the next change is tried again.
pub struct ReloadingCert {
    files: CertFiles,
    provider: Arc<CryptoProvider>,
    state: Mutex<State>,
}

struct State {
    current: Arc<CertifiedKey>,
    /// The files as last looked at, loaded or not; `None` if they could
    /// not be looked at.
    seen: Option<Stamp>,
    next_check: Instant,
}

impl ReloadingCert {
    /// Loads the files: at start-up, a bad file is an error.
    pub fn new(files: CertFiles, provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        // The stamp first: a change while loading is seen at the next
        // check. The load's error, if any, says better what is wrong.
        let seen = stamp(&files);
        let current = Arc::new(files.load(&provider)?);
        let seen = seen.map_err(TlsError::Read)?;
        Ok(Self {
            files,
            provider,
            state: Mutex::new(State {
                current,
                seen: Some(seen),
                next_check: Instant::now() + CHECK_EVERY,
            }),
        })
    }

    /// The certificate to serve, after a look at the files if the last
    /// look is older than [`CHECK_EVERY`].
    pub fn current(&self) -> Arc<CertifiedKey> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        if now >= state.next_check {
            state.next_check = now + CHECK_EVERY;
            self.refresh(&mut state);
        }
        state.current.clone()
    }

    /// Reloads the certificate now if the files changed since last seen.
    fn refresh(&self, state: &mut State) {
        let seen = match stamp(&self.files) {
            Ok(seen) => seen,
            Err(e) => {
                if state.seen.take().is_some() {
                    tracing::warn!(
                        error = &e as &dyn std::error::Error,
                        "TLS certificate files unreadable: keeping the current certificate"
                    );
                }
                return;
            }
        };
        if state.seen == Some(seen) {
            return;
        }
        state.seen = Some(seen);
        match self.files.load(&self.provider) {
            Ok(key) => {
                state.current = Arc::new(key);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "TLS certificate not reloaded: keeping the current certificate"
                );
            }
        }
    }
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The server side of modgate's TLS: the certificate from `files`, reloaded
/// as they change, and ALPN `h2` before `http/1.1`.
pub fn server_config(files: CertFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = ReloadingCert::new(files, provider.clone())?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    struct Issued {
        cert_pem: String,
        key_pem: String,
        der: CertificateDer<'static>,
    }

    fn ca() -> (rcgen::Issuer<'static, rcgen::KeyPair>, String) {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (rcgen::Issuer::new(params, key), cert.pem())
    }

    fn leaf(issuer: &rcgen::Issuer<'_, rcgen::KeyPair>, key: rcgen::KeyPair) -> Issued {
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    fn ec_leaf(issuer: &rcgen::Issuer<'_, rcgen::KeyPair>) -> Issued {
        leaf(issuer, rcgen::KeyPair::generate().unwrap())
    }

    fn write(dir: &Path, cert: &str, key: &str) -> CertFiles {
        let files = CertFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        fs_err::write(&files.cert, cert).unwrap();
        fs_err::write(&files.key, key).unwrap();
        files
    }

    #[test]
    fn cert_and_key_come_together() {
        let (cert, key) = (PathBuf::from("cert.pem"), PathBuf::from("key.pem"));
        let both = CertFiles::pair(Some(cert.clone()), Some(key.clone())).unwrap();
        assert_eq!(
            both,
            Some(CertFiles {
                cert: cert.clone(),
                key: key.clone()
            })
        );
        assert_eq!(CertFiles::pair(None, None).unwrap(), None);
        let err = CertFiles::pair(None, Some(key)).unwrap_err().to_string();
        assert_eq!(err, "tls-key is set but tls-cert is not: TLS needs both");
        let err = CertFiles::pair(Some(cert), None).unwrap_err().to_string();
        assert_eq!(err, "tls-cert is set but tls-key is not: TLS needs both");
    }

    #[test]
    fn loads_a_chain_leaf_first() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, ca_pem) = ca();
        let leaf = ec_leaf(&issuer);
        let files = write(
            dir.path(),
            &format!("{}{ca_pem}", leaf.cert_pem),
            &leaf.key_pem,
        );
        let key = files.load(&provider()).unwrap();
        assert_eq!(key.cert.len(), 2);
        assert_eq!(key.cert[0], leaf.der);
    }

    /// rcgen writes PKCS#8; openssl makes the RSA key and re-wraps keys
    /// in their algorithm's own format (PKCS#1, SEC1).
    #[test]
    fn loads_pkcs8_rsa_and_sec1_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, _) = ca();
        let ec = ec_leaf(&issuer);
        write(dir.path(), &ec.cert_pem, &ec.key_pem)
            .load(&provider())
            .expect("PKCS#8");
        let sec1 = openssl(&["pkey", "-traditional"], &ec.key_pem);
        assert!(sec1.contains("BEGIN EC PRIVATE KEY"), "{sec1}");
        write(dir.path(), &ec.cert_pem, &sec1)
            .load(&provider())
            .expect("SEC1");
        let rsa_pem = openssl(
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ],
            "",
        );
        let rsa = leaf(&issuer, rcgen::KeyPair::from_pem(&rsa_pem).unwrap());
        let pkcs1 = openssl(&["pkey", "-traditional"], &rsa_pem);
        assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"), "{pkcs1}");
        let key = write(dir.path(), &rsa.cert_pem, &pkcs1)
            .load(&provider())
            .expect("PKCS#1");
        assert_eq!(key.cert[0], rsa.der);
    }

    fn openssl(args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("openssl")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the key format tests need the openssl command");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, _) = ca();
        let good = ec_leaf(&issuer);
        let other = ec_leaf(&issuer);
        let truncated = &good.cert_pem[..good.cert_pem.len() / 2];
        let cases: [(&str, &str, &str); 6] = [
            ("garbage\n", &good.key_pem, "cert.pem: no certificate"),
            (truncated, &good.key_pem, "cert.pem: not valid PEM"),
            (&good.cert_pem, "garbage\n", "key.pem: no private key"),
            (&good.cert_pem, &good.cert_pem, "key.pem: no private key"),
            (
                &good.cert_pem,
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "key.pem: unusable private key",
            ),
            (
                &good.cert_pem,
                &other.key_pem,
                "does not match the certificate",
            ),
        ];
        for (cert, key, want) in cases {
            let err = write(dir.path(), cert, key)
                .load(&provider())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "want {want:?}, got {err:?}");
        }
        let missing = CertFiles {
            cert: dir.path().join("absent.pem"),
            key: dir.path().join("key.pem"),
        };
        let err = missing.load(&provider()).unwrap_err().to_string();
        assert!(err.contains("absent.pem"), "{err}");
    }

    #[test]
    fn a_change_is_reloaded_and_a_bad_one_keeps_the_current() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, _) = ca();
        let first = ec_leaf(&issuer);
        let files = write(dir.path(), &first.cert_pem, &first.key_pem);
        let certs = ReloadingCert::new(files.clone(), provider()).unwrap();
        let refresh = || {
            certs.refresh(&mut lock(&certs.state));
            certs.current().cert[0].clone()
        };
        assert_eq!(refresh(), first.der);

        // A new certificate whose key is not written yet: the old pair stays.
        let second = ec_leaf(&issuer);
        fs_err::write(&files.cert, &second.cert_pem).unwrap();
        assert_eq!(refresh(), first.der);
        fs_err::write(&files.key, &second.key_pem).unwrap();
        assert_eq!(refresh(), second.der);

        // Half-written, then gone: still the last good one.
        fs_err::write(&files.cert, &first.cert_pem[..100]).unwrap();
        assert_eq!(refresh(), second.der);
        fs_err::remove_file(&files.cert).unwrap();
        assert_eq!(refresh(), second.der);
        fs_err::write(&files.cert, &second.cert_pem).unwrap();
        assert_eq!(refresh(), second.der);
    }

    #[test]
    fn an_expired_certificate_is_refused_at_start_and_as_a_renewal() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, _) = ca();
        let expired = {
            let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let files = write(dir.path(), &expired.0, &expired.1);
        let err = ReloadingCert::new(files.clone(), provider())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cert.pem") && err.contains("not valid now"),
            "{err}"
        );
        assert!(err.contains("2020"), "{err}");

        let good = ec_leaf(&issuer);
        write(dir.path(), &good.cert_pem, &good.key_pem);
        let certs = ReloadingCert::new(files.clone(), provider()).unwrap();
        write(dir.path(), &expired.0, &expired.1);
        certs.refresh(&mut lock(&certs.state));
        assert_eq!(certs.current().cert[0], good.der);
    }

    #[test]
    fn handshakes_look_at_the_files_at_most_every_second() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, _) = ca();
        let first = ec_leaf(&issuer);
        let files = write(dir.path(), &first.cert_pem, &first.key_pem);
        let certs = ReloadingCert::new(files.clone(), provider()).unwrap();
        let second = ec_leaf(&issuer);
        write(dir.path(), &second.cert_pem, &second.key_pem);
        // Not due yet: served from memory.
        lock(&certs.state).next_check = Instant::now() + Duration::from_secs(3600);
        assert_eq!(certs.current().cert[0], first.der);
        lock(&certs.state).next_check = Instant::now();
        assert_eq!(certs.current().cert[0], second.der);
    }

    #[test]
    fn errors_say_each_thing_once() {
        let rustls = || rustls::Error::General("bad".into());
        let errors = [
            TlsError::Pem {
                path: "cert.pem".into(),
                source: pem::Error::MissingSectionEnd {
                    end_marker: b"CERTIFICATE".to_vec(),
                },
            },
            TlsError::Key {
                path: "key.pem".into(),
                source: rustls(),
            },
            TlsError::Certificate {
                path: "cert.pem".into(),
                source: rustls(),
            },
            TlsError::Config(rustls()),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&e).unwrap();
        }
    }
}
