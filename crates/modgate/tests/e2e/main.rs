//! End-to-end tests: the real modgate binary, the real go command, local
//! git repositories and local mirrors on loopback.

mod support;

mod access;
mod audit;
mod bad_input;
mod bundle;
mod deploy;
mod direct;
mod doctor;
mod explain;
mod failover;
mod goproxy;
mod operations;
mod policy;
mod s3;
mod ssrf;
mod sumdb;
mod tls;
mod toolchain;
mod upstreams;
mod vulndb;
