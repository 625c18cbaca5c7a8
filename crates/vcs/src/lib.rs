//! Go modules built from version control, as the go command's
//! `GOPROXY=direct` mode builds them, so every hash is the one go computes.
//! Usable without the server: [`resolve`] maps a module path to its
//! repository (repo map, the go command's known hosts, `?go-get=1`
//! discovery), [`git`] runs the `git` binary on bare mirrors (coalesced
//! fetches, timeouts, redaction), and [`Direct`] answers the GOPROXY
//! questions — list, latest, a version's info, go.mod and zip — with
//! cmd/go's coderepo rules (`direct::coderepo`) and zips written from
//! `git archive` (`direct::archive`).

mod direct;
pub mod git;
pub mod resolve;
pub mod settings;

pub use direct::{Direct, DirectSettings, Error, Listing};
