//! Go modules built from version control, as the go command's
//! `GOPROXY=direct` mode builds them, so every hash is the one go computes.
//! Usable without the server: [`resolve`] maps a module path to its
//! repository (repo map, the go command's known hosts, `?go-get=1`
//! discovery), [`git`] runs the `git` binary on bare mirrors (coalesced
//! fetches, timeouts, redaction), and [`Direct`] answers the GOPROXY
//! questions — list, latest, a version's info, go.mod and zip — with
//! cmd/go's coderepo rules (`direct::coderepo`) and zips written from
//! `git archive` (`direct::archive`). [`other`] reads Mercurial,
//! Subversion, Bazaar and Fossil repositories with their own tools, as go
//! does, behind the same [`CodeHost`] interface; [`GoVcs`] (GOVCS) says
//! which system may serve which module.

mod direct;
pub mod git;
mod govcs;
mod host;
pub mod other;
pub mod resolve;
pub mod settings;

pub use direct::{Direct, DirectSettings, Error, Listing};
pub use govcs::GoVcs;
pub use host::CodeHost;
