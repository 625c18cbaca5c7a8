//! Checksum databases at the proxy: [`client`] verifies public modules
//! against the configured GOSUMDB and passes its files on to go commands;
//! modgate's own log is `modgate-sumdb-server`'s. Both answer
//! `/sumdb/<name>/…` through [`Database`].

pub mod client;

pub(crate) use modgate_sumdb_server::{Database, SumdbAnswer, SumdbError, private};

#[cfg(test)]
mod testdb;
