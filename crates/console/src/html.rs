//! What every page shares: escaping, units, the layout around a page's
//! body, and the files it loads (all from the server itself: the Content
//! Security Policy sent with each page allows nothing else).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// The header every console page is sent with: only the server's own
/// styles, script and images, forms posting back to it, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
    img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

pub const STYLE_PATH: &str = "/-/console.css";
pub const SCRIPT_PATH: &str = "/-/console.js";

pub const STYLE: &str = include_str!("console.css");
pub const SCRIPT: &str = include_str!("console.js");
pub const FAVICON: &str = include_str!("favicon.svg");

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `n` bytes in binary units, for people.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A latency; `None` is beyond the largest histogram bucket.
pub fn millis(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1000.0),
        Some(s) => format!("{s:.2} s"),
        None => "> 30 s".to_owned(),
    }
}

pub fn ago(d: Duration) -> String {
    match d.as_secs() {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

pub fn time(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at).map_or_else(|_| String::new(), |t| format!("{t:.0}"))
}

/// A `<time>` element with the instant in its attribute and words inside.
pub fn time_el(at: SystemTime) -> String {
    let t = time(at);
    format!("<time datetime=\"{t}\">{t}</time>")
}

/// `/-/module/<path>`: the module page's address, the path escaped as the
/// GOPROXY protocol escapes it (upper case as `!x`), then percent-encoded
/// where a URL needs it.
pub fn module_href(escaped_path: &str) -> String {
    let mut out = String::from("/-/module/");
    for b in escaped_path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!+".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Which page of the navigation is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Modules,
}

/// A whole page: `title`, the navigation with `nav` marked, `body`.
/// `refresh`: seconds after which the script reloads the page, unless the
/// viewer turns it off (a `<meta>` refresh could not be stopped).
pub fn page(title: &str, nav: Nav, refresh: Option<u32>, body: &str) -> String {
    let mut h = String::with_capacity(body.len() + 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">"
    );
    let current = |n: Nav| {
        if n == nav {
            " aria-current=\"page\""
        } else {
            ""
        }
    };
    let _ = writeln!(
        h,
        "<title>{}</title><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{STYLE_PATH}\"><script src=\"{SCRIPT_PATH}\" defer></script>\
         </head><body><header><a class=\"brand\" href=\"/\"><img src=\"/favicon.svg\" alt=\"\" \
         width=\"24\" height=\"24\">modgate</a><nav aria-label=\"console\"><a href=\"/\"{}>Overview</a>\
         <a href=\"/-/modules\"{}>Modules</a><a href=\"/metrics\">Metrics</a>\
         <a href=\"/readyz\">Readiness</a></nav>{}</header><main>{body}</main></body></html>",
        escape(title),
        current(Nav::Overview),
        current(Nav::Modules),
        refresh.map_or(String::new(), |secs| format!(
            "<label class=\"refresh\"><input type=\"checkbox\" id=\"auto-refresh\" \
             data-seconds=\"{secs}\" checked> refresh every {secs} s</label>"
        )),
    );
    h
}

/// A bar chart of requests (errors in their own colour) per step, drawn on
/// the server so that it shows without the script; each bar's title says
/// its numbers.
pub fn chart(id: &str, label: &str, steps: &[(u64, u64, u64)], step_minutes: u64) -> String {
    let (w, hgt) = (600.0, 80.0);
    let max = steps.iter().map(|s| s.1).max().unwrap_or(0).max(1) as f64;
    let bar = w / steps.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {w} {hgt}\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"{}\">",
        escape(label)
    );
    for (i, &(minute, requests, errors)) in steps.iter().enumerate() {
        let x = i as f64 * bar;
        let rh = requests as f64 / max * hgt;
        let eh = errors as f64 / max * hgt;
        let at = time(std::time::UNIX_EPOCH + Duration::from_secs(minute * 60));
        let _ = write!(
            svg,
            "<g><title>{at} (+{step_minutes} min): {requests} requests, {errors} errors</title>\
             <rect class=\"req\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{rh:.1}\"/>\
             <rect class=\"err\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{eh:.1}\"/></g>",
            hgt - rh,
            (bar - 0.5).max(0.5),
            hgt - eh,
            (bar - 0.5).max(0.5),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_units_read() {
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
        assert_eq!(ago(Duration::from_secs(3 * 86_400)), "3 days");
    }

    #[test]
    fn module_links_cannot_leave_the_path() {
        assert_eq!(
            module_href("github.com/!azure/x"),
            "/-/module/github.com/!azure/x"
        );
        assert_eq!(
            module_href("a.com/x?y#z\"<"),
            "/-/module/a.com/x%3Fy%23z%22%3C"
        );
    }

    #[test]
    fn pages_load_nothing_from_elsewhere() {
        let page = page("t", Nav::Modules, None, "<p>x</p>");
        let absolute: Vec<&str> = page
            .split(['"', '\''])
            .filter(|s| s.contains("://") || s.starts_with("//"))
            .collect();
        assert!(
            absolute.is_empty(),
            "absolute URLs in the layout: {absolute:?}"
        );
        assert!(page.contains("href=\"/-/modules\" aria-current=\"page\""));
    }
}
