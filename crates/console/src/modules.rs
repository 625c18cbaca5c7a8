//! The module browser: `/-/modules?q=` (search by path) and
//! `/-/module/<path>` (a module's versions and what is known of them). The
//! server passes only what the viewer may read.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::html::{Nav, bytes, escape, module_href, page, time_el};

/// One module in the search results.
pub struct Found {
    pub path: String,
    /// The path as the GOPROXY protocol escapes it.
    pub escaped: String,
    pub versions: usize,
    /// The highest version by semver.
    pub latest: String,
    pub bytes: u64,
    /// When its newest version was stored.
    pub stored: SystemTime,
}

/// The search page: the form, and `found` (at most a page of them) of
/// `matched` modules matching `q`; for an admin, with `prefetch`'s form
/// token, a form to prefetch what a go.sum names.
pub fn search(q: &str, found: &[Found], matched: usize, prefetch: Option<&str>) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<h1>Modules</h1><form class=\"search\" role=\"search\" action=\"/-/modules\" method=\"get\">\
         <label for=\"q\" class=\"muted\">Path contains</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{}\" autocomplete=\"off\" \
         placeholder=\"golang.org/x/\"><button type=\"submit\">Search</button></form>",
        escape(q)
    );
    let _ = write!(
        h,
        "<div id=\"results\"><p id=\"matched\" class=\"muted\">{matched} module{} {}{}</p>",
        if matched == 1 { "" } else { "s" },
        if q.is_empty() {
            "cached".to_owned()
        } else {
            format!("matching “{}”", escape(q))
        },
        if found.len() < matched {
            format!("; the first {} shown", found.len())
        } else {
            String::new()
        }
    );
    if !found.is_empty() {
        h.push_str(
            "<div class=\"scroll\" tabindex=\"0\"><table id=\"modules\"><thead><tr><th scope=\"col\">module</th>\
             <th scope=\"col\" class=\"num\">versions</th><th scope=\"col\">latest</th>\
             <th scope=\"col\" class=\"num\">size</th><th scope=\"col\">last stored</th></tr></thead><tbody>",
        );
        for f in found {
            let _ = write!(
                h,
                "<tr data-module=\"{path}\"><td><a href=\"{}\">{path}</a></td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&module_href(&f.escaped)),
                f.versions,
                escape(&f.latest),
                bytes(f.bytes),
                time_el(f.stored),
                path = escape(&f.path),
            );
        }
        h.push_str("</tbody></table></div>");
    }
    h.push_str("</div>");
    if let Some(token) = prefetch {
        let _ = write!(
            h,
            "<h2>Prefetch</h2><form class=\"admin prefetch\" method=\"post\" action=\"/admin/api/prefetch\">\
             <label for=\"gosum\">Paste a go.sum: every version it names is fetched, checked and stored \
             (access rules and policy apply).</label><textarea id=\"gosum\" name=\"gosum\" rows=\"6\" \
             required></textarea><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Prefetch</button><output></output></form>",
            escape(token)
        );
    }
    page("modgate modules", Nav::Modules, None, &h)
}

/// Where a version came from, as its `.info` records it.
pub struct Origin {
    pub vcs: String,
    pub url: String,
    pub hash: String,
    pub subdir: String,
    pub reference: String,
}

pub struct Version {
    pub version: String,
    /// The `.info`'s `Time`.
    pub time: Option<String>,
    pub bytes: u64,
    pub origin: Option<Origin>,
    /// Answers of its zip since start.
    pub served: u64,
    /// When it was last served: since start, else the newest day marker.
    pub last_served: Option<String>,
    /// The rationale of the latest go.mod's `retract` covering it.
    pub retracted: Option<String>,
    /// Ids of the advisories affecting it.
    pub vulnerable: Vec<String>,
    /// The policy's decision (allow, deny, would_deny, waived) and why.
    pub policy: Option<(&'static str, String)>,
    /// In modgate's own checksum database.
    pub recorded: bool,
}

pub struct Advisory {
    pub id: String,
    pub summary: String,
    pub aliases: Vec<String>,
}

pub struct Requirement {
    pub path: String,
    pub version: String,
    pub indirect: bool,
    /// Its escaped path, when it is cached and the viewer may read it.
    pub cached: Option<String>,
}

/// A cached module version whose go.mod requires this module.
pub struct Dependent {
    pub path: String,
    pub escaped: String,
    pub version: String,
    pub requires: String,
}

/// A form for one admin action on the module page.
pub struct Action {
    /// Where it posts.
    pub action: String,
    pub label: String,
    /// Hidden fields: name, value.
    pub fields: Vec<(String, String)>,
    pub danger: bool,
}

pub struct Module {
    pub path: String,
    /// Newest first.
    pub versions: Vec<Version>,
    /// The latest version's go.mod's `Deprecated:` text.
    pub deprecated: Option<String>,
    /// The version whose go.mod the retractions, deprecation and
    /// requirements are read from.
    pub latest: Option<String>,
    /// The advisories naming the module, or why they are not known.
    pub advisories: Result<Vec<Advisory>, String>,
    /// The license files at the root of the latest version's zip.
    pub license: Result<Vec<String>, String>,
    pub requires: Vec<Requirement>,
    /// At most a page of the dependents, of `dependents`.
    pub required_by: Vec<Dependent>,
    pub dependents: usize,
    /// Whether the viewer is an admin (who gets the actions).
    pub admin: bool,
    /// Admin actions, by version.
    pub actions: Vec<(String, Vec<Action>)>,
    /// Actions on the module as a whole.
    pub module_actions: Vec<Action>,
}

fn form(h: &mut String, a: &Action) {
    // The script asks before a dangerous one.
    let confirm = if a.danger {
        format!(" data-confirm=\"{}?\"", escape(&a.label))
    } else {
        String::new()
    };
    let _ = write!(
        h,
        "<form class=\"admin\" method=\"post\" action=\"{}\"{confirm}>",
        escape(&a.action)
    );
    for (k, v) in &a.fields {
        let _ = write!(
            h,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(k),
            escape(v)
        );
    }
    let _ = write!(
        h,
        "<button type=\"submit\"{}>{}</button><output></output></form>",
        if a.danger { " class=\"danger\"" } else { "" },
        escape(&a.label)
    );
}

pub fn module(m: &Module) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<h1 id=\"module\">{}</h1><dl id=\"facts\"><dt>versions cached</dt><dd id=\"version-count\">{}</dd>",
        escape(&m.path),
        m.versions.len()
    );
    if let Some(latest) = &m.latest {
        let _ = write!(
            h,
            "<dt>latest</dt><dd id=\"latest\">{}</dd>",
            escape(latest)
        );
    }
    let _ = write!(
        h,
        "<dt>deprecated</dt><dd id=\"deprecated\"{}>{}</dd>",
        if m.deprecated.is_some() {
            " class=\"warn\""
        } else {
            ""
        },
        m.deprecated
            .as_deref()
            .map_or("no".to_owned(), |d| format!("yes: {}", escape(d)))
    );
    let license = match &m.license {
        Ok(names) if names.is_empty() => "none found at the module root".to_owned(),
        Ok(names) => escape(&names.join(", ")),
        Err(why) => format!("<span class=\"muted\">{}</span>", escape(why)),
    };
    let _ = write!(
        h,
        "<dt>license file</dt><dd id=\"license\">{license}</dd></dl>"
    );
    if !m.module_actions.is_empty() {
        h.push_str("<div class=\"actions\" id=\"module-actions\">");
        for a in &m.module_actions {
            form(&mut h, a);
        }
        h.push_str("</div>");
    }

    h.push_str(
        "<h2>Versions</h2><div class=\"scroll\" tabindex=\"0\"><table id=\"versions\"><thead><tr>\
         <th scope=\"col\">version</th><th scope=\"col\">time</th><th scope=\"col\" class=\"num\">size</th>\
         <th scope=\"col\">origin</th><th scope=\"col\" class=\"num\">served</th>\
         <th scope=\"col\">last served</th><th scope=\"col\">status</th>",
    );
    if m.admin {
        h.push_str("<th scope=\"col\">actions</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for v in &m.versions {
        let origin = match &v.origin {
            None => "<span class=\"muted\">not recorded</span>".to_owned(),
            Some(o) => {
                let mut cell = format!(
                    "<span class=\"vcs\">{}</span> <span class=\"url\">{}</span>",
                    escape(&o.vcs),
                    escape(&o.url)
                );
                if !o.subdir.is_empty() {
                    let _ = write!(
                        cell,
                        " <span class=\"subdir\">subdir {}</span>",
                        escape(&o.subdir)
                    );
                }
                if !o.hash.is_empty() {
                    let _ = write!(
                        cell,
                        "<br><code class=\"commit\" title=\"{0}\">{0}</code>",
                        escape(&o.hash)
                    );
                }
                if !o.reference.is_empty() {
                    let _ = write!(cell, " <span class=\"ref\">{}</span>", escape(&o.reference));
                }
                cell
            }
        };
        let mut status = Vec::new();
        if let Some(why) = &v.retracted {
            status.push(format!(
                "<span class=\"tag warn retracted\" title=\"{0}\">retracted</span> {0}",
                escape(why)
            ));
        }
        for id in &v.vulnerable {
            status.push(format!(
                "<span class=\"tag bad vulnerable\">{}</span>",
                escape(id)
            ));
        }
        if let Some((label, why)) = &v.policy {
            status.push(format!(
                "<span class=\"policy {label}\">policy: {}</span>",
                escape(&if why.is_empty() {
                    label.replace('_', " ")
                } else {
                    format!("{}: {why}", label.replace('_', " "))
                })
            ));
        }
        if v.recorded {
            status.push("<span class=\"tag ok\">in own checksum database</span>".to_owned());
        }
        let _ = write!(
            h,
            "<tr data-version=\"{ver}\"><th scope=\"row\">{ver}</th><td class=\"time\">{}</td>\
             <td class=\"num size\" data-bytes=\"{}\">{}</td><td class=\"origin\">{origin}</td>\
             <td class=\"num served\">{}</td><td class=\"last-served\">{}</td><td class=\"status\">{}</td>",
            escape(v.time.as_deref().unwrap_or("")),
            v.bytes,
            bytes(v.bytes),
            v.served,
            escape(v.last_served.as_deref().unwrap_or("never")),
            status.join("<br>"),
            ver = escape(&v.version),
        );
        if m.admin {
            h.push_str("<td class=\"actions\">");
            let mut forms = m
                .actions
                .iter()
                .filter(|(ver, _)| *ver == v.version)
                .flat_map(|(_, a)| a)
                .peekable();
            if forms.peek().is_none() && v.recorded {
                h.push_str(
                    "<span class=\"muted\">kept: modgate's checksum database vouches for it</span>",
                );
            }
            for a in forms {
                form(&mut h, a);
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");

    h.push_str("<h2>Vulnerabilities</h2>");
    match &m.advisories {
        Err(why) => {
            let _ = write!(
                h,
                "<p id=\"advisories\" class=\"muted\">{}</p>",
                escape(why)
            );
        }
        Ok(list) if list.is_empty() => {
            h.push_str(
                "<p id=\"advisories\">No advisory in the mirrored database names this module.</p>",
            );
        }
        Ok(list) => {
            h.push_str("<ul id=\"advisories\">");
            for a in list {
                let aliases = if a.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", escape(&a.aliases.join(", ")))
                };
                let _ = write!(
                    h,
                    "<li><a href=\"/vuln/ID/{id}.json\" class=\"advisory\">{id}</a>{aliases}: {}</li>",
                    escape(&a.summary),
                    id = escape(&a.id),
                );
            }
            h.push_str("</ul>");
        }
    }

    h.push_str("<h2>Requirements</h2>");
    if m.requires.is_empty() {
        h.push_str("<p id=\"requires\">None in the latest go.mod.</p>");
    } else {
        h.push_str("<ul id=\"requires\">");
        for r in &m.requires {
            let name = match &r.cached {
                Some(escaped) => format!(
                    "<a href=\"{}\">{}</a>",
                    escape(&module_href(escaped)),
                    escape(&r.path)
                ),
                None => escape(&r.path),
            };
            let _ = write!(
                h,
                "<li>{name} {}{}</li>",
                escape(&r.version),
                if r.indirect {
                    " <span class=\"muted\">indirect</span>"
                } else {
                    ""
                }
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>Required by</h2>");
    if m.required_by.is_empty() {
        h.push_str("<p id=\"required-by\">No cached module you may read requires it.</p>");
    } else {
        if m.dependents > m.required_by.len() {
            let _ = write!(
                h,
                "<p class=\"muted\">{} cached module versions require it; the first {} are shown.</p>",
                m.dependents,
                m.required_by.len()
            );
        }
        h.push_str("<ul id=\"required-by\">");
        for d in &m.required_by {
            let _ = write!(
                h,
                "<li><a href=\"{}\">{}</a>@{} requires {}</li>",
                escape(&module_href(&d.escaped)),
                escape(&d.path),
                escape(&d.version),
                escape(&d.requires)
            );
        }
        h.push_str("</ul>");
    }
    page(&format!("{} · modgate", m.path), Nav::Modules, None, &h)
}

/// The page for a module the viewer may not read, or that is not cached:
/// the same words for both.
pub fn not_found(path: &str) -> String {
    page(
        "not found · modgate",
        Nav::Modules,
        None,
        &format!(
            "<h1>Not found</h1><p>No module {} in the cache. <a href=\"/-/modules\">Search</a>.</p>",
            escape(path)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_results_link_to_escaped_module_pages() {
        let found = [Found {
            path: "github.com/Azure/x".into(),
            escaped: "github.com/!azure/x".into(),
            versions: 2,
            latest: "v1.0.0".into(),
            bytes: 10,
            stored: SystemTime::now(),
        }];
        let html = search("<q>", &found, 3, None);
        assert!(
            html.contains("href=\"/-/module/github.com/!azure/x\""),
            "{html}"
        );
        assert!(!html.contains("<q>"));
        assert!(html.contains("3 modules matching"), "{html}");
    }

    fn page(admin: bool) -> Module {
        Module {
            path: "example.com/m".into(),
            versions: vec![Version {
                version: "v1.0.0".into(),
                time: None,
                bytes: 1,
                origin: None,
                served: 0,
                last_served: None,
                retracted: None,
                vulnerable: Vec::new(),
                policy: None,
                recorded: true,
            }],
            deprecated: None,
            latest: Some("v1.0.0".into()),
            advisories: Ok(Vec::new()),
            license: Ok(Vec::new()),
            requires: Vec::new(),
            required_by: Vec::new(),
            dependents: 0,
            admin,
            actions: Vec::new(),
            module_actions: admin
                .then(|| Action {
                    action: "/admin/api/refresh".into(),
                    label: "Refresh".into(),
                    fields: vec![("token".into(), "\"><script>".into())],
                    danger: false,
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn only_admins_get_forms_and_a_vouched_version_none() {
        let html = module(&page(true));
        assert!(html.contains("<form class=\"admin\""), "{html}");
        assert!(
            !html.contains("<script>"),
            "hidden fields are escaped: {html}"
        );
        assert!(html.contains("vouches for it"), "{html}");
        let html = module(&page(false));
        assert!(!html.contains("<form"), "{html}");
        assert!(!html.contains(">actions<"), "{html}");
    }
}
