//! The sandbox's data: clients, scopes, identity providers, key pairs and tokens, and the
//! answers every operation builds. Client operations live in `clients.rs`, seeding in
//! `seed.rs`, scopes in `scopes.rs`. Every operation answers with the status and JSON body
//! boruta would send. No I/O.

use crate::api::ErrorBody;
use crate::kinds::client::fields::Version;
use crate::kinds::client::rules;
use bytes::Bytes;
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::seed::{
    seed_id, ADMIN_IDENTITY_PROVIDER, ADMIN_USER, BOOTSTRAP_CLIENT_NAME, DEFAULT_IDENTITY_PROVIDER,
    DEFAULT_KEY_PAIR, PARTNERS_IDENTITY_PROVIDER, SECOND_KEY_PAIR,
};

/// An answer: status and JSON body (`None` for an empty body, as on 204).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
    /// A body already serialized (large lists), in pieces sent one after another as they
    /// are, instead of `body`: a list of 100,000 clients is 177 MB of cached renderings,
    /// never copied into one.
    pub pieces: Option<Arc<[Bytes]>>,
    pub location: Option<String>,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Self {
        Answer {
            status,
            body: Some(body),
            pieces: None,
            location: None,
        }
    }

    pub(super) fn pieces(status: u16, pieces: Arc<[Bytes]>) -> Self {
        Answer {
            status,
            body: None,
            pieces: Some(pieces),
            location: None,
        }
    }

    /// The body as it goes on the wire, in pieces (a list's are shared with the render
    /// cache, not copied).
    pub fn into_body_pieces(self) -> Option<Arc<[Bytes]>> {
        self.pieces.or_else(|| {
            let text = self.body.as_ref().map(Value::to_string)?;
            Some(Arc::from([Bytes::from(text)]))
        })
    }

    pub fn error(status: u16, body: ErrorBody) -> Self {
        Self::json(status, serde_json::to_value(body).unwrap_or(Value::Null))
    }

    pub(super) fn data(status: u16, data: Value) -> Self {
        Self::json(status, json!({ "data": data }))
    }

    pub(super) fn unprocessable(errors: BTreeMap<String, Vec<String>>) -> Self {
        Self::error(422, ErrorBody::unprocessable(errors))
    }

    pub(super) fn field_error(field: &str, message: &str) -> Self {
        Self::unprocessable(BTreeMap::from([(
            field.to_string(),
            vec![message.to_string()],
        )]))
    }

    pub(super) fn crash(message: &str) -> Self {
        Self::error(500, ErrorBody::exception("INTERNAL_SERVER_ERROR", message))
    }
}

/// A stored client: every member boruta stores (rendered or not), and its scopes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredClient {
    pub fields: Map<String, Value>,
    pub scope_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scope {
    pub id: String,
    pub name: String,
    pub label: Option<String>,
    pub public: bool,
}

/// A global key pair as boruta stores it (boruta-server
/// `apps/boruta_auth/lib/boruta_auth/key_pairs/schemas/key_pair.ex`, 3be6cb4f; the same at
/// 0.9.0 and 0.10.5): always RSA 2048, and `is_default` is a nullable column, null for a
/// key pair created without it (the admin UI sends none). The private key is not kept:
/// whether a client holds a key pair's key is a comparison of public keys here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyPair {
    pub public_key: String,
    pub is_default: Option<bool>,
}

/// State files written before key pairs had `is_default` hold the public key alone.
impl<'de> Deserialize<'de> for KeyPair {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Full {
                public_key: String,
                #[serde(default)]
                is_default: Option<bool>,
            },
            PublicKeyOnly(String),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Full {
                public_key,
                is_default,
            } => KeyPair {
                public_key,
                is_default,
            },
            Stored::PublicKeyOnly(public_key) => KeyPair {
                public_key,
                is_default: None,
            },
        })
    }
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Token {
    pub scope: String,
    pub expires_at: Instant,
}

/// Everything the sandbox knows.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    /// The boruta version imitated.
    #[serde(default = "latest_release")]
    pub version: Version,
    pub admin_client_id: String,
    pub clients: BTreeMap<String, StoredClient>,
    pub scopes: BTreeMap<String, Scope>,
    pub identity_providers: BTreeMap<String, Map<String, Value>>,
    /// client id -> identity provider id.
    pub associations: BTreeMap<String, String>,
    /// Global key pairs (`/api/key-pairs`): id -> key pair.
    #[serde(default)]
    pub key_pairs: BTreeMap<String, KeyPair>,
    /// Users' grants of scopes: user id -> scope ids (boruta_identity's
    /// `users_authorized_scopes`). No route reads them; deleting a scope deletes its grants.
    #[serde(default)]
    pub user_grants: BTreeMap<String, Vec<String>>,
    /// Scope names inserted by a create whose transaction has not committed yet, and
    /// when it commits (contract §13: two creates inserting one new scope race).
    #[serde(skip)]
    pub uncommitted_scopes: HashMap<String, Instant>,
    #[serde(skip)]
    pub tokens: HashMap<String, Token>,
    /// Each client's rendered JSON, and the list's pieces. Entries are dropped on every
    /// write to their client.
    #[serde(skip)]
    pub render_cache: RenderCache,
}

/// Each client's rendered JSON preceded by a comma (the separator the list puts before
/// every element but the first, which is sent without it), so listing 10,000 clients sends
/// these pieces as they are rather than rendering 10,000 clients or copying the renderings
/// into one body; and the list's pieces themselves while no client changes, so that a list
/// asked again (every plan run asks once) starts at once.
#[derive(Debug, Default)]
pub struct RenderCache {
    renderings: HashMap<String, Bytes>,
    listing: Option<Arc<[Bytes]>>,
}

impl RenderCache {
    /// A client's cached rendering, comma first.
    pub fn get(&self, id: &str) -> Option<&Bytes> {
        self.renderings.get(id)
    }

    pub fn insert(&mut self, id: String, rendering: Bytes) {
        self.listing = None;
        self.renderings.insert(id, rendering);
    }

    /// Forgets a client's rendering (it changed, appeared or went), and so the list.
    pub fn remove(&mut self, id: &str) {
        self.listing = None;
        self.renderings.remove(id);
    }

    /// Forgets everything (clients may have changed behind the cache's back).
    pub fn clear(&mut self) {
        self.listing = None;
        self.renderings.clear();
    }

    /// The list's pieces, if no client changed since they were kept.
    pub fn listing(&self) -> Option<Arc<[Bytes]>> {
        self.listing.clone()
    }

    pub fn keep_listing(&mut self, pieces: Arc<[Bytes]>) {
        self.listing = Some(pieces);
    }
}

/// Who may bootstrap: the client that can obtain the management scopes.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of the tokens it obtains (seconds).
    pub token_ttl: i64,
}

/// Random `[A-Za-z0-9]` text, as boruta's token generator makes.
pub fn random_alphanumeric(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A PEM-shaped public key of realistic size. No real key is generated: the sandbox must
/// create thousands of clients per second, and nothing verifies these keys.
pub(super) fn fake_public_key(key_type: &str) -> String {
    use base64::Engine;
    let (label, bytes) = if key_type == "ec" {
        ("PUBLIC KEY", 91)
    } else {
        ("RSA PUBLIC KEY", 270)
    };
    let random: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    let body = base64::engine::general_purpose::STANDARD.encode(random);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl State {
    pub fn list_identity_providers(&self) -> Answer {
        let all: Vec<Value> = self
            .identity_providers
            .values()
            .cloned()
            .map(Value::Object)
            .collect();
        Answer::data(200, Value::Array(all))
    }

    /// Unknown *or non-UUID* ids are 404 here (contract §1.4).
    pub fn show_identity_provider(&self, raw_id: &str) -> Answer {
        let id = raw_id.to_ascii_lowercase();
        match self.identity_providers.get(&id) {
            Some(idp) => Answer::data(200, Value::Object(idp.clone())),
            None => not_found("identity_providers", raw_id),
        }
    }

    /// Looks a token up: its granted scopes, if it exists and has not expired.
    pub fn token_scopes(&self, token: &str) -> Option<Vec<String>> {
        let token = self.tokens.get(token)?;
        (token.expires_at > Instant::now())
            .then(|| token.scope.split(' ').map(str::to_string).collect())
    }

    /// Issues an access token; returns (access_token, expires_in).
    pub fn issue_token(&mut self, scope: String, ttl: i64) -> (String, i64) {
        let token = random_alphanumeric(86);
        let ttl = ttl.max(1);
        self.tokens.insert(
            token.clone(),
            Token {
                scope,
                expires_at: Instant::now() + Duration::from_secs(ttl as u64),
            },
        );
        (token, ttl - 1)
    }

    /// Fault injection: every issued token expires now.
    pub fn expire_tokens(&mut self) {
        let now = Instant::now();
        for token in self.tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// A stored client's member.
    pub fn client_value(&self, id: &str, field: &str) -> Option<&Value> {
        self.clients.get(id)?.fields.get(field)
    }
}

fn latest_release() -> Version {
    Version::LATEST_RELEASE
}

pub(super) fn cast_uuid(raw: &str) -> Option<String> {
    rules::is_uuid(raw).then(|| raw.to_ascii_lowercase())
}

pub(super) fn cast_error(raw: &str) -> Answer {
    Answer::error(
        400,
        ErrorBody::exception(
            "BAD_REQUEST",
            format!("value `\"{raw}\"` in `where` cannot be cast to type Ecto.UUID in query"),
        ),
    )
}

pub(super) fn not_found(table: &str, id: &str) -> Answer {
    Answer::error(
        404,
        ErrorBody::exception(
            "NOT_FOUND",
            format!("expected at least one result but got none in query:\n\nfrom r0 in {table},\n  where r0.id == ^\"{id}\""),
        ),
    )
}
