//! End-to-end tests: the real modgate binary, the real go command, local
//! git repositories and local mirrors on loopback.

mod support;

mod abuse;
mod access;
mod admin;
mod audit;
mod bad_input;
mod bundle;
mod catalog;
mod config;
mod console;
mod container;
mod deploy;
mod direct;
mod dl;
mod doctor;
mod explain;
mod failover;
mod gate;
mod goauth;
mod goproxy;
mod operations;
mod othervcs;
mod policy;
mod publish;
mod retention;
mod s3;
mod safeguards;
mod setup;
mod ssrf;
mod status;
mod sumdb;
mod tls;
mod toolchain;
mod upstreams;
mod vulndb;
