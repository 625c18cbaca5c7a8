//! Modules built from their git repository (`modgate-vcs`), as a fetcher.

use std::sync::Arc;

use async_trait::async_trait;
use modgate_redact::Chain;
use modgate_vcs::{Direct, Error};

use super::http::HttpUpstream;
use super::{FetchError, Fetched, Fetcher, Policy, Want};
use crate::ingest::Invalid;
use crate::moved::MovedTags;
use crate::protocol::{Kind, Request};

pub struct DirectFetcher {
    direct: Arc<Direct>,
    /// For module proxies that go-import `mod` entries on the operator's
    /// hosts name.
    client: reqwest::Client,
    /// For those that a page the request chose names: it keeps to the
    /// destination policy (see [`DirectFetcher::guarded_client`]).
    guarded_client: reqwest::Client,
    policy: Policy,
    /// Where the tags of stored versions are checked on every list.
    moved: Option<Arc<MovedTags>>,
}

impl DirectFetcher {
    /// The client for the module proxies that go-import `mod` entries
    /// name, which a request chose: on the direct mode's destination policy.
    pub fn guarded_client(direct: &Direct, policy: &Policy) -> reqwest::Result<reqwest::Client> {
        direct
            .policy()
            .client_builder(false)
            .connect_timeout(policy.connect_timeout)
            .read_timeout(policy.idle_timeout)
            .build()
    }

    pub fn new(
        direct: Arc<Direct>,
        client: reqwest::Client,
        guarded_client: reqwest::Client,
        policy: &Policy,
        moved: Option<Arc<MovedTags>>,
    ) -> Self {
        Self {
            direct,
            client,
            guarded_client,
            policy: policy.clone(),
            moved,
        }
    }
}

#[async_trait]
impl Fetcher for DirectFetcher {
    fn name(&self) -> &str {
        "direct"
    }

    fn remote(&self) -> bool {
        false
    }

    async fn fetch(
        &self,
        req: &Request,
        want: &Want<'_>,
        _answered: &mut (dyn FnMut() + Send),
    ) -> Result<Fetched, FetchError> {
        let d = &self.direct;
        let module = req.module.as_str();
        let built = match &req.kind {
            Kind::List => match d.listing(module).await {
                Ok(listing) => {
                    if let (Some(moved), Some((url, refs))) = (&self.moved, &listing.git) {
                        moved.check(module, url, refs).await;
                    }
                    Ok(Fetched::Bytes(listing.text))
                }
                Err(e) => Err(e),
            },
            Kind::Latest => d
                .latest(module)
                .await
                .map(|i| Fetched::Bytes(i.to_json().into())),
            Kind::Info(rev) => d
                .stat(module, rev)
                .await
                .map(|i| Fetched::Bytes(i.to_json().into())),
            Kind::Mod(v) => d.go_mod(module, v).await.map(Fetched::Bytes),
            Kind::Zip(v) => {
                let Want::File { temp, .. } = want else {
                    return Err(FetchError::Invalid(Invalid::Shape(
                        "a zip is always staged to disk",
                    )));
                };
                d.zip(module, v, *temp).await.map(Fetched::File)
            }
        };
        match built {
            Ok(fetched) => Ok(fetched),
            Err(Error::Staging(e)) => Err(FetchError::Staging(e)),
            // A go-import `mod` entry: the module lives on that proxy.
            Err(Error::Proxy { url, guarded }) => {
                let proxy = if guarded {
                    HttpUpstream::discovered(
                        &url,
                        self.guarded_client.clone(),
                        self.direct.policy().clone(),
                        &self.policy,
                    )
                } else {
                    HttpUpstream::new(&url, self.client.clone(), &self.policy)
                };
                proxy
                    .fetch_path(req.upstream_path(), want, &mut || {})
                    .await
            }
            Err(e) if e.is_not_found() => Err(FetchError::NotFound(Chain(&e).to_string())),
            Err(e) => Err(FetchError::Unavailable(Chain(&e).to_string())),
        }
    }
}
