//! The sandbox's seeded state (contract §11.1): the protected admin-UI client, boruta's
//! `public client` without identity provider, the identity providers, the public and
//! management scopes with their labels, two global key pairs, the administrator's grants
//! of the management scopes, and the bootstrap client. Seed ids are UUID v5 of the names, so they
//! are stable across runs.

use super::state::{fake_public_key, random_alphanumeric, Bootstrap, KeyPair, Scope, State};
use crate::api;
use crate::kinds::client::fields::Version;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Namespace of the sandbox's deterministic seed ids.
const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x2d7c_58f4_0c3b_4f59_a1e6_93b4_5a7d_1e20);

/// The seeded identity provider manifests can name.
pub const DEFAULT_IDENTITY_PROVIDER: &str = "Default identity provider";
/// A second seeded identity provider.
pub const PARTNERS_IDENTITY_PROVIDER: &str = "Partners identity provider";
/// The identity provider of the admin-UI client (write protected).
pub const ADMIN_IDENTITY_PROVIDER: &str = "Boruta administration interface";
/// Name of the client that can obtain the management scopes.
pub const BOOTSTRAP_CLIENT_NAME: &str = "boruta-gitops sandbox bootstrap";

pub fn seed_id(name: &str) -> String {
    Uuid::new_v5(&SEED_NAMESPACE, name.as_bytes()).to_string()
}

fn backend(id: &str) -> Value {
    json!({
        "id": id, "name": "Default backend", "type": "Elixir.BorutaIdentity.Accounts.Internal",
        "is_default": true, "create_default_organization": false, "roles": [], "metadata_fields": [],
        "federated_servers": [], "verifiable_credentials": [], "verifiable_presentations": [],
        "password_hashing_alg": "argon2", "password_hashing_opts": {}, "ldap_pool_size": 5,
        "ldap_host": null, "ldap_user_rdn_attribute": null, "ldap_base_dn": null, "ldap_ou": null,
        "ldap_master_dn": null, "ldap_master_password": null, "smtp_from": null, "smtp_relay": null,
        "smtp_username": null, "smtp_password": null, "smtp_ssl": false, "smtp_tls": false,
        "smtp_port": 25, "features": []
    })
}

fn identity_provider(name: &str, backend_id: &str) -> Map<String, Value> {
    let value = json!({
        "id": seed_id(name), "name": name, "backend": backend(backend_id), "backend_id": backend_id,
        "check_password": true, "choose_session": true, "totpable": false, "enforce_totp": false,
        "webauthnable": false, "enforce_webauthn": false, "registrable": false, "user_editable": false,
        "consentable": false, "confirmable": false
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The seeded default global key pair (`/api/key-pairs`, `is_default: true`), which a
/// manifest's `key_pair_id` may name. boruta creates it on first use (`KeyPair.default!`).
pub const DEFAULT_KEY_PAIR: &str = "Default key pair";
/// A second seeded global key pair, created with `is_default: false`.
pub const SECOND_KEY_PAIR: &str = "Second key pair";
/// The user boruta's seeds create (`BORUTA_ADMIN_EMAIL`), granted the management scopes.
pub const ADMIN_USER: &str = "Boruta administrator";

/// The seeded scopes with their labels (boruta-server
/// `apps/boruta_auth/priv/repo/boruta.seeds.exs`, 3be6cb4f; the same at 0.9.0 and 0.10.5):
/// the public OpenID scopes, then the private management scopes.
const SEEDED_SCOPES: [(&str, &str, bool); 11] = [
    ("openid", "OpenID Connect capabilities", true),
    ("email", "Email", true),
    ("profile", "Profile", true),
    ("scopes:manage:all", "Manage all scopes", false),
    ("roles:manage:all", "Manage all roles", false),
    ("clients:manage:all", "Manage all clients", false),
    ("upstreams:manage:all", "Manage all upstreams", false),
    ("users:manage:all", "Manage all users", false),
    (
        "identity-providers:manage:all",
        "Manage all identity providers",
        false,
    ),
    (
        "configuration:manage:all",
        "Manage all configuration",
        false,
    ),
    ("logs:read:all", "Read all logs", false),
];

impl State {
    /// The seeded state of contract §11.1 plus the bootstrap client, as boruta `version`.
    pub fn seeded(
        base_url: &str,
        admin_client_id: &str,
        bootstrap: &Bootstrap,
        version: Version,
    ) -> Self {
        let mut state = State {
            version,
            admin_client_id: admin_client_id.to_string(),
            clients: BTreeMap::new(),
            scopes: BTreeMap::new(),
            identity_providers: BTreeMap::new(),
            associations: BTreeMap::new(),
            key_pairs: [(DEFAULT_KEY_PAIR, true), (SECOND_KEY_PAIR, false)]
                .into_iter()
                .map(|(name, is_default)| {
                    let key_pair = KeyPair {
                        public_key: fake_public_key("rsa"), // JOSE RSA 2048 (key_pair.ex)
                        is_default: Some(is_default),
                    };
                    (seed_id(name), key_pair)
                })
                .collect(),
            // The seeds grant the management scopes to the administrator they create.
            user_grants: BTreeMap::from([(
                seed_id(ADMIN_USER),
                api::ADMIN_SCOPES.iter().map(|name| seed_id(name)).collect(),
            )]),
            uncommitted_scopes: HashMap::new(),
            tokens: HashMap::new(),
            render_cache: Default::default(),
        };
        for (name, label, public) in SEEDED_SCOPES {
            let id = seed_id(name);
            state.scopes.insert(
                id.clone(),
                Scope {
                    id,
                    name: name.to_string(),
                    label: Some(label.to_string()),
                    public,
                },
            );
        }
        let backend_id = seed_id("Default backend");
        for name in [
            ADMIN_IDENTITY_PROVIDER,
            DEFAULT_IDENTITY_PROVIDER,
            PARTNERS_IDENTITY_PROVIDER,
        ] {
            state
                .identity_providers
                .insert(seed_id(name), identity_provider(name, &backend_id));
        }
        let admin = json!({
            "id": admin_client_id, "name": "Boruta administration panel",
            "secret": random_alphanumeric(64), "access_token_ttl": 3600, "authorization_code_ttl": 60,
            "public_revoke": true, "redirect_uris": [format!("{base_url}/oauth-callback")],
            "identity_provider": {"id": seed_id(ADMIN_IDENTITY_PROVIDER)}
        });
        let answer = state.create_client(&json!({ "client": admin }));
        debug_assert_eq!(answer.status, 201, "{answer:?}");
        state.ensure_bootstrap(bootstrap);
        // The migration inserts the public client without any identity provider, which the
        // API cannot do: insert it directly.
        let public_client = json!({
            "name": api::PUBLIC_CLIENT_NAME, "public_client_id": base_url, "confidential": true,
            "key_pair_type": {"type": "ec", "curve": "P-256"}, "id_token_signature_alg": "ES256"
        });
        if let Value::Object(values) = public_client {
            state.insert_raw_client(&seed_id(api::PUBLIC_CLIENT_NAME), values, None);
        }
        state
    }

    /// After loading a saved state: make sure the bootstrap client exists with these
    /// credentials (its tokens were not saved).
    pub fn ensure_bootstrap(&mut self, bootstrap: &Bootstrap) {
        if let Some(client) = self.clients.get_mut(&bootstrap.client_id) {
            client.fields.insert(
                "secret".into(),
                Value::String(bootstrap.client_secret.clone()),
            );
            return;
        }
        let management: Vec<Value> = [
            api::SCOPE_CLIENTS,
            api::SCOPE_IDENTITY_PROVIDERS,
            api::SCOPE_SCOPES,
        ]
        .iter()
        .map(|s| json!({"name": s}))
        .collect();
        let seed = json!({"client": {
            "id": bootstrap.client_id, "name": BOOTSTRAP_CLIENT_NAME, "secret": bootstrap.client_secret,
            "confidential": true, "authorize_scope": true, "authorized_scopes": management,
            "supported_grant_types": ["client_credentials"], "access_token_ttl": bootstrap.token_ttl,
            "identity_provider": {"id": seed_id(DEFAULT_IDENTITY_PROVIDER)}
        }});
        self.create_client(&seed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeded_scopes_are_the_public_and_management_scopes() {
        let names: Vec<&str> = SEEDED_SCOPES.iter().map(|(name, _, _)| *name).collect();
        let expected: Vec<&str> = api::SEEDED_PUBLIC_SCOPES
            .iter()
            .chain(api::ADMIN_SCOPES.iter())
            .copied()
            .collect();
        assert_eq!(names, expected);
        for (name, _, public) in SEEDED_SCOPES {
            assert_eq!(public, api::SEEDED_PUBLIC_SCOPES.contains(&name), "{name}");
        }
    }
}
