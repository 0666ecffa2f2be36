//! The KV version 2 calls of Vault and OpenBao, on the project's one HTTP stack
//! (`fetch::service`: proxy rule, no redirects, private CA, the retry loop, bounded
//! bodies): what the token may do (`sys/capabilities-self`), a secret's latest version,
//! and a check-and-set write of a new version.
//!
//! Every mount is checked once to be a KV version 2 mount before its first read or
//! write: a KV version 1 mount would take `POST mount/data/path` as a secret named
//! `data/path` and store the body as it is, without an error.
//!
//! Shapes read on OpenBao 2.7.2 (`bao server -dev`) and in Vault's API documentation:
//! `POST /v1/sys/capabilities-self {"paths": [..]}` answers `{"data": {"<path>": [caps]}}`
//! (also repeated at the top level); `GET /v1/{mount}/data/{path}` answers 200 with
//! `data.data` and `data.metadata.version`, 404 with `{"errors": []}` for a path never
//! written, and 404 with `data.metadata` (and `data.data: null`) when the latest version
//! is deleted; `POST` with `options.cas` answers 200 with `data.version`, or 400
//! `{"errors": ["check-and-set parameter did not match the current version"]}`; a token
//! that may not answers 403 `{"errors": ["permission denied"]}`, an unknown route 404
//! with a non-empty `errors`; `GET /v1/sys/internal/ui/mounts/{mount}` answers the
//! mount's `path`, `type` and `options.version` (403 for a mount the token cannot see).

use super::digest::SecretDigest;
use super::error::StoreError;
use super::settings::{StoreSettings, VAULT_ADDR, VAULT_CACERT, VAULT_NAMESPACE, VAULT_TOKEN};
use super::Location;
use crate::escape::percent_encode_path;
use crate::fetch::service::{Header, Method, Service, ServiceSettings};
use crate::fetch::{is_transient, Answer, Redactions};
use crate::sync::lock;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// The text of KV v2's check-and-set refusal (400).
const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";
/// Paths asked per `sys/capabilities-self` request (a bounded request and answer).
const CAPABILITIES_BATCH: usize = 500;

/// What a delivery writes: the KV data keys `client_id`, `client_secret` and, when known,
/// `token_endpoint`. The path belongs to the delivery: a write replaces every key.
pub struct SecretData {
    pub client_id: String,
    pub client_secret: SecretString,
    pub token_endpoint: Option<String>,
}

impl std::fmt::Debug for SecretData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretData")
            .field("client_id", &self.client_id)
            .field("client_secret", &"(redacted)")
            .field("token_endpoint", &self.token_endpoint)
            .finish()
    }
}

/// The delivery keys of a stored version, as found (a key may be missing or not a string).
pub struct Stored {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub token_endpoint: Option<String>,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "(redacted)"),
            )
            .field("token_endpoint", &self.token_endpoint)
            .finish()
    }
}

impl Stored {
    /// Whether this holds exactly `data` (the secret compared by digest).
    pub fn holds(&self, data: &SecretData) -> bool {
        self.client_id.as_deref() == Some(data.client_id.as_str())
            && self.token_endpoint == data.token_endpoint
            && self
                .client_secret
                .as_ref()
                .is_some_and(|s| SecretDigest::of(s) == SecretDigest::of(&data.client_secret))
    }
}

/// A secret path's latest version.
#[derive(Debug)]
pub struct Current {
    /// The version number: the `cas` a write of the next version must carry.
    pub version: u64,
    /// `None` when that version is deleted or destroyed (nothing to read, but the next
    /// write still needs `version` as its `cas`).
    pub data: Option<Stored>,
}

/// A token's capabilities on one path, as `sys/capabilities-self` names them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities(BTreeSet<String>);

impl Capabilities {
    /// Capabilities with these names.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Capabilities {
        Capabilities(names.into_iter().map(str::to_string).collect())
    }

    /// Whether the token may do `capability` (`deny` wins over everything, `root` grants
    /// everything).
    pub fn allows(&self, capability: &str) -> bool {
        !self.0.contains("deny") && (self.0.contains("root") || self.0.contains(capability))
    }

    /// The capability a write needs: `create` for a path that holds no version yet,
    /// `update` for a new version of an existing one.
    pub fn needed_to_write(exists: bool) -> &'static str {
        if exists {
            "update"
        } else {
            "create"
        }
    }

    /// The capability names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl std::fmt::Display for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.names().collect();
        f.write_str(&names.join(", "))
    }
}

/// A write about to be made, for [`KvClient::check_writable`].
#[derive(Debug, Clone)]
pub struct Write {
    pub location: Location,
    /// The path already holds a version (a write then needs `update`, else `create`).
    pub exists: bool,
}

/// A write the token may not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub location: Location,
    /// What the token may do there.
    pub has: Capabilities,
    /// What the write needs.
    pub needs: &'static str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VAULT_TOKEN may not write {}: grant `{}` on `{}` in the token's policy (it has: {})",
            self.location,
            self.needs,
            self.location.api_path(),
            self.has
        )
    }
}

/// A client of one store.
pub struct KvClient {
    service: Service,
    token: SecretString,
    max_retries: u32,
    /// Mounts already checked to be KV version 2.
    kv2_mounts: Mutex<BTreeSet<String>>,
}

impl KvClient {
    /// Checks the settings (the address, the CA bundle, header values) and builds the
    /// client. Nothing is sent yet.
    pub fn new(settings: &StoreSettings) -> Result<KvClient, StoreError> {
        let mut headers = vec![Header::Secret {
            name: "x-vault-token",
            setting: VAULT_TOKEN,
            value: settings.token.clone(),
        }];
        if let Some(namespace) = &settings.namespace {
            headers.push(Header::Plain {
                name: "x-vault-namespace",
                setting: VAULT_NAMESPACE,
                value: namespace.clone(),
            });
        }
        let service = Service::new(
            ServiceSettings {
                address_setting: VAULT_ADDR,
                address: &settings.address,
                ca_cert: settings.ca_cert.as_deref(),
                ca_setting: VAULT_CACERT,
                allow_insecure_http: settings.allow_insecure_http,
                timeout: settings.timeout,
                max_retries: settings.max_retries,
                max_body: settings.max_response_bytes,
                proxies: &settings.proxies,
            },
            headers,
        )
        .map_err(|e| StoreError::from_fetch(&settings.address, e))?;
        Ok(KvClient {
            service,
            token: settings.token.clone(),
            max_retries: settings.max_retries,
            kv2_mounts: Mutex::new(BTreeSet::new()),
        })
    }

    /// The store's address, for messages.
    pub fn address(&self) -> &str {
        self.service.address()
    }

    /// Set it to stop retrying (a cancelled run).
    pub fn cancellation(&self) -> Arc<AtomicBool> {
        self.service.cancellation()
    }

    /// What the token may do on each location's data path (`sys/capabilities-self`).
    pub async fn capabilities(
        &self,
        locations: &[Location],
    ) -> Result<BTreeMap<Location, Capabilities>, StoreError> {
        let mut found = BTreeMap::new();
        for batch in locations.chunks(CAPABILITIES_BATCH) {
            let what = format!(
                "asking what VAULT_TOKEN may do on {} path(s) (POST /v1/sys/capabilities-self)",
                batch.len()
            );
            let paths: Vec<String> = batch.iter().map(Location::api_path).collect();
            let body = json!({ "paths": paths });
            let answer = self
                .call(
                    Method::Post,
                    "/v1/sys/capabilities-self",
                    Some(&body),
                    &what,
                )
                .await?;
            if answer.status != 200 {
                let hint = "VAULT_TOKEN is unknown or expired (any valid token may ask sys/capabilities-self): issue a new one";
                return Err(self.failure(&what, &answer, hint, None));
            }
            let answer = self.json(&what, &answer.body)?;
            for (location, path) in batch.iter().zip(&paths) {
                let names = answer["data"][path].as_array().ok_or_else(|| {
                    self.decode_error(&what, format!("no capabilities for `{path}`"))
                })?;
                let names = names.iter().filter_map(Value::as_str);
                found.insert(location.clone(), Capabilities::new(names));
            }
        }
        Ok(found)
    }

    /// The writes of `writes` the token may not make (empty: every one is allowed).
    pub async fn check_writable(&self, writes: &[Write]) -> Result<Vec<Refusal>, StoreError> {
        let locations: Vec<Location> = writes.iter().map(|w| w.location.clone()).collect();
        let capabilities = self.capabilities(&locations).await?;
        Ok(writes
            .iter()
            .filter_map(|write| {
                let has = capabilities
                    .get(&write.location)
                    .cloned()
                    .unwrap_or_default();
                let needs = Capabilities::needed_to_write(write.exists);
                (!has.allows(needs)).then(|| Refusal {
                    location: write.location.clone(),
                    has,
                    needs,
                })
            })
            .collect())
    }

    /// Checks, once per client, that `mount` is a KV version 2 mount the token can see.
    pub async fn check_mount(&self, mount: &str) -> Result<(), StoreError> {
        if lock(&self.kv2_mounts).contains(mount) {
            return Ok(());
        }
        let url = format!("/v1/sys/internal/ui/mounts/{}", percent_encode_path(mount));
        let what = format!("checking the mount `{mount}` (GET {url})");
        let answer = self.call(Method::Get, &url, None, &what).await?;
        if answer.status != 200 {
            let hint = format!(
                "is `{mount}` the store's KV version 2 mount (`mount:` under secret_delivery.vault), and may VAULT_TOKEN use paths under `{mount}/`?"
            );
            return Err(self.failure(&what, &answer, &hint, None));
        }
        let answer = self.json(&what, &answer.body)?;
        let data = &answer["data"];
        let field = |value: &Value| value.as_str().unwrap_or("").to_string();
        let (path, kind, version) = (
            field(&data["path"]),
            field(&data["type"]),
            field(&data["options"]["version"]),
        );
        let not_kv2 = |reason: String| StoreError::NotKv2 {
            address: self.address().to_string(),
            reason,
        };
        if path != format!("{mount}/") {
            return Err(not_kv2(format!(
                "`{mount}` is not a mount: the mount there is `{}`. Set `mount:` to the mount alone and `path:` to the rest",
                path.trim_end_matches('/')
            )));
        }
        if kind != "kv" {
            return Err(not_kv2(format!(
                "`{mount}` is a `{kind}` mount, not a KV version 2 one"
            )));
        }
        if version != "2" {
            return Err(not_kv2(format!(
                "`{mount}` is a KV version {version} mount; deliveries need version 2 (versions, check-and-set): `vault kv enable-versioning {mount}`"
            )));
        }
        lock(&self.kv2_mounts).insert(mount.to_string());
        Ok(())
    }

    /// The latest version at `location`: `None` when the path was never written (or its
    /// metadata was deleted), a [`Current`] without data when that version is deleted.
    pub async fn read(&self, location: &Location) -> Result<Option<Current>, StoreError> {
        self.check_mount(location.mount()).await?;
        let url = location.url_path();
        let what = format!("reading {location} (GET {url})");
        let answer = self.call(Method::Get, &url, None, &what).await?;
        match answer.status {
            200 => {
                let body = self.json(&what, &answer.body)?;
                let version = self.version(&what, &body["data"]["metadata"]["version"])?;
                let data = match &body["data"]["data"] {
                    Value::Object(data) => Some(Stored {
                        client_id: text(data.get("client_id")),
                        client_secret: text(data.get("client_secret")).map(SecretString::from),
                        token_endpoint: text(data.get("token_endpoint")),
                    }),
                    _ => None,
                };
                Ok(Some(Current { version, data }))
            }
            404 => {
                let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                let metadata = &body["data"]["metadata"];
                if metadata.is_object() {
                    let version = self.version(&what, &metadata["version"])?;
                    return Ok(Some(Current {
                        version,
                        data: None,
                    }));
                }
                let no_errors = body["errors"].as_array().is_some_and(Vec::is_empty);
                if no_errors {
                    return Ok(None);
                }
                let hint = format!("is `{}` a KV version 2 mount?", location.mount());
                Err(self.failure(&what, &answer, &hint, None))
            }
            _ => {
                let hint = self.denied_hint("read", location);
                Err(self.failure(&what, &answer, &hint, None))
            }
        }
    }

    /// Writes `data` as the next version at `location` if the latest version is still
    /// `cas` (0: only if the path holds no version yet), and returns the new version.
    ///
    /// A retry after an attempt whose answer was lost may meet the version that attempt
    /// wrote: when the path then holds exactly `data` at `cas + 1`, that is success.
    pub async fn write_cas(
        &self,
        location: &Location,
        data: &SecretData,
        cas: u64,
    ) -> Result<u64, StoreError> {
        self.check_mount(location.mount()).await?;
        let url = location.url_path();
        let what = format!("writing {location} (POST {url})");
        let mut values = serde_json::Map::new();
        values.insert("client_id".into(), json!(data.client_id));
        values.insert(
            "client_secret".into(),
            json!(data.client_secret.expose_secret()),
        );
        if let Some(endpoint) = &data.token_endpoint {
            values.insert("token_endpoint".into(), json!(endpoint));
        }
        let body = json!({ "options": { "cas": cas }, "data": values });
        let answer = self.call(Method::Post, &url, Some(&body), &what).await?;
        drop(body);
        match answer.status {
            200 => {
                let body = self.json(&what, &answer.body)?;
                self.version(&what, &body["data"]["version"])
            }
            400 if error_texts(&answer.body)
                .iter()
                .any(|e| e.contains(CAS_MISMATCH)) =>
            {
                if answer.unknown_outcome {
                    if let Some(current) = self.read(location).await? {
                        let ours = current.data.as_ref().is_some_and(|s| s.holds(data));
                        if ours && current.version == cas + 1 {
                            return Ok(current.version);
                        }
                    }
                }
                Err(StoreError::CasMismatch {
                    address: self.address().to_string(),
                    location: location.to_string(),
                    expected: cas,
                })
            }
            _ => {
                let needs = Capabilities::needed_to_write(cas > 0);
                let hint = self.denied_hint(needs, location);
                Err(self.failure(&what, &answer, &hint, Some(&data.client_secret)))
            }
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, StoreError> {
        let answer = self
            .service
            .call(method, path, body, what)
            .await
            .map_err(|e| StoreError::from_fetch(self.address(), e))?;
        tracing::debug!(path, status = answer.status, "secret store answered");
        Ok(answer)
    }

    /// What to do about a 403 on a call that needs `capability` on `location`.
    fn denied_hint(&self, capability: &str, location: &Location) -> String {
        format!(
            "VAULT_TOKEN is unknown or expired, or its policies do not grant `{capability}` on `{}`",
            location.api_path()
        )
    }

    /// The error for an answer that is not a success. `hint` says what to do about a
    /// 403 or 404; other statuses have their own. Server texts are redacted (the token,
    /// and `sent` when given) and cut short.
    fn failure(
        &self,
        what: &str,
        answer: &Answer,
        hint: &str,
        sent: Option<&SecretString>,
    ) -> StoreError {
        let redactions = Redactions::default();
        redactions.add(self.token.clone());
        if let Some(sent) = sent {
            redactions.add(sent.clone());
        }
        // OpenBao wraps messages in multi-line lists ("1 error occurred:\n\t* ..."): one line.
        let errors = error_texts(&answer.body).join("; ");
        let errors: Vec<&str> = errors.split_whitespace().collect();
        let detail = if errors.is_empty() {
            String::new()
        } else {
            format!(": \"{}\"", redactions.scrub(&errors.join(" ")))
        };
        let (address, what) = (self.address().to_string(), what.to_string());
        let hint = hint.to_string();
        match answer.status {
            403 => StoreError::PermissionDenied {
                address,
                what,
                detail,
                hint,
            },
            404 => StoreError::NotFound {
                address,
                what,
                detail,
                hint,
            },
            status => {
                let hint = if is_transient(status) {
                    format!(
                        "the store is unavailable (sealed, a standby, or overloaded); retried {} time(s); try again later",
                        self.max_retries
                    )
                } else if status >= 500 {
                    "the store failed; see its logs".to_string()
                } else {
                    "see the store's logs".to_string()
                };
                StoreError::Server {
                    address,
                    what,
                    status,
                    detail,
                    hint,
                }
            }
        }
    }

    /// A JSON answer. The reason never quotes the body (it may hold a secret).
    fn json(&self, what: &str, body: &[u8]) -> Result<Value, StoreError> {
        serde_json::from_slice(body).map_err(|e| {
            self.decode_error(
                what,
                format!(
                    "not JSON (line {}, column {}); is VAULT_ADDR the store's API address?",
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    fn version(&self, what: &str, value: &Value) -> Result<u64, StoreError> {
        value.as_u64().ok_or_else(|| {
            self.decode_error(
                what,
                "no version number: is the mount a KV version 2 mount?".into(),
            )
        })
    }

    fn decode_error(&self, what: &str, reason: String) -> StoreError {
        StoreError::Decode {
            address: self.address().to_string(),
            what: what.to_string(),
            reason,
        }
    }
}

/// A string value, `None` for anything else.
fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

/// The texts of a Vault error answer (`{"errors": [..]}`); empty for any other body.
fn error_texts(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    serde_json::from_slice::<Errors>(body)
        .map(|e| e.errors)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_and_root_grants() {
        let caps = |names: &[&str]| Capabilities::new(names.iter().copied());
        assert!(caps(&["create", "update"]).allows("update"));
        assert!(!caps(&["read"]).allows("create"));
        assert!(caps(&["root"]).allows("create"));
        assert!(!caps(&["deny", "root"]).allows("read"));
        assert_eq!(caps(&["update", "read"]).to_string(), "read, update");
        assert_eq!(caps(&[]).to_string(), "none");
    }

    #[test]
    fn secret_data_never_shows_the_secret() {
        let data = SecretData {
            client_id: "c-1".into(),
            client_secret: SecretString::from("s3cr3t-value"),
            token_endpoint: None,
        };
        let stored = Stored {
            client_id: Some("c-1".into()),
            client_secret: Some(SecretString::from("s3cr3t-value")),
            token_endpoint: None,
        };
        for shown in [format!("{data:?}"), format!("{stored:?}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
        assert!(stored.holds(&data));
    }
}
