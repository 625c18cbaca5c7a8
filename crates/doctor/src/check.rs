//! One finding of the doctor: what was checked, how it went, why, and the fix.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// The layer or setting a finding is about. A probe's failure carries the
/// category of the first layer that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Ok,
    Config,
    Dns,
    ConnectRefused,
    ConnectTimeout,
    TlsHandshake,
    TlsCertificate,
    HttpTimeout,
    HttpStatus,
    Sumdb,
    VcsAuth,
    ProxyEnv,
    ClockSkew,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Config => "config",
            Self::Dns => "dns",
            Self::ConnectRefused => "connect_refused",
            Self::ConnectTimeout => "connect_timeout",
            Self::TlsHandshake => "tls_handshake",
            Self::TlsCertificate => "tls_certificate",
            Self::HttpTimeout => "http_timeout",
            Self::HttpStatus => "http_status",
            Self::Sumdb => "sumdb",
            Self::VcsAuth => "vcs_auth",
            Self::ProxyEnv => "proxy_env",
            Self::ClockSkew => "clock_skew",
        }
    }
}

/// Milliseconds spent in each phase of a network probe (curl's model).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ms: Option<f64>,
    /// From sending the request to the first byte of the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<f64>,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub target: String,
    pub category: Category,
    pub status: Status,
    pub detail: String,
    /// A concrete command or action; `null` when nothing needs fixing.
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
    /// The addresses a probe resolved and how connecting to each went.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
}

impl Check {
    pub fn ok(target: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            category: Category::Ok,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
            timings: None,
            addresses: Vec::new(),
            tls: None,
        }
    }

    pub fn warn(
        target: impl Into<String>,
        category: Category,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::not_ok(Status::Warn, target, category, detail, fix)
    }

    pub fn fail(
        target: impl Into<String>,
        category: Category,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::not_ok(Status::Fail, target, category, detail, fix)
    }

    fn not_ok(
        status: Status,
        target: impl Into<String>,
        category: Category,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            category,
            status,
            fix: Some(fix.into()),
            ..Self::ok(target, detail)
        }
    }

    pub fn with_timings(mut self, timings: Timings) -> Self {
        self.timings = Some(timings);
        self
    }
}

/// Milliseconds with a tenth of precision, for timings.
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// One resolved address and how connecting to it went.
#[derive(Debug, Clone, Serialize)]
pub struct Address {
    pub ip: String,
    pub family: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// RFC 3339.
    pub not_after: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub chain: Vec<CertInfo>,
    /// Seconds until the server certificate expires (negative: expired).
    #[serde(skip)]
    pub leaf_expires_in: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_interface_shape() {
        let c = Check::fail("GOPROXY", Category::ConnectRefused, "d", "f");
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["category"], "connect_refused");
        assert_eq!(v["status"], "fail");
        assert_eq!(v["fix"], "f");
        assert!(v.get("timings").is_none());
        let v = serde_json::to_value(Check::ok("x", "fine")).unwrap();
        assert_eq!(v["category"], "ok");
        assert!(v["fix"].is_null());
    }
}
