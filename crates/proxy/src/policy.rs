//! The proxy's dependency policy (`[[policy]]` in the config file): module
//! versions denied by pattern and version range, or for known
//! vulnerabilities in the mirrored database; waivers for one
//! module@version until a date, with a reason; `dry-run` rules that only
//! log and count. The server refuses a denied `.info`, `.mod` or `.zip`
//! with a 403 whose one line the go command prints, and leaves denied
//! versions out of `@v/list` and `@latest`.

use std::cmp::Ordering;

use modgate_module::modfile::Retraction;
use modgate_module::{pattern, semver};
use modgate_redact::Chain;
use serde::Deserialize;

use crate::vulndb::{VulnDb, VulnDbError};

/// One `[[policy]]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `vulnerable`, or `PATTERN[@RANGE]` (`example.com/m@<v1.2.0`; a
    /// pattern without a range denies every version).
    #[serde(default)]
    pub deny: Vec<String>,
    /// Allow-list mode: a module version matching none of these
    /// `PATTERN[@RANGE]` entries is denied.
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub waive: Vec<WaiverSpec>,
    /// Log and count what would be denied, without denying it.
    #[serde(default, alias = "dry-run")]
    pub dry_run: bool,
}

/// A waiver: a table `{ module = "m@v", expires = "2027-01-31", reason = "…" }`,
/// or the same in one string, `"m@v until 2027-01-31: reason"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "WaiverText")]
pub struct WaiverSpec {
    /// `module@version`.
    pub module: String,
    /// The last day the waiver holds (`2027-01-31`, UTC).
    pub expires: String,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WaiverText {
    Line(String),
    Table {
        module: String,
        expires: String,
        reason: String,
    },
}

impl TryFrom<WaiverText> for WaiverSpec {
    type Error = String;

    fn try_from(w: WaiverText) -> Result<Self, String> {
        match w {
            WaiverText::Table {
                module,
                expires,
                reason,
            } => Ok(WaiverSpec {
                module,
                expires,
                reason,
            }),
            WaiverText::Line(line) => {
                let bad = || {
                    format!(
                        "waiver {line:?}: want \"module@version until 2027-01-31: reason\" or a table with module, expires and reason"
                    )
                };
                let (module, rest) = line.trim().split_once(" until ").ok_or_else(bad)?;
                let (expires, reason) = rest.split_once(':').ok_or_else(bad)?;
                Ok(WaiverSpec {
                    module: module.trim().to_owned(),
                    expires: expires.trim().to_owned(),
                    reason: reason.trim().to_owned(),
                })
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("[[policy]] deny {rule:?}: {reason}")]
    Deny { rule: String, reason: String },
    #[error("[[policy]] waive {module:?}: {reason}")]
    Waive { module: String, reason: String },
}

#[derive(Debug, Clone)]
enum Deny {
    /// Any advisory, or only these ids or aliases (`vulnerable:GO-2025-0001,CVE-…`).
    Vulnerable(Vec<String>),
    /// Retracted by the go.mod of the module's latest version.
    Retracted,
    Versions {
        pattern: String,
        range: Option<(Ordering, bool, String)>,
    },
}

/// What a decision is on: a version asked for, or the base version of a
/// pseudo-version asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    Version,
    Base,
}

#[derive(Debug, Clone)]
struct Waiver {
    module: String,
    version: String,
    expires: jiff::civil::Date,
    reason: String,
}

#[derive(Debug, Clone)]
struct Rule {
    deny: Vec<(String, Deny)>,
    /// `PATTERN[@RANGE]` entries only (checked at parse time).
    allow: Vec<Deny>,
    waive: Vec<Waiver>,
    dry_run: bool,
}

/// Every `[[policy]]` rule.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
}

/// What the policy says of one module version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Denied: the one line clients see.
    Deny(String),
    /// A dry-run rule would deny it.
    WouldDeny(String),
    /// A rule denies it, but a waiver holds: why.
    Waived(String),
}

impl Decision {
    /// A metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny(_) => "deny",
            Decision::WouldDeny(_) => "would_deny",
            Decision::Waived(_) => "waived",
        }
    }

    pub fn denied(&self) -> bool {
        matches!(self, Decision::Deny(_))
    }
}

impl Policy {
    pub fn new(specs: &[RuleSpec]) -> Result<Self, PolicyError> {
        let rules = specs
            .iter()
            .map(|spec| {
                let deny = spec
                    .deny
                    .iter()
                    .map(|d| parse_deny(d).map(|parsed| (d.clone(), parsed)))
                    .collect::<Result<_, _>>()?;
                let waive = spec
                    .waive
                    .iter()
                    .map(parse_waiver)
                    .collect::<Result<_, _>>()?;
                let allow = spec
                    .allow
                    .iter()
                    .map(|a| match parse_deny(a)? {
                        versions @ Deny::Versions { .. } => Ok(versions),
                        _ => Err(PolicyError::Deny {
                            rule: a.clone(),
                            reason: "allow takes PATTERN[@RANGE] entries".to_owned(),
                        }),
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Rule {
                    deny,
                    allow,
                    waive,
                    dry_run: spec.dry_run,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Whether a rule denies retracted versions (the caller then reads the
    /// latest go.mod's retractions).
    pub fn needs_retractions(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.deny.iter().any(|(_, d)| matches!(d, Deny::Retracted)))
    }

    /// Whether a rule denies vulnerable versions (which needs the mirror).
    pub fn needs_vulndb(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.deny.iter().any(|(_, d)| matches!(d, Deny::Vulnerable(_))))
    }

    /// The versions of `module` a deny names one by one (`M@v1.7.3`): a
    /// pseudo-version's commit is compared with each, listed or not, since
    /// an upstream may leave a tag out of its list.
    pub fn named_versions(&self, module: &str) -> Vec<String> {
        let mut named = Vec::new();
        for rule in &self.rules {
            for (_, deny) in &rule.deny {
                if let Deny::Versions {
                    pattern,
                    range: Some((Ordering::Equal, _, v)),
                } = deny
                    && pattern::match_prefix_patterns_any_case(pattern, module)
                    && !named.contains(v)
                {
                    named.push(v.clone());
                }
            }
        }
        named
    }

    /// Whether a rule might deny a tagged version of `module` that only its
    /// list would show (a range, an advisory, a retraction); `Some(true)`
    /// when only dry-run rules might. Without the list, a pseudo-version of
    /// such a module cannot be told apart from a denied release.
    pub async fn may_deny_unlisted(&self, module: &str, db: Option<&VulnDb>) -> Option<bool> {
        let mut dry_only = None;
        for rule in &self.rules {
            let mut may = false;
            for (_, deny) in &rule.deny {
                may |= match deny {
                    Deny::Retracted => true,
                    Deny::Versions { range, .. } => {
                        !matches!(range, Some((Ordering::Equal, _, _)))
                            && deny.covers_module(module)
                    }
                    Deny::Vulnerable(_) => match db {
                        Some(db) => db.advisories(module).await.map_or(true, |a| !a.is_empty()),
                        None => true,
                    },
                };
            }
            if may {
                if !rule.dry_run {
                    return Some(false);
                }
                dry_only = Some(true);
            }
        }
        dry_only
    }

    /// The decision for `module@version` (a canonical version). Enforcing
    /// rules come before dry-run ones; a vulnerable check without the
    /// mirrored database denies (a gate that opens when its data is
    /// missing is no gate).
    /// `retracted`: the `retract` directives of the module's latest go.mod
    /// (see [`Policy::needs_retractions`]).
    pub async fn decide(
        &self,
        module: &str,
        version: &str,
        db: Option<&VulnDb>,
        retracted: &[Retraction],
    ) -> Decision {
        self.decide_as(module, version, db, retracted, Judged::Version)
            .await
    }

    /// The decision on `base`, the version a pseudo-version of `module`
    /// was derived from: its commit comes after `base`, so the rules over
    /// ranges of versions and the advisories (which cover what follows an
    /// affected release until the fix) apply to it; a rule naming one
    /// exact version, a retraction or an allow list does not.
    pub async fn decide_base(&self, module: &str, base: &str, db: Option<&VulnDb>) -> Decision {
        self.decide_as(module, base, db, &[], Judged::Base).await
    }

    async fn decide_as(
        &self,
        module: &str,
        version: &str,
        db: Option<&VulnDb>,
        retracted: &[Retraction],
        judged: Judged,
    ) -> Decision {
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date();
        let mut outcome = Decision::Allow;
        for rule in &self.rules {
            let Some(reason) = rule.denial(module, version, db, retracted, judged).await else {
                continue;
            };
            let waiver = rule
                .waive
                .iter()
                .find(|w| w.module == module && w.version == version && w.expires >= today);
            let decision = match (waiver, rule.dry_run) {
                (Some(w), _) => Decision::Waived(format!(
                    "{reason} (waived until {}: {})",
                    w.expires, w.reason
                )),
                (None, true) => Decision::WouldDeny(reason),
                (None, false) => return Decision::Deny(reason),
            };
            if outcome == Decision::Allow {
                outcome = decision;
            }
        }
        outcome
    }
}

impl Rule {
    /// Why this rule denies `module@version`, if it does.
    async fn denial(
        &self,
        module: &str,
        version: &str,
        db: Option<&VulnDb>,
        retracted: &[Retraction],
        judged: Judged,
    ) -> Option<String> {
        let at = format!("{module}@{version}");
        let base = judged == Judged::Base;
        if !base && !self.allow.is_empty() && !self.allow.iter().any(|a| a.covers(module, version))
        {
            return Some(format!("modgate policy: {at} is not on the allow list"));
        }
        for (text, deny) in &self.deny {
            if base && deny.names_one_version() {
                continue;
            }
            match deny {
                Deny::Retracted => {
                    if let Some(r) = retracted.iter().find(|r| r.covers(version)) {
                        let why = if r.rationale.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", r.rationale.replace('\n', " "))
                        };
                        return Some(format!(
                            "modgate policy: {at} is denied (rule \"retracted\"): retracted by its author{why}"
                        ));
                    }
                }
                Deny::Versions { .. } => {
                    if deny.covers(module, version) {
                        return Some(format!("modgate policy: {at} is denied (rule {text:?})"));
                    }
                }
                Deny::Vulnerable(only) => {
                    let Some(db) = db else {
                        return Some(format!(
                            "modgate policy: {at} cannot be checked for vulnerabilities (the vulnerability database mirror is off)"
                        ));
                    };
                    match db.advisories(module).await {
                        Ok(entries) => {
                            let hits: Vec<_> = entries
                                .iter()
                                .filter(|e| e.affects(module, version))
                                .filter(|e| {
                                    only.is_empty()
                                        || only
                                            .iter()
                                            .any(|id| *id == e.id || e.aliases.contains(id))
                                })
                                .collect();
                            if hits.is_empty() {
                                continue;
                            }
                            let ids: Vec<String> = hits
                                .iter()
                                .map(|e| match e.aliases.first() {
                                    Some(a) => format!("{} ({a})", e.id),
                                    None => e.id.clone(),
                                })
                                .collect();
                            let mut fixes: Vec<String> = hits
                                .iter()
                                .filter_map(|e| e.fixed_after(module, version))
                                .collect();
                            semver::sort(&mut fixes);
                            let fix = match (fixes.last(), fixes.len() == hits.len()) {
                                (Some(f), true) => format!("; fixed in {f}"),
                                _ => "; no fixed version for every advisory".to_owned(),
                            };
                            return Some(format!(
                                "modgate policy: {at} is denied (rule {text:?}): {}{fix}",
                                ids.join(", ")
                            ));
                        }
                        Err(e) => {
                            let why = match e {
                                VulnDbError::NotSynced => {
                                    "the vulnerability database is not mirrored yet".to_owned()
                                }
                                _ => {
                                    tracing::error!(error = %Chain(&e), "policy: reading the vulnerability database failed");
                                    "the vulnerability database cannot be read".to_owned()
                                }
                            };
                            return Some(format!(
                                "modgate policy: {at} cannot be checked for vulnerabilities ({why})"
                            ));
                        }
                    }
                }
            }
        }
        None
    }
}

impl Deny {
    /// For a `PATTERN[@RANGE]` entry: whether it names `module@version`.
    /// A rule that names one exact version, or a retraction: neither says
    /// anything of the commits after that version.
    fn names_one_version(&self) -> bool {
        match self {
            Deny::Retracted => true,
            Deny::Versions { range, .. } => {
                matches!(range, Some((Ordering::Equal, _, _)))
            }
            Deny::Vulnerable(_) => false,
        }
    }

    /// For a `PATTERN[@RANGE]` entry: whether its pattern names `module`.
    fn covers_module(&self, module: &str) -> bool {
        // Case ignored, as for `--private` and `[[access]]`: a case variant
        // must not slip past a deny.
        matches!(self, Deny::Versions { pattern, .. } if pattern::match_prefix_patterns_any_case(pattern, module))
    }

    fn covers(&self, module: &str, version: &str) -> bool {
        let Deny::Versions { range, .. } = self else {
            return false;
        };
        self.covers_module(module)
            && match range {
                None => true,
                Some((ord, or_equal, bound)) => {
                    let c = semver::compare(version, bound);
                    c == *ord || (*or_equal && c == Ordering::Equal)
                }
            }
    }
}

fn parse_deny(text: &str) -> Result<Deny, PolicyError> {
    let bad = |reason: &str| PolicyError::Deny {
        rule: text.to_owned(),
        reason: reason.to_owned(),
    };
    match text {
        "vulnerable" => return Ok(Deny::Vulnerable(Vec::new())),
        "retracted" => return Ok(Deny::Retracted),
        _ => {}
    }
    if let Some(ids) = text.strip_prefix("vulnerable:") {
        let ids: Vec<String> = ids
            .split(',')
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect();
        if ids.is_empty() {
            return Err(bad(
                "want vulnerable:ID[,ID…], e.g. vulnerable:GO-2025-0001",
            ));
        }
        return Ok(Deny::Vulnerable(ids));
    }
    let (pattern, range) = match text.split_once('@') {
        None => (text, None),
        Some((p, r)) => (p, Some(r)),
    };
    if pattern.is_empty() {
        return Err(bad("want vulnerable or PATTERN[@RANGE]"));
    }
    // A module path's first element is a domain name: a pattern whose first
    // element has no dot (nor a wildcard that could stand for one) matches
    // nothing, and a misspelt kind would silently turn the rule off.
    let first = pattern.split('/').next().unwrap_or_default();
    if !first.contains(['.', '*', '?', '[']) {
        return Err(bad(&format!(
            "neither a kind (vulnerable, vulnerable:ID, retracted) nor a module pattern \
             (the first element of a module path has a dot); did you mean {:?}?",
            closest_kind(text)
        )));
    }
    pattern::check_module_pattern(pattern).map_err(|e| bad(&e))?;
    let range = match range {
        None => None,
        Some(r) => {
            let (ord, or_equal, v) = if let Some(v) = r.strip_prefix("<=") {
                (Ordering::Less, true, v)
            } else if let Some(v) = r.strip_prefix(">=") {
                (Ordering::Greater, true, v)
            } else if let Some(v) = r.strip_prefix('<') {
                (Ordering::Less, false, v)
            } else if let Some(v) = r.strip_prefix('>') {
                (Ordering::Greater, false, v)
            } else {
                (Ordering::Equal, true, r.strip_prefix('=').unwrap_or(r))
            };
            if !semver::is_valid(v) {
                return Err(bad(
                    "the range is <V, <=V, >V, >=V or V, with V a semantic version such as v1.2.0",
                ));
            }
            Some((ord, or_equal, semver::canonical(v)))
        }
    };
    Ok(Deny::Versions {
        pattern: pattern.to_owned(),
        range,
    })
}

/// The kind `text` is the fewest edits away from.
fn closest_kind(text: &str) -> &'static str {
    let text = text.to_ascii_lowercase();
    let head = text.split(':').next().unwrap_or_default();
    let kind = ["vulnerable", "retracted"]
        .into_iter()
        .min_by_key(|kind| edit_distance(head, kind))
        .unwrap_or("vulnerable");
    if kind == "vulnerable" && text.contains(':') {
        "vulnerable:ID"
    } else {
        kind
    }
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

fn parse_waiver(spec: &WaiverSpec) -> Result<Waiver, PolicyError> {
    let bad = |reason: String| PolicyError::Waive {
        module: spec.module.clone(),
        reason,
    };
    let (module, version) = spec
        .module
        .split_once('@')
        .ok_or_else(|| bad("want module@version".to_owned()))?;
    modgate_module::version::check(module, version).map_err(|e| bad(e.to_string()))?;
    let expires = spec.expires.parse::<jiff::civil::Date>().map_err(|e| {
        bad(format!(
            "expires {:?}: {e} (want e.g. 2027-01-31)",
            spec.expires
        ))
    })?;
    if spec.reason.trim().is_empty() {
        return Err(bad("a waiver needs a reason".to_owned()));
    }
    Ok(Waiver {
        module: module.to_owned(),
        version: version.to_owned(),
        expires,
        reason: spec.reason.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(deny: &[&str], waive: &[(&str, &str)], dry_run: bool) -> Policy {
        Policy::new(&[RuleSpec {
            deny: deny.iter().map(|d| (*d).to_owned()).collect(),
            waive: waive
                .iter()
                .map(|(m, e)| WaiverSpec {
                    module: (*m).to_owned(),
                    expires: (*e).to_owned(),
                    reason: "vendor fix pending".to_owned(),
                })
                .collect(),
            dry_run,
            ..Default::default()
        }])
        .unwrap()
    }

    fn decide(p: &Policy, module: &str, version: &str) -> Decision {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(p.decide(module, version, None, &[]))
    }

    #[test]
    fn misspelt_kinds_are_refused_with_the_closest_one() {
        for (typo, closest) in [
            ("vulnerabel", "vulnerable"),
            ("Vulnerable", "vulnerable"),
            ("retraced", "retracted"),
            ("vulnerabel:GO-2025-0001", "vulnerable:ID"),
            ("deprecated", "retracted"),
        ] {
            let e = Policy::new(&[RuleSpec {
                deny: vec![typo.to_owned()],
                ..Default::default()
            }])
            .unwrap_err()
            .to_string();
            assert!(
                e.contains(typo) && e.contains(&format!("did you mean {closest:?}")),
                "{typo}: {e}"
            );
        }
        // Whatever could match a module path is a pattern.
        for pattern in ["example.com/m@<v1.2.0", "*/x", "*.corp", "golang.org/x/*"] {
            Policy::new(&[RuleSpec {
                deny: vec![pattern.to_owned()],
                allow: vec![pattern.to_owned()],
                ..Default::default()
            }])
            .unwrap_or_else(|e| panic!("{pattern}: {e}"));
        }
    }

    #[test]
    fn version_ranges() {
        let p = policy(
            &[
                "example.com/m@<v1.2.0",
                "example.com/bad",
                "corp.example/*@>=v2.0.0",
            ],
            &[],
            false,
        );
        assert!(decide(&p, "example.com/m", "v1.1.9").denied());
        assert!(!decide(&p, "example.com/m", "v1.2.0").denied());
        assert!(decide(&p, "example.com/bad", "v0.0.1").denied());
        // A case variant names the same repository on most code hosts.
        assert!(decide(&p, "example.com/Bad", "v0.0.1").denied());
        assert!(decide(&p, "corp.example/X", "v2.0.0").denied());
        assert!(decide(&p, "corp.example/x", "v2.0.0").denied());
        assert!(!decide(&p, "corp.example/x", "v1.9.0").denied());
        assert!(!decide(&p, "example.com/other", "v1.0.0").denied());
        let Decision::Deny(line) = decide(&p, "example.com/m", "v1.0.0") else {
            panic!()
        };
        assert_eq!(
            line,
            "modgate policy: example.com/m@v1.0.0 is denied (rule \"example.com/m@<v1.2.0\")"
        );
    }

    #[test]
    fn patterns_match_prefixes_as_every_other_pattern_does() {
        let p = policy(
            &["github.com/Masterminds/*", "github.com/cpuguy83/go-md2man"],
            &[],
            false,
        );
        assert!(decide(&p, "github.com/Masterminds/semver/v3", "v3.2.0").denied());
        assert!(decide(&p, "github.com/cpuguy83/go-md2man/v2", "v2.0.4").denied());
        assert!(!decide(&p, "github.com/cpuguy83/go-md2man2", "v1.0.0").denied());
        for never in ["github.com/!burnt!sushi/toml", "github.com//toml"] {
            let err = Policy::new(&[RuleSpec {
                deny: vec![never.to_owned()],
                ..RuleSpec::default()
            }])
            .unwrap_err()
            .to_string();
            assert!(err.contains(never), "{err}");
        }
    }

    #[test]
    fn waivers_expire_and_dry_runs_only_say() {
        let p = policy(
            &["example.com/m@<v1.2.0"],
            &[
                ("example.com/m@v1.0.0", "2999-01-01"),
                ("example.com/m@v1.1.0", "2000-01-01"),
            ],
            false,
        );
        assert!(
            matches!(decide(&p, "example.com/m", "v1.0.0"), Decision::Waived(w) if w.contains("vendor fix pending"))
        );
        assert!(decide(&p, "example.com/m", "v1.1.0").denied());
        let dry = policy(&["example.com/m"], &[], true);
        assert!(matches!(
            decide(&dry, "example.com/m", "v1.0.0"),
            Decision::WouldDeny(_)
        ));
    }

    #[test]
    fn allow_lists_deny_everything_else() {
        let p = Policy::new(&[RuleSpec {
            allow: vec![
                "golang.org/x/*".to_owned(),
                "example.com/m@>=v1.2.0".to_owned(),
            ],
            ..Default::default()
        }])
        .unwrap();
        assert!(!decide(&p, "golang.org/x/text", "v0.1.0").denied());
        assert!(!decide(&p, "example.com/m", "v1.2.0").denied());
        assert_eq!(
            decide(&p, "example.com/m", "v1.1.0"),
            Decision::Deny(
                "modgate policy: example.com/m@v1.1.0 is not on the allow list".to_owned()
            )
        );
        assert!(decide(&p, "github.com/x/y", "v1.0.0").denied());
        assert!(
            Policy::new(&[RuleSpec {
                allow: vec!["vulnerable".to_owned()],
                ..Default::default()
            }])
            .is_err()
        );
        assert!(
            Policy::new(&[RuleSpec {
                deny: vec!["vulnerable:".to_owned()],
                ..Default::default()
            }])
            .is_err()
        );
    }

    #[test]
    fn retracted_versions_with_the_rationale() {
        let p = policy(&["retracted"], &[], false);
        assert!(p.needs_retractions() && !p.needs_vulndb());
        let retracted = modgate_module::modfile::retracted(
            b"module example.com/m\n// Broken build.\nretract [v1.0.0, v1.0.2]\n",
        );
        let run = |v: &str| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(p.decide("example.com/m", v, None, &retracted))
        };
        assert_eq!(
            run("v1.0.1"),
            Decision::Deny(
                "modgate policy: example.com/m@v1.0.1 is denied (rule \"retracted\"): retracted by its author: Broken build.".to_owned()
            )
        );
        assert_eq!(run("v1.0.3"), Decision::Allow);
    }

    #[test]
    fn vulnerable_without_a_database_denies() {
        let p = policy(&["vulnerable"], &[], false);
        assert!(p.needs_vulndb());
        assert!(decide(&p, "example.com/m", "v1.0.0").denied());
    }

    #[test]
    fn waivers_are_tables_or_lines() {
        #[derive(Deserialize)]
        struct File {
            policy: Vec<RuleSpec>,
        }
        let file: File = serde_json::from_str(
            r#"{"policy": [{"deny": ["example.com/m"], "waive": [
                {"module": "example.com/m@v1.0.0", "expires": "2999-01-01", "reason": "a table"},
                "example.com/m@v1.1.0 until 2999-01-01: a line"]}]}"#,
        )
        .unwrap();
        let p = Policy::new(&file.policy).unwrap();
        assert!(
            matches!(decide(&p, "example.com/m", "v1.0.0"), Decision::Waived(w) if w.contains("a table"))
        );
        assert!(
            matches!(decide(&p, "example.com/m", "v1.1.0"), Decision::Waived(w) if w.contains("a line"))
        );
        assert!(
            serde_json::from_str::<File>(r#"{"policy": [{"waive": ["example.com/m@v1.1.0"]}]}"#)
                .is_err()
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in ["example.com/m@<1.2", "", "example.com/m@<=", "[x"] {
            assert!(
                Policy::new(&[RuleSpec {
                    deny: vec![bad.to_owned()],
                    ..Default::default()
                }])
                .is_err(),
                "{bad}"
            );
        }
        let waiver = |m: &str, e: &str, r: &str| RuleSpec {
            waive: vec![WaiverSpec {
                module: m.to_owned(),
                expires: e.to_owned(),
                reason: r.to_owned(),
            }],
            ..Default::default()
        };
        assert!(Policy::new(&[waiver("example.com/m", "2027-01-01", "r")]).is_err());
        assert!(Policy::new(&[waiver("example.com/m@v1.0.0", "soon", "r")]).is_err());
        assert!(Policy::new(&[waiver("example.com/m@v1.0.0", "2027-01-01", " ")]).is_err());
        assert!(Policy::new(&[waiver("example.com/m@v1.0.0", "2027-01-01", "r")]).is_ok());
    }
}
