//! The crate's one error type.

use std::path::PathBuf;
use std::time::Duration;

/// What can go wrong in `doctor` and `explain`. The first variants stop a
/// command; the others are findings the doctor words into a check's detail
/// (with `Error::detail`), since a broken setting is what it diagnoses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--module` is not a module path.
    #[error("--module {module:?}")]
    Module {
        module: String,
        #[source]
        source: modgate_module::Error,
    },
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The system's trusted roots do not make a certificate verifier.
    #[error("cannot set up TLS")]
    Tls(#[source] rustls::client::VerifierBuilderError),
    /// `explain` cannot read its input file.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read stdin")]
    ReadStdin(#[source] std::io::Error),
    /// `publish`: the module cannot be zipped (the reason says why).
    #[error("cannot build the module zip: {0}")]
    PublishZip(String),
    /// `publish`: the server refused the upload or could not be reached.
    #[error("publish failed: {0}")]
    Publish(String),
    /// `admin`: the server refused the action (its reason) or could not be reached.
    #[error("admin action failed: {0}")]
    Admin(String),
    /// GOAUTH names methods that cannot be used.
    #[error(transparent)]
    GoAuth(#[from] modgate_net::goauth::GoAuthError),
    /// `audit`: its input (go.mod, go.sum) cannot be read or parsed.
    #[error("{}: {reason}", path.display())]
    AuditInput { path: PathBuf, reason: String },
    /// `audit`: a proxy or the vulnerability database failed (the URL
    /// without credentials).
    #[error("{url}: {reason}")]
    AuditFetch { url: String, reason: String },

    // `go env -json`.
    #[error("no answer within {}s", .0.as_secs())]
    GoEnvTimeout(Duration),
    #[error("cannot start")]
    GoEnvStart(#[source] std::io::Error),
    /// It exited with an error; what it printed on stderr.
    #[error("{stderr}")]
    GoEnvFailed { stderr: String },
    #[error("unexpected output")]
    GoEnvOutput(#[source] serde_json::Error),

    // HTTP_PROXY and friends; values are redacted.
    #[error("cannot parse {value}")]
    ProxyUrl {
        value: String,
        #[source]
        source: url::ParseError,
    },
    #[error("no host in {value}")]
    ProxyNoHost { value: String },
    #[error("unsupported proxy scheme {0:?}")]
    ProxyScheme(String),

    /// A server's answer does not start like HTTP; its first characters.
    #[error("not an HTTP answer: {0:?}")]
    NotHttp(String),
}

impl Error {
    /// The message and its causes on one line, as the binary prints them:
    /// a check's detail is plain text, without a chain of its own.
    pub(crate) fn detail(&self) -> String {
        modgate_redact::Chain(self).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_carry_the_causes() {
        let e = Error::GoEnvOutput(serde_json::from_str::<u8>("x").unwrap_err());
        assert_eq!(
            e.detail(),
            "unexpected output: expected value at line 1 column 1"
        );
    }

    #[test]
    fn errors_say_each_thing_once() {
        let io = || std::io::Error::other("Permission denied");
        let errors = [
            Error::Module {
                module: "Example.com/M".into(),
                source: modgate_module::check_path("a//b").unwrap_err(),
            },
            Error::Runtime(io()),
            Error::Read {
                path: "/tmp/go.sum".into(),
                source: io(),
            },
            Error::ReadStdin(io()),
            Error::GoEnvStart(io()),
            Error::GoEnvOutput(serde_json::from_str::<u8>("x").unwrap_err()),
            Error::ProxyUrl {
                value: "http://[".into(),
                source: url::Url::parse("http://[").unwrap_err(),
            },
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&e).unwrap();
        }
    }
}
