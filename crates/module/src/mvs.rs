//! Minimal version selection over the module graph, with the graph pruning
//! of Go 1.17 and later (cmd/go/internal/modload's readModGraph): the build
//! list `go list -m all` prints, computed from go.mod files alone.
//!
//! The graph is pure logic: [`Graph::pending`] names the go.mod files it
//! needs next and the caller, which may fetch them concurrently, hands them
//! over with [`Graph::add`] until nothing is pending.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::semver;

/// A module version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModVer {
    pub path: String,
    pub version: String,
}

impl ModVer {
    pub fn new(path: &str, version: &str) -> Self {
        Self {
            path: path.to_owned(),
            version: version.to_owned(),
        }
    }
}

impl std::fmt::Display for ModVer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.path, self.version)
    }
}

/// What the graph needs of one go.mod: its `go` version and requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub go: Option<String>,
    pub requires: Vec<ModVer>,
}

impl Summary {
    /// What the graph needs of the go.mod `data`; `None` if its
    /// requirements do not parse (go refuses such a go.mod).
    pub fn of_go_mod(data: &[u8]) -> Option<Self> {
        Some(Self {
            go: crate::modfile::go_directive(data),
            requires: crate::modfile::requirements(data)?
                .into_iter()
                .map(|r| ModVer::new(&r.path, &r.version))
                .collect(),
        })
    }

    /// Go 1.17 and later go.mod files list every module their packages
    /// need, so the graph does not go past their requirements.
    fn pruned(&self) -> bool {
        self.go.as_deref().is_some_and(at_least_1_17)
    }
}

fn at_least_1_17(go: &str) -> bool {
    let mut parts = go.split('.');
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts
        .next()
        .map(|p| &p[..p.bytes().take_while(u8::is_ascii_digit).count()])
        .and_then(|p| p.parse::<u32>().ok());
    match (major, minor) {
        (Some(1), Some(minor)) => minor >= 17,
        (Some(major), _) => major > 1,
        _ => false,
    }
}

pub struct Graph {
    main: String,
    /// The highest version of each module path in the graph.
    selected: BTreeMap<String, String>,
    /// Module versions whose requirements are to be read, and whether in
    /// an unpruned part of the graph.
    work: Vec<(ModVer, bool)>,
    queued: HashSet<(ModVer, bool)>,
    loaded: HashMap<ModVer, Summary>,
}

impl Graph {
    /// The graph of the main module `main`, whose go.mod is `summary`.
    pub fn new(main: &str, summary: &Summary) -> Self {
        let mut g = Self {
            main: main.to_owned(),
            selected: BTreeMap::new(),
            work: Vec::new(),
            queued: HashSet::new(),
            loaded: HashMap::new(),
        };
        let unpruned = !summary.pruned();
        for r in &summary.requires {
            g.note(r);
            g.enqueue(r.clone(), unpruned);
        }
        g
    }

    /// The module versions whose go.mod is needed next; empty when the
    /// graph is complete.
    pub fn pending(&mut self) -> Vec<ModVer> {
        loop {
            let mut missing = BTreeSet::new();
            let mut progressed = false;
            for (m, unpruned) in std::mem::take(&mut self.work) {
                match self.loaded.get(&m) {
                    Some(summary) => {
                        progressed = true;
                        let summary = summary.clone();
                        self.expand(&summary, unpruned);
                    }
                    None => {
                        missing.insert(m.clone());
                        self.work.push((m, unpruned));
                    }
                }
            }
            if !progressed || self.work.is_empty() {
                return missing.into_iter().collect();
            }
        }
    }

    /// The go.mod of `m`, as [`Graph::pending`] asked for it.
    pub fn add(&mut self, m: ModVer, summary: Summary) {
        self.loaded.insert(m, summary);
    }

    /// The selected version of every module but the main one, by path.
    pub fn build_list(&self) -> Vec<ModVer> {
        self.selected
            .iter()
            .map(|(path, version)| ModVer::new(path, version))
            .collect()
    }

    fn note(&mut self, m: &ModVer) {
        if m.path == self.main {
            return;
        }
        match self.selected.get_mut(&m.path) {
            Some(v) if semver::compare(&m.version, v).is_gt() => v.clone_from(&m.version),
            Some(_) => {}
            None => {
                self.selected.insert(m.path.clone(), m.version.clone());
            }
        }
    }

    fn enqueue(&mut self, m: ModVer, unpruned: bool) {
        if m.path != self.main && self.queued.insert((m.clone(), unpruned)) {
            self.work.push((m, unpruned));
        }
    }

    /// A loaded module's requirements are in the graph; they are read in
    /// turn when it is in an unpruned part of the graph or is itself
    /// unpruned (older than Go 1.17), as modload does.
    fn expand(&mut self, summary: &Summary, unpruned: bool) {
        for r in &summary.requires {
            self.note(r);
        }
        if unpruned || !summary.pruned() {
            for r in &summary.requires {
                self.enqueue(r.clone(), true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(go: Option<&str>, reqs: &[&str]) -> Summary {
        Summary {
            go: go.map(str::to_owned),
            requires: reqs
                .iter()
                .map(|r| {
                    let (p, v) = r.split_once('@').unwrap();
                    ModVer::new(p, v)
                })
                .collect(),
        }
    }

    /// Runs the graph to completion against a table of go.mod files.
    fn solve(main: &Summary, mods: &[(&str, Summary)]) -> (Vec<String>, Vec<String>) {
        let table: HashMap<&str, &Summary> = mods.iter().map(|(k, s)| (*k, s)).collect();
        let mut g = Graph::new("main", main);
        let mut read = Vec::new();
        loop {
            let want = g.pending();
            if want.is_empty() {
                break;
            }
            for m in want {
                let key = m.to_string();
                read.push(key.clone());
                let s = table
                    .get(key.as_str())
                    .map_or_else(Summary::default, |s| (*s).clone());
                g.add(m, s);
            }
        }
        read.sort();
        (
            g.build_list().iter().map(ToString::to_string).collect(),
            read,
        )
    }

    #[test]
    fn unpruned_graph_takes_the_highest_version_anywhere() {
        // The classic MVS example (research.swtch.com/vgo-mvs).
        let main = summary(None, &["b@v1.2.0", "c@v1.2.0"]);
        let mods = [
            ("b@v1.2.0", summary(None, &["d@v1.3.0"])),
            ("c@v1.2.0", summary(None, &["d@v1.4.0"])),
            ("d@v1.3.0", summary(None, &["e@v1.2.0"])),
            ("d@v1.4.0", summary(None, &["e@v1.2.0"])),
            ("e@v1.2.0", summary(None, &["main@v0.1.0"])),
        ];
        let (list, _) = solve(&main, &mods);
        assert_eq!(list, ["b@v1.2.0", "c@v1.2.0", "d@v1.4.0", "e@v1.2.0"]);
    }

    #[test]
    fn pruned_modules_are_not_read_past_their_requirements() {
        let main = summary(Some("1.21"), &["a@v1.0.0"]);
        let mods = [
            ("a@v1.0.0", summary(Some("1.17"), &["b@v1.1.0"])),
            // Never read: a is pruned, so b's requirements stay out.
            ("b@v1.1.0", summary(Some("1.17"), &["c@v9.0.0"])),
        ];
        let (list, read) = solve(&main, &mods);
        assert_eq!(list, ["a@v1.0.0", "b@v1.1.0"]);
        assert_eq!(read, ["a@v1.0.0"]);
    }

    #[test]
    fn an_old_module_brings_its_whole_graph() {
        let main = summary(Some("1.21"), &["old@v1.0.0"]);
        let mods = [
            ("old@v1.0.0", summary(None, &["x@v1.0.0"])),
            ("x@v1.0.0", summary(Some("1.20"), &["y@v1.5.0"])),
            ("y@v1.5.0", summary(Some("1.20"), &["z@v0.1.0"])),
        ];
        let (list, read) = solve(&main, &mods);
        assert_eq!(list, ["old@v1.0.0", "x@v1.0.0", "y@v1.5.0", "z@v0.1.0"]);
        assert_eq!(read, ["old@v1.0.0", "x@v1.0.0", "y@v1.5.0", "z@v0.1.0"]);
    }

    #[test]
    fn go_versions() {
        assert!(at_least_1_17("1.17"));
        assert!(at_least_1_17("1.21.3"));
        assert!(at_least_1_17("1.22rc1"));
        assert!(!at_least_1_17("1.16"));
        assert!(!at_least_1_17("x"));
    }
}
