//! The sandbox (issue #3): conformance to the OpenAPI document (every body checked), the
//! validation messages of contract §10, the token endpoint's error table (§3.3),
//! concurrency, bad input, and the seeded state.

use crate::openapi::assert_conforms;
use boruta_gitops::kinds::client::fields::Version;
use boruta_gitops::sandbox::{Config, Fault, Sandbox};
use serde_json::{json, Value};

pub struct Api {
    pub sandbox: Sandbox,
    http: reqwest::Client,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

fn template(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "api", "clients", _] => "/api/clients/{client_id}".into(),
        ["", "api", "scopes", _] => "/api/scopes/{scope_id}".into(),
        ["", "api", "key-pairs", _] => "/api/key-pairs/{key_pair_id}".into(),
        ["", "api", "clients", _, "regenerate_key_pair"] => {
            "/api/clients/{client_id}/regenerate_key_pair".into()
        }
        ["", "api", "identity-providers", _] => {
            "/api/identity-providers/{identity_provider_id}".into()
        }
        _ => path.to_string(),
    }
}

pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("http client")
}

impl Api {
    pub fn start(config: Config) -> Api {
        Api {
            sandbox: Sandbox::start(config).expect("sandbox starts"),
            http: http_client(),
        }
    }

    /// The contract (and so each conformance test here) describes boruta's master; the
    /// released versions' differences have tests of their own (`versions.rs`).
    pub fn new() -> Api {
        Self::start(Config {
            version: Version::Master,
            ..Config::default()
        })
    }

    /// A token of the bootstrap client for `scope`.
    pub async fn token(&self, scope: &str) -> String {
        let b = self.sandbox.bootstrap();
        let reply = self
            .token_request(
                Some((&b.client_id, &b.client_secret)),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn token_request(&self, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Reply {
        let mut request = self.http.post(self.sandbox.token_url()).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.expect("token request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            body,
            headers,
        }
    }

    /// Sends a JSON request to the admin API; checks the answer against the OpenAPI spec.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method_value, format!("{}{path}", self.sandbox.base_url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.finish(method, path, request).await
    }

    pub async fn finish(
        &self,
        method: &str,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text))
        };
        if status != 204 {
            assert_conforms(&method.to_ascii_lowercase(), &template(path), status, &body);
        } else {
            assert_eq!(body, Value::Null, "204 must have an empty body");
        }
        Reply {
            status,
            body,
            headers,
        }
    }

    pub fn idp(&self, name: &str) -> String {
        boruta_gitops::sandbox::state::seed_id(name)
    }

    pub async fn create(&self, token: &str, client: Value) -> Reply {
        self.call(
            "POST",
            "/api/clients",
            Some(token),
            Some(json!({ "client": client })),
        )
        .await
    }
}

pub fn errors(reply: &Reply) -> Value {
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    assert_eq!(reply.body["code"], "UNPROCESSABLE_ENTITY");
    assert_eq!(
        reply.body["message"],
        "Your request could not be processed."
    );
    reply.body["errors"].clone()
}

const ALL: &str = "clients:manage:all identity-providers:manage:all";
const DEFAULT_IDP: &str = "Default identity provider";

#[tokio::test(flavor = "multi_thread")]
async fn create_renders_defaults_location_and_generated_fields() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let reply = api
        .create(
            &token,
            json!({"name": "demo", "identity_provider": {"id": api.idp(DEFAULT_IDP)}}),
        )
        .await;
    assert_eq!(reply.status, 201);
    let client = &reply.body["data"];
    let id = client["id"].as_str().unwrap();
    assert_eq!(
        reply.headers["location"],
        format!("/api/clients/{id}").as_str()
    );
    assert_eq!(client.as_object().unwrap().len(), 33);
    assert_eq!(client["secret"].as_str().unwrap().len(), 86);
    assert!(client["secret"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_alphanumeric()));
    assert!(client["public_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN RSA PUBLIC KEY-----\n"));
    assert_eq!(client["did"], Value::Null);
    for (field, value) in [
        ("access_token_ttl", json!(86400)),
        ("authorization_code_ttl", json!(600)),
        ("authorization_request_ttl", json!(300)),
        ("refresh_token_ttl", json!(2592000)),
        ("id_token_ttl", json!(86400)),
        (
            "supported_grant_types",
            json!(["client_credentials", "authorization_code"]),
        ),
        (
            "token_endpoint_auth_methods",
            json!(["client_secret_basic", "client_secret_post"]),
        ),
        ("token_endpoint_jwt_auth_alg", json!("HS256")),
        ("id_token_signature_alg", json!("RS512")),
        (
            "key_pair_type",
            json!({"type": "rsa", "modulus_size": "2048", "exponent_size": "65537"}),
        ),
        (
            "signatures_adapter",
            json!("Elixir.Boruta.Internal.Signatures"),
        ),
        ("response_mode", json!("direct_post")),
        ("trusted_authorities", json!("")),
        ("trusted_hosts", json!([])),
        (
            "identity_provider",
            json!({"id": api.idp(DEFAULT_IDP), "name": DEFAULT_IDP}),
        ),
        ("authorized_scopes", json!([])),
    ] {
        assert_eq!(client[field], value, "{field}");
    }
    let shown = api
        .call("GET", &format!("/api/clients/{id}"), Some(&token), None)
        .await;
    assert_eq!(shown.body["data"], *client);
    let list = api.call("GET", "/api/clients", Some(&token), None).await;
    assert!(list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id));
    let deleted = api
        .call("DELETE", &format!("/api/clients/{id}"), Some(&token), None)
        .await;
    assert_eq!(deleted.status, 204);
    let gone = api
        .call("GET", &format!("/api/clients/{id}"), Some(&token), None)
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["code"], "NOT_FOUND");
    assert!(gone.body["message"]
        .as_str()
        .unwrap()
        .starts_with("expected at least one result but got none in query"));
    assert!(gone.body.get("errors").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_state_matches_the_contract() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let clients = api
        .call("GET", "/api/clients", Some(&token), None)
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .clone();
    let admin = clients
        .iter()
        .find(|c| c["id"] == boruta_gitops::api::ADMIN_UI_CLIENT_ID)
        .expect("admin client");
    assert_eq!(admin["name"], "Boruta administration panel");
    assert_eq!(
        admin["identity_provider"]["name"],
        "Boruta administration interface"
    );
    let public = clients
        .iter()
        .find(|c| c["name"] == "public client")
        .expect("public client");
    assert_eq!(
        public["identity_provider"],
        json!({"id": null, "name": null})
    );
    assert_eq!(
        public["key_pair_type"],
        json!({"type": "ec", "curve": "P-256"})
    );
    assert_eq!(public["id_token_signature_alg"], "ES256");
    assert_eq!(public["public_client_id"], api.sandbox.base_url());
    let idps = api
        .call("GET", "/api/identity-providers", Some(&token), None)
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .len();
    assert!(idps >= 2);
    let scopes = api
        .call("GET", "/api/scopes", Some(&token), None)
        .await
        .body["data"]
        .clone();
    let names: Vec<(&str, bool)> = scopes
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["public"].as_bool().unwrap()))
        .collect();
    for public in ["openid", "email", "profile"] {
        assert!(names.contains(&(public, true)), "{public}");
    }
    for private in [
        "scopes:manage:all",
        "roles:manage:all",
        "clients:manage:all",
        "upstreams:manage:all",
        "users:manage:all",
        "identity-providers:manage:all",
        "configuration:manage:all",
        "logs:read:all",
    ] {
        assert!(names.contains(&(private, false)), "{private}");
    }
}

/// One request per row of contract §10 (and the follow-on rules of §5.2).
#[tokio::test(flavor = "multi_thread")]
async fn every_validation_message_of_the_contract() {
    let api = Api::new();
    let token = api.token(&format!("{ALL} scopes:manage:all")).await;
    let idp = json!({"id": api.idp(DEFAULT_IDP)});
    let grants = "must be part of client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials";
    let rows: Vec<(&str, Value, Value)> = vec![
        (
            "redirect_uris null",
            json!({"redirect_uris": null}),
            json!({"redirect_uris": ["can't be blank"]}),
        ),
        (
            "key_pair_type null",
            json!({"key_pair_type": null}),
            json!({"key_pair_type": ["can't be blank"], "private_key": ["private_key_type is invalid"], "signatures_adapter": ["unknown key pair type"]}),
        ),
        (
            "can't be nil",
            json!({"trusted_hosts": null, "trusted_authorities": null}),
            json!({"trusted_hosts": ["can't be nil"], "trusted_authorities": ["can't be nil"]}),
        ),
        (
            "ttl range",
            json!({"access_token_ttl": 86401, "authorization_code_ttl": 601, "authorization_request_ttl": 0, "agent_token_ttl": 2592001}),
            json!({"access_token_ttl": ["is invalid"], "authorization_code_ttl": ["is invalid"], "authorization_request_ttl": ["is invalid"], "agent_token_ttl": ["is invalid"]}),
        ),
        (
            "unknown alg",
            json!({"id_token_signature_alg": "XX1"}),
            json!({"id_token_signature_alg": ["is invalid", "is invalid"]}),
        ),
        (
            "alg for key type",
            json!({"userinfo_signed_response_alg": "ES256"}),
            json!({"userinfo_signed_response_alg": ["is invalid"]}),
        ),
        (
            "jwt auth alg",
            json!({"token_endpoint_jwt_auth_alg": "ES256"}),
            json!({"token_endpoint_jwt_auth_alg": ["is invalid"]}),
        ),
        (
            "response mode",
            json!({"response_mode": "query"}),
            json!({"response_mode": ["is invalid"]}),
        ),
        (
            "adapter",
            json!({"signatures_adapter": "Elixir.Boruta.Universal.Signatures"}),
            json!({"signatures_adapter": ["is invalid"]}),
        ),
        (
            "non-uuid id",
            json!({"id": "nope"}),
            json!({"id": ["is invalid"]}),
        ),
        (
            "wrong type",
            json!({"confidential": "maybe", "redirect_uris": "https://a/cb"}),
            json!({"confidential": ["is invalid"], "redirect_uris": ["is invalid"]}),
        ),
        (
            "float ttl",
            json!({"access_token_ttl": 1.5}),
            json!({"access_token_ttl": ["is invalid"]}),
        ),
        (
            "auth methods",
            json!({"token_endpoint_auth_methods": ["client_secret_basic", "mtls"]}),
            json!({"token_endpoint_auth_methods": ["has an invalid entry"]}),
        ),
        (
            "grant types",
            json!({"supported_grant_types": ["client_credentials", "magic"]}),
            json!({"supported_grant_types": [grants]}),
        ),
        (
            "uris",
            json!({"redirect_uris": ["bad_uri", "https://ok/cb", "https://a/cb#x", null], "authorized_resources": ["https://a b"]}),
            json!({"redirect_uris": ["`bad_uri` is invalid", "`https://a/cb#x` is invalid", "empty values are not allowed"], "authorized_resources": ["`https://a b` is invalid"]}),
        ),
        (
            "key schema",
            json!({"key_pair_type": {"type": "rsa", "modulus_size": 2048, "exponent_size": "65537"}}),
            json!({"key_pair_type": ["validation failed: The type at #/modulus_size `integer` do not match the required types [\"string\"]."], "private_key": ["private_key_type is invalid"]}),
        ),
        (
            "key extra property",
            json!({"key_pair_type": {"type": "ec", "curve": "P-256", "x": "1"}}),
            json!({"key_pair_type": ["validation failed: Schema does not allow additional properties: #/x."]}),
        ),
        (
            "curve",
            json!({"key_pair_type": {"type": "ec", "curve": "P-521"}}),
            json!({"key_pair_type": ["validation failed: #/curve do match required pattern /^P-256|P-384|P-512$/."]}),
        ),
        (
            "modulus required",
            json!({"key_pair_type": {"type": "rsa", "exponent_size": "65537"}}),
            json!({"key_pair_type": ["rsa modulus_size is required"], "private_key": ["private_key_type is invalid"]}),
        ),
        (
            "modulus small",
            json!({"key_pair_type": {"type": "rsa", "modulus_size": "1024", "exponent_size": "65537"}}),
            json!({"key_pair_type": ["rsa modulus_size must be at least 2048"], "private_key": ["private_key_type is invalid"]}),
        ),
        (
            "no exponent",
            json!({"key_pair_type": {"type": "rsa", "modulus_size": "2048"}}),
            json!({"private_key": ["private_key_type is invalid"]}),
        ),
        (
            "loose key type",
            json!({"key_pair_type": {"type": "ecdsa"}}),
            json!({"signatures_adapter": ["unknown key pair type"], "private_key": ["private_key_type is invalid"]}),
        ),
        (
            "universal",
            json!({"key_pair_type": {"type": "universal"}, "identity_provider": idp}),
            json!({"private_key": ["Could not create did."]}),
        ),
        (
            "no identity provider",
            json!({}),
            json!({"identity_provider_id": ["can't be blank"]}),
        ),
        (
            "unknown identity provider",
            json!({"identity_provider": {"id": "00000000-0000-4000-8000-000000000000"}}),
            json!({"identity_provider_id": ["does not exist"]}),
        ),
        (
            "malformed identity provider",
            json!({"identity_provider": {"id": "nope"}}),
            json!({"identity_provider_id": ["has invalid format"]}),
        ),
    ];
    let mut failures = Vec::new();
    for (what, client, expected) in rows {
        let reply = api.create(&token, client).await;
        let got = errors(&reply);
        if !same_multisets(&got, &expected) {
            failures.push(format!("{what}: expected {expected}, got {got}"));
        }
    }
    // Duplicate id: validations pass, then the unique check.
    let id = "7d8e9f00-1111-4222-8333-444455556666";
    assert_eq!(
        api.create(&token, json!({"id": id, "identity_provider": idp}))
            .await
            .status,
        201
    );
    let dup = api
        .create(
            &token,
            json!({"id": id.to_uppercase(), "identity_provider": idp}),
        )
        .await;
    assert_eq!(errors(&dup), json!({"id": ["has already been taken"]}));
    // Update: a null TTL is blank; a changed access_token_ttl above 300 hits the upstream bug.
    let path = format!("/api/clients/{id}");
    let null_ttl = api
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"client": {"refresh_token_ttl": null}})),
        )
        .await;
    assert_eq!(
        errors(&null_ttl),
        json!({"refresh_token_ttl": ["can't be blank"]})
    );
    let bug = api
        .call(
            "PUT",
            &path,
            Some(&token),
            Some(json!({"client": {"access_token_ttl": 3600}})),
        )
        .await;
    assert_eq!(errors(&bug), json!({"access_token_ttl": ["is invalid"]}));
    // Scope rows: must not contain whitespace / must not be null / has already been taken.
    let scope = api
        .call(
            "POST",
            "/api/scopes",
            Some(&token),
            Some(json!({"scope": {"name": "a b", "public": null}})),
        )
        .await;
    assert_eq!(
        errors(&scope),
        json!({"name": ["must not contain whitespace"], "public": ["must not be null"]})
    );
    let taken = api
        .call(
            "POST",
            "/api/scopes",
            Some(&token),
            Some(json!({"scope": {"name": "openid"}})),
        )
        .await;
    assert_eq!(errors(&taken), json!({"name": ["has already been taken"]}));
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn same_multisets(a: &Value, b: &Value) -> bool {
    let norm = |v: &Value| -> std::collections::BTreeMap<String, Vec<String>> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let mut msgs: Vec<String> = v
                            .as_array()
                            .map(|a| a.iter().map(|m| m.to_string()).collect())
                            .unwrap_or_default();
                        msgs.sort();
                        (k.clone(), msgs)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    norm(a) == norm(b)
}

#[tokio::test(flavor = "multi_thread")]
async fn coercions_of_the_contract() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let reply = api
        .create(
            &token,
            json!({
                "id": "ABCDEF00-1111-4222-8333-444455556666", "name": "", "response_mode": " ",
                "access_token_ttl": "3600", "pkce": "1", "confidential": "false",
                "redirect_uris": ["", "https://a/cb"], "trusted_authorities": "", "secret": "  ",
                "identity_provider": {"id": api.idp(DEFAULT_IDP)}
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let c = &reply.body["data"];
    assert_eq!(c["id"], "abcdef00-1111-4222-8333-444455556666");
    assert_eq!(c["name"], Value::Null);
    assert_eq!(c["response_mode"], "direct_post");
    assert_eq!(c["access_token_ttl"], 3600);
    assert_eq!(c["pkce"], true);
    assert_eq!(c["confidential"], false);
    assert_eq!(c["redirect_uris"], json!(["https://a/cb"]));
    assert_eq!(c["trusted_authorities"], "");
    assert_eq!(c["secret"].as_str().unwrap().len(), 86);
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_resolve_by_id_or_name_and_updates_replace_them() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let openid = boruta_gitops::sandbox::state::seed_id("openid");
    let reply = api
        .create(&token, json!({
            "name": "s", "identity_provider": {"id": api.idp(DEFAULT_IDP)},
            "authorized_scopes": [{"id": openid}, {"name": "email"}, {"name": "brand:new"}, {"id": "00000000-0000-4000-8000-000000000000", "name": "profile"}, {"name": "has space"}, {"id": "bad"}]
        }))
        .await;
    assert_eq!(reply.status, 201);
    let names: Vec<&str> = reply.body["data"]["authorized_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["openid", "email", "brand:new"]);
    let created = api
        .call("GET", "/api/scopes", Some(&token), None)
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "brand:new")
        .cloned()
        .unwrap();
    assert_eq!(created["public"], false);
    assert_eq!(created["label"], Value::Null);
    let id = reply.body["data"]["id"].as_str().unwrap().to_string();
    let updated = api
        .call(
            "PATCH",
            &format!("/api/clients/{id}"),
            Some(&token),
            Some(json!({"client": {"pkce": true}})),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(
        updated.body["data"]["authorized_scopes"],
        json!([]),
        "an update without the list clears it (§6.1)"
    );
    assert_eq!(updated.body["data"]["pkce"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn authentication_scope_checks_and_protection() {
    let api = Api::new();
    let admin = boruta_gitops::api::ADMIN_UI_CLIENT_ID;
    let unauthorized = json!({"code": "UNAUTHORIZED", "message": "You are unauthorized to access this resource.", "errors": {"resource": ["you are unauthorized to access this resource."]}});
    let forbidden = json!({"code": "FORBIDDEN", "message": "You are forbidden to access this resource.", "errors": {"resource": ["you are forbidden to access this resource."]}});
    let protected = json!({"code": "FORBIDDEN", "message": "The resource is write protected.", "errors": {"resource": ["is write protected."]}});
    let none = api.call("GET", "/api/clients", None, None).await;
    assert_eq!((none.status, &none.body), (401, &unauthorized));
    let bogus = api
        .call("GET", "/api/clients", Some("not-a-token"), None)
        .await;
    assert_eq!(bogus.status, 401);
    let lower = api
        .finish(
            "GET",
            "/api/clients",
            api_request(&api, "GET", "/api/clients").header("authorization", "bearer x"),
        )
        .await;
    assert_eq!(lower.status, 401);
    let scopes_only = api.token("scopes:manage:all").await;
    let no_scope = api
        .call("GET", "/api/clients", Some(&scopes_only), None)
        .await;
    assert_eq!((no_scope.status, &no_scope.body), (403, &forbidden));
    // Reading scopes needs any one of four scopes; identity providers need theirs.
    let clients_only = api.token("clients:manage:all").await;
    assert_eq!(
        api.call("GET", "/api/scopes", Some(&clients_only), None)
            .await
            .status,
        200
    );
    assert_eq!(
        api.call("GET", "/api/identity-providers", Some(&clients_only), None)
            .await
            .status,
        403
    );
    let token = api.token(ALL).await;
    for method in ["PATCH", "PUT"] {
        let reply = api
            .call(
                method,
                &format!("/api/clients/{admin}"),
                Some(&token),
                Some(json!({"client": {"name": "x"}})),
            )
            .await;
        assert_eq!((reply.status, &reply.body), (403, &protected), "{method}");
    }
    let reply = api
        .call(
            "DELETE",
            &format!("/api/clients/{admin}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((reply.status, &reply.body), (403, &protected));
    // Unknown id on update: the lookup comes first (404); on delete protection comes first.
    let unknown = "00000000-0000-4000-8000-000000000001";
    assert_eq!(
        api.call(
            "PATCH",
            &format!("/api/clients/{unknown}"),
            Some(&token),
            Some(json!({"client": {}}))
        )
        .await
        .status,
        404
    );
    assert_eq!(
        api.call(
            "DELETE",
            &format!("/api/clients/{unknown}"),
            Some(&token),
            None
        )
        .await
        .status,
        404
    );
    // Accept that excludes JSON: 406 before authentication.
    let reply = api
        .finish(
            "GET",
            "/api/clients",
            api_request(&api, "GET", "/api/clients").header("accept", "text/html"),
        )
        .await;
    assert_eq!(reply.status, 406);
}

fn api_request(api: &Api, method: &str, path: &str) -> reqwest::RequestBuilder {
    http_client().request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", api.sandbox.base_url()),
    )
}

/// (what, basic credentials, form, status, error, description)
type TokenRow<'a> = (
    &'a str,
    Option<(&'a str, &'a str)>,
    Vec<(&'a str, &'a str)>,
    u16,
    &'a str,
    Option<&'a str>,
);

/// Every error row of the token endpoint table (contract §3.3).
#[tokio::test(flavor = "multi_thread")]
async fn token_endpoint_error_table() {
    use boruta_gitops::api::token_messages as m;
    let api = Api::new();
    let token = api.token(ALL).await;
    let idp = json!({"id": api.idp(DEFAULT_IDP)});
    let make = |extra: Value| {
        let mut client = json!({"secret": "pw", "identity_provider": idp, "supported_grant_types": ["client_credentials"]});
        client
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        client
    };
    let basic_only = api
        .create(
            &token,
            make(json!({"token_endpoint_auth_methods": ["client_secret_basic"]})),
        )
        .await
        .body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let post_only = api
        .create(
            &token,
            make(json!({"token_endpoint_auth_methods": ["client_secret_post"]})),
        )
        .await
        .body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let no_cc = api
        .create(
            &token,
            make(json!({"supported_grant_types": ["authorization_code"]})),
        )
        .await
        .body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let with_resource = api
        .create(
            &token,
            make(json!({"authorized_resources": ["https://resource.test"]})),
        )
        .await
        .body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cc = "client_credentials";
    let unknown = "00000000-0000-4000-8000-00000000abcd";
    let rows: Vec<TokenRow> = vec![
        (
            "no grant_type",
            None,
            vec![],
            400,
            "invalid_request",
            Some(m::NO_GRANT_TYPE),
        ),
        (
            "unknown grant_type",
            None,
            vec![("grant_type", "magic")],
            400,
            "invalid_request",
            Some(m::BAD_GRANT_TYPE),
        ),
        (
            "no client_id",
            None,
            vec![("grant_type", cc)],
            400,
            "invalid_request",
            Some(m::NO_CLIENT_ID),
        ),
        (
            "client_id not uuid",
            None,
            vec![("grant_type", cc), ("client_id", "x")],
            400,
            "invalid_request",
            Some(m::BAD_CLIENT_ID),
        ),
        (
            "unknown client",
            Some((unknown, "pw")),
            vec![("grant_type", cc)],
            401,
            "invalid_client",
            Some(m::INVALID_CLIENT),
        ),
        (
            "wrong secret",
            Some((&basic_only, "nope")),
            vec![("grant_type", cc)],
            401,
            "invalid_client",
            Some(m::INVALID_CLIENT),
        ),
        (
            "basic-only client with post",
            None,
            vec![
                ("grant_type", cc),
                ("client_id", &basic_only),
                ("client_secret", "pw"),
            ],
            401,
            "invalid_client",
            Some(m::EXPECTS_BASIC),
        ),
        (
            "post-only client with basic",
            Some((&post_only, "pw")),
            vec![("grant_type", cc)],
            401,
            "invalid_client",
            Some(m::EXPECTS_POST),
        ),
        (
            "grant type not supported",
            Some((&no_cc, "pw")),
            vec![("grant_type", cc)],
            400,
            "unsupported_grant_type",
            Some(m::UNSUPPORTED_GRANT_TYPE),
        ),
        (
            "scope not grantable",
            Some((&basic_only, "pw")),
            vec![("grant_type", cc), ("scope", "clients:manage:all")],
            400,
            "invalid_scope",
            Some(m::INVALID_SCOPE),
        ),
        (
            "duplicate scope",
            Some((&basic_only, "pw")),
            vec![("grant_type", cc), ("scope", "openid openid")],
            400,
            "invalid_scope",
            Some(m::INVALID_SCOPE),
        ),
        (
            "resource required",
            Some((&with_resource, "pw")),
            vec![("grant_type", cc)],
            400,
            "invalid_target",
            Some(m::RESOURCE_NOT_AUTHORIZED),
        ),
        (
            "resource malformed",
            Some((&with_resource, "pw")),
            vec![("grant_type", cc), ("resource", "not a uri")],
            400,
            "invalid_target",
            Some(m::RESOURCE_MALFORMED),
        ),
    ];
    let mut failures = Vec::new();
    for (what, basic, form, status, error, description) in rows {
        let reply = api.token_request(basic, &form).await;
        let expected = json!({"error": error, "error_description": description});
        if reply.status != status || reply.body != expected {
            failures.push(format!(
                "{what}: expected {status} {expected}, got {} {}",
                reply.status, reply.body
            ));
        }
    }
    // Malformed Basic headers.
    let raw = |value: &'static str| {
        http_client()
            .post(api.sandbox.token_url())
            .header("authorization", value)
            .form(&[("grant_type", cc)])
    };
    let reply = raw("Token abc").send().await.unwrap();
    assert_eq!(reply.status(), 400);
    assert_eq!(
        reply.json::<Value>().await.unwrap()["error_description"],
        "`Token abc` is not a valid Basic authorization header."
    );
    let reply = raw("Basic !!!").send().await.unwrap();
    assert_eq!(
        reply.json::<Value>().await.unwrap()["error_description"],
        m::BAD_CREDENTIALS
    );
    // Success: public scopes, a refresh token, no `scope` member, no-store headers.
    let ok = api
        .token_request(
            Some((&basic_only, "pw")),
            &[("grant_type", cc), ("scope", "openid email")],
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["token_type"], "bearer");
    assert_eq!(ok.body["expires_in"], 86399);
    assert_eq!(ok.body["access_token"].as_str().unwrap().len(), 86);
    assert!(ok.body["refresh_token"].is_string());
    assert!(ok.body.get("scope").is_none());
    assert_eq!(ok.headers["cache-control"], "no-store");
    assert_eq!(ok.headers["pragma"], "no-cache");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_expire() {
    let api = Api::start(Config {
        token_ttl: 1,
        ..Config::default()
    });
    let before_issue = std::time::Instant::now();
    let token = api.token(ALL).await;
    assert_eq!(
        api.call("GET", "/api/clients", Some(&token), None)
            .await
            .status,
        200
    );
    // Expiry is the subject: the token is asked again until it is refused, within a
    // deadline well past its one-second lifetime (no fixed sleep that a slow tick misses).
    let deadline = before_issue + std::time::Duration::from_secs(10);
    loop {
        let status = api
            .call("GET", "/api/clients", Some(&token), None)
            .await
            .status;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            std::time::Instant::now() < deadline,
            "the token never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Not before its lifetime: issued after `before_issue`, it expires a second later
    // (src/sandbox/state.rs, issue_token).
    let lived = before_issue.elapsed();
    assert!(lived >= std::time::Duration::from_secs(1), "{lived:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates() {
    let api = std::sync::Arc::new(Api::new());
    let token = api.token(ALL).await;
    let idp = api.idp(DEFAULT_IDP);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (api, token, idp) = (api.clone(), token.clone(), idp.clone());
        tasks.push(tokio::spawn(async move {
            api.create(&token, json!({"id": format!("00000000-0000-4000-9000-{i:012}"), "identity_provider": {"id": idp}})).await.status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 201);
    }
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (api, token, idp) = (api.clone(), token.clone(), idp.clone());
        tasks.push(tokio::spawn(async move {
            let reply = api.create(&token, json!({"id": "00000000-0000-4000-a000-000000000001", "identity_provider": {"id": idp}})).await;
            (reply.status, reply.body)
        }));
    }
    let mut created = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => created += 1,
            422 => assert_eq!(body["errors"], json!({"id": ["has already been taken"]})),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_boruta_answers() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        api_request(&api, "POST", "/api/clients")
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
    };
    let not_json = api
        .finish(
            "POST",
            "/api/clients",
            post("application/json", b"{not json".to_vec()),
        )
        .await;
    assert_eq!(
        (not_json.status, not_json.body["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    assert_eq!(
        not_json.body["errors"],
        json!({"resource": ["the requested with given parameters cannot be processed."]})
    );
    let wrong_type = api
        .finish(
            "POST",
            "/api/clients",
            post("text/plain", br#"{"client":{}}"#.to_vec()),
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    assert!(wrong_type.body["message"]
        .as_str()
        .unwrap()
        .starts_with("could not find a matching BorutaAdminWeb.ClientController.create clause"));
    let no_envelope = api
        .call(
            "POST",
            "/api/clients",
            Some(&token),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(no_envelope.status, 400);
    assert!(no_envelope.body.get("errors").is_none());
    let huge = api
        .finish(
            "POST",
            "/api/clients",
            post("application/json", vec![b' '; 9_000_000]),
        )
        .await;
    assert_eq!(huge.status, 413);
    let bad_id = api
        .call("GET", "/api/clients/not-a-uuid", Some(&token), None)
        .await;
    assert_eq!(bad_id.status, 400);
    assert!(bad_id.body["message"]
        .as_str()
        .unwrap()
        .contains("cannot be cast to type Ecto.UUID"));
    let bad_scope_id = api
        .call("GET", "/api/scopes/not-a-uuid", Some(&token), None)
        .await;
    assert_eq!(bad_scope_id.status, 400);
    let bad_idp_id = api
        .call(
            "GET",
            "/api/identity-providers/not-a-uuid",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(bad_idp_id.status, 404);
    let crash = api.create(&token, json!({"authorized_scopes": "openid", "identity_provider": {"id": api.idp(DEFAULT_IDP)}})).await;
    assert_eq!(crash.status, 500);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_and_request_log() {
    let api = Api::new();
    let token = api.token(ALL).await;
    api.sandbox.clear_requests();
    api.sandbox.add_fault(
        "POST /api/clients nth=1 status=503"
            .parse::<Fault>()
            .unwrap(),
    );
    api.sandbox.add_fault(
        "GET /api/clients times=1 status=429 retry-after=7"
            .parse::<Fault>()
            .unwrap(),
    );
    let idp = json!({"id": api.idp(DEFAULT_IDP)});
    let first = api
        .create(&token, json!({"name": "a", "identity_provider": idp}))
        .await;
    assert_eq!(first.status, 503);
    let second = api
        .create(&token, json!({"name": "a", "identity_provider": idp}))
        .await;
    assert_eq!(second.status, 201);
    let limited = api.call("GET", "/api/clients", Some(&token), None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "7");
    let log = api.sandbox.requests();
    let summary: Vec<(String, String, u16)> = log
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("POST".into(), "/api/clients".into(), 503),
            ("POST".into(), "/api/clients".into(), 201),
            ("GET".into(), "/api/clients".into(), 429),
        ]
    );
    assert_eq!(log[0].auth_scheme.as_deref(), Some("Bearer"));
    assert_eq!(log[1].json()["client"]["name"], "a");
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_then_drop_commits_and_closes_the_connection() {
    let api = Api::new();
    let token = api.token(ALL).await;
    api.sandbox.add_fault(
        "POST /api/clients nth=1 commit-then-drop"
            .parse::<Fault>()
            .unwrap(),
    );
    let id = "00000000-0000-4000-b000-000000000001";
    let result = http_client()
        .post(format!("{}/api/clients", api.sandbox.base_url()))
        .bearer_auth(&token)
        .json(&json!({"client": {"id": id, "identity_provider": {"id": api.idp(DEFAULT_IDP)}}}))
        .send()
        .await;
    assert!(
        result.is_err(),
        "the connection must be dropped: {result:?}"
    );
    let shown = api
        .call("GET", &format!("/api/clients/{id}"), Some(&token), None)
        .await;
    assert_eq!(shown.status, 200, "the create was committed");
    api.sandbox
        .add_fault("GET /api/clients nth=1 truncate".parse::<Fault>().unwrap());
    let truncated = http_client()
        .get(format!("{}/api/clients", api.sandbox.base_url()))
        .bearer_auth(&token)
        .send()
        .await;
    // Depending on buffering, the head may or may not arrive before the cut; the body never does.
    if let Ok(response) = truncated {
        assert!(
            response.bytes().await.is_err(),
            "the body must be cut short"
        );
    }
}

#[test]
fn state_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let config = Config {
        state_file: Some(path.clone()),
        bootstrap_client_id: Some("11111111-2222-4333-8444-555555555555".into()),
        bootstrap_client_secret: Some("s".into()),
        ..Config::default()
    };
    let first = Sandbox::start(config.clone()).unwrap();
    let id = first.with_state(|s| {
        let reply = s.create_client(&json!({"client": {"name": "kept", "identity_provider": {"id": boruta_gitops::sandbox::state::seed_id(DEFAULT_IDP)}}}));
        reply.body.unwrap()["data"]["id"].as_str().unwrap().to_string()
    });
    drop(first);
    assert!(path.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state holds secrets");
    }
    let second = Sandbox::start(config).unwrap();
    assert!(second.with_state(|s| s.clients.contains_key(&id)));
}

#[tokio::test(flavor = "multi_thread")]
async fn update_association_failure_keeps_field_changes() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let created = api
        .create(
            &token,
            json!({"identity_provider": {"id": api.idp(DEFAULT_IDP)}}),
        )
        .await;
    let id = created.body["data"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/clients/{id}");
    let reply = api.call("PATCH", &path, Some(&token), Some(json!({"client": {"pkce": true, "identity_provider": {"id": "00000000-0000-4000-8000-000000000000"}}}))).await;
    assert_eq!(
        errors(&reply),
        json!({"identity_provider_id": ["does not exist"]})
    );
    let shown = api.call("GET", &path, Some(&token), None).await;
    assert_eq!(
        shown.body["data"]["pkce"], true,
        "not atomic upstream (§6.2)"
    );
    assert_eq!(shown.body["data"]["identity_provider"]["name"], DEFAULT_IDP);
    // The upper-case spelling of the protected id bypasses the protection (§2.4 quirk).
    let upper = boruta_gitops::api::ADMIN_UI_CLIENT_ID.to_uppercase();
    let reply = api
        .call(
            "PATCH",
            &format!("/api/clients/{upper}"),
            Some(&token),
            Some(json!({"client": {"pkce": true}})),
        )
        .await;
    assert_eq!(reply.status, 200);
}

// --- Issue #18 item 4: key generation, key pairs, envelopes, changed-only URIs ---------

const PROTECTED: &str = boruta_gitops::api::ADMIN_UI_CLIENT_ID;

/// A client created over HTTP; returns its id.
async fn client_id(api: &Api, token: &str, extra: Value) -> String {
    let mut client = json!({"name": "kp", "identity_provider": {"id": api.idp(DEFAULT_IDP)}});
    client
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let reply = api.create(token, client).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["data"]["id"].as_str().unwrap().to_string()
}

async fn public_key(api: &Api, token: &str, id: &str) -> String {
    let shown = api
        .call("GET", &format!("/api/clients/{id}"), Some(token), None)
        .await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    shown.body["data"]["public_key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn key_pair_id(name: &str) -> String {
    boruta_gitops::sandbox::state::seed_id(name)
}

/// `POST regenerate_key_pair` makes a key from the stored `key_pair_type` as a create
/// would, and fails as a create's key generation fails (contract §1.2); a failure keeps the
/// old key.
#[tokio::test(flavor = "multi_thread")]
async fn regenerate_key_pair_fails_as_boruta_key_generation_fails() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let invalid = json!({"private_key": ["private_key_type is invalid"]});
    let no_did = json!({"private_key": ["Could not create did."]});
    // Each type passes an update's validation (which generates no key), then regenerates.
    let cases: Vec<(Value, u16, Option<Value>)> = vec![
        (
            json!({"type": "rsa", "modulus_size": "2048"}),
            422,
            Some(invalid.clone()),
        ),
        (json!({"type": "ec"}), 422, Some(invalid.clone())),
        (json!({"type": "ec", "curve": "P-512"}), 500, None),
        (json!({"type": "universal"}), 422, Some(no_did)),
        (
            json!({"type": "rsa", "modulus_size": "4096", "exponent_size": "65537"}),
            200,
            None,
        ),
        (json!({"type": "ec", "curve": "P-384"}), 200, None),
    ];
    for (key_pair_type, status, errors_expected) in cases {
        let id = client_id(&api, &token, json!({})).await;
        let path = format!("/api/clients/{id}");
        let changed = api
            .call(
                "PATCH",
                &path,
                Some(&token),
                Some(json!({"client": {"key_pair_type": key_pair_type}})),
            )
            .await;
        assert_eq!(changed.status, 200, "{key_pair_type}: {:?}", changed.body);
        let before = public_key(&api, &token, &id).await;
        let reply = api
            .call(
                "POST",
                &format!("{path}/regenerate_key_pair"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(reply.status, status, "{key_pair_type}: {:?}", reply.body);
        let after = public_key(&api, &token, &id).await;
        match status {
            200 => {
                assert_ne!(after, before, "{key_pair_type}");
                assert_eq!(reply.body["data"]["public_key"], after.as_str());
                let label = match key_pair_type["type"].as_str() {
                    Some("ec") => "-----BEGIN PUBLIC KEY-----\n",
                    _ => "-----BEGIN RSA PUBLIC KEY-----\n",
                };
                assert!(after.starts_with(label), "{after}");
            }
            422 => {
                assert_eq!(errors(&reply), errors_expected.unwrap(), "{key_pair_type}");
                assert_eq!(after, before, "{key_pair_type}");
            }
            _ => {
                assert_eq!(reply.body["code"], "INTERNAL_SERVER_ERROR");
                assert_eq!(after, before, "{key_pair_type}");
            }
        }
    }
    // A legacy row with a 1024-bit modulus (migration 20241021151746) cannot regenerate.
    let legacy = "0c0c0c0c-0c0c-4c0c-8c0c-0c0c0c0c0c0c";
    api.sandbox.with_state(|s| {
        let values = json!({"name": "legacy", "key_pair_type": {"type": "rsa", "modulus_size": "1024", "exponent_size": "65537"}});
        s.insert_raw_client(legacy, values.as_object().unwrap().clone(), Some(api.idp(DEFAULT_IDP)));
    });
    let reply = api
        .call(
            "POST",
            &format!("/api/clients/{legacy}/regenerate_key_pair"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(errors(&reply), invalid);
    // Unknown and protected ids: the lookup first, then the protection (§2.4).
    let unknown = "00000000-0000-4000-8000-0000000000aa";
    let reply = api
        .call(
            "POST",
            &format!("/api/clients/{unknown}/regenerate_key_pair"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, 404);
    let reply = api
        .call(
            "POST",
            &format!("/api/clients/{PROTECTED}/regenerate_key_pair"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["message"].as_str()),
        (403, Some("The resource is write protected."))
    );
}

/// `GET /api/key-pairs` and `/api/key-pairs/{id}` render `{id, public_key, is_default}`
/// with `clients:manage:all` (key_pair_controller.ex); a client created with a
/// `key_pair_id` renders that key pair's public key.
#[tokio::test(flavor = "multi_thread")]
async fn key_pairs_are_read_with_the_clients_scope() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let (default, second) = (
        key_pair_id("Default key pair"),
        key_pair_id("Second key pair"),
    );
    let (default_key, second_key) = api.sandbox.with_state(|s| {
        (
            s.key_pairs[&default].public_key.clone(),
            s.key_pairs[&second].public_key.clone(),
        )
    });
    let mut expected = vec![
        json!({"id": default, "public_key": default_key, "is_default": true}),
        json!({"id": second, "public_key": second_key, "is_default": false}),
    ];
    expected.sort_by_key(|k| k["id"].as_str().unwrap().to_string());
    let list = api.call("GET", "/api/key-pairs", Some(&token), None).await;
    assert_eq!((list.status, &list.body), (200, &json!({"data": expected})));
    assert!(default_key.starts_with("-----BEGIN RSA PUBLIC KEY-----\n"));
    let shown = api
        .call(
            "GET",
            &format!("/api/key-pairs/{default}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (shown.status, &shown.body),
        (
            200,
            &json!({"data": {"id": default, "public_key": default_key, "is_default": true}})
        )
    );
    let unknown = api
        .call(
            "GET",
            "/api/key-pairs/00000000-0000-4000-8000-0000000000bb",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert!(unknown.body.get("errors").is_none());
    let malformed = api
        .call("GET", "/api/key-pairs/nope", Some(&token), None)
        .await;
    assert_eq!(
        (malformed.status, malformed.body["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    // Scopes: clients:manage:all, nothing else.
    let scopes_only = api
        .token("scopes:manage:all identity-providers:manage:all")
        .await;
    let forbidden = api
        .call("GET", "/api/key-pairs", Some(&scopes_only), None)
        .await;
    assert_eq!(
        (forbidden.status, forbidden.body["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let anonymous = api.call("GET", "/api/key-pairs", None, None).await;
    assert_eq!(anonymous.status, 401);
    let clients_only = api.token("clients:manage:all").await;
    assert_eq!(
        api.call("GET", "/api/key-pairs", Some(&clients_only), None)
            .await
            .status,
        200
    );
    // A create with key_pair_id copies the key pair's key; `null` is ignored.
    let holder = client_id(&api, &token, json!({"key_pair_id": second})).await;
    assert_eq!(public_key(&api, &token, &holder).await, second_key);
    let ignored = client_id(&api, &token, json!({"key_pair_id": null})).await;
    let own = public_key(&api, &token, &ignored).await;
    assert!(own != default_key && own != second_key);
}

/// Contract §4.4: an unknown `key_pair_id` on update saves the other fields, then answers
/// 404 (400 for a non-UUID); `key_pair_id: null` is ignored.
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_pair_on_update_saves_the_other_fields_then_answers_404() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let id = client_id(&api, &token, json!({})).await;
    let path = format!("/api/clients/{id}");
    let key = public_key(&api, &token, &id).await;
    let unknown = "00000000-0000-4000-8000-0000000000cc";
    let reply = api
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"client": {"pkce": true, "key_pair_id": unknown}})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .starts_with("expected at least one result but got none in query"));
    assert!(reply.body.get("errors").is_none());
    let shown = api.call("GET", &path, Some(&token), None).await;
    assert_eq!(shown.body["data"]["pkce"], true, "saved before the 404");
    assert_eq!(shown.body["data"]["public_key"], key.as_str());
    let reply = api
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"client": {"name": "renamed", "key_pair_id": "not-a-uuid"}})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    let shown = api.call("GET", &path, Some(&token), None).await;
    assert_eq!(
        shown.body["data"]["name"], "renamed",
        "saved before the 400"
    );
    let reply = api
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"client": {"pkce": false, "key_pair_id": null}})),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["pkce"], false);
    assert_eq!(
        reply.body["data"]["public_key"],
        key.as_str(),
        "null is ignored"
    );
    // A 422 of the update itself stops before the key pair: nothing is saved.
    let reply = api
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(
                json!({"client": {"pkce": true, "response_mode": "bogus", "key_pair_id": unknown}}),
            ),
        )
        .await;
    assert_eq!(errors(&reply), json!({"response_mode": ["is invalid"]}));
    let shown = api.call("GET", &path, Some(&token), None).await;
    assert_eq!(shown.body["data"]["pkce"], false);
}

/// Contract §4.4: a `key_pair_id` sent for a client that already holds that key pair's key
/// is no change to `key_pair_changeset`, so `generate_key_pair` gives the client a fresh
/// random key: re-sending it rotates the key.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_pair_id_the_client_already_holds_rotates_its_key() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let pair = key_pair_id("Default key pair");
    let pair_key = api
        .sandbox
        .with_state(|s| s.key_pairs[&pair].public_key.clone());
    let id = client_id(&api, &token, json!({})).await;
    let path = format!("/api/clients/{id}");
    let patch = json!({"client": {"key_pair_id": pair}});
    // Not held yet: the key pair's key is copied.
    let reply = api
        .call("PATCH", &path, Some(&token), Some(patch.clone()))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["public_key"], pair_key.as_str());
    // Held: the same request replaces it with a random key of the client's type.
    let reply = api
        .call("PATCH", &path, Some(&token), Some(patch.clone()))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let rotated = reply.body["data"]["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(rotated, pair_key);
    assert!(rotated.starts_with("-----BEGIN RSA PUBLIC KEY-----\n"));
    assert_eq!(public_key(&api, &token, &id).await, rotated);
    // No longer held: sent again, the key pair's key comes back.
    let reply = api
        .call("PATCH", &path, Some(&token), Some(patch.clone()))
        .await;
    assert_eq!(reply.body["data"]["public_key"], pair_key.as_str());
    // A holder whose key type cannot be generated gets generate_key_pair's 422, after
    // the update's other fields were saved.
    let reply = api
        .call("PATCH", &path, Some(&token), Some(json!({"client": {"pkce": true, "key_pair_type": {"type": "rsa", "modulus_size": "2048"}, "key_pair_id": pair}})))
        .await;
    assert_eq!(
        errors(&reply),
        json!({"private_key": ["private_key_type is invalid"]})
    );
    let shown = api.call("GET", &path, Some(&token), None).await;
    assert_eq!(shown.body["data"]["pkce"], true);
    assert_eq!(shown.body["data"]["public_key"], pair_key.as_str());
}

/// Contract §5.2: `redirect_uris` and `authorized_resources` are checked only when they
/// change, so re-sending a legacy list a create would refuse passes.
#[tokio::test(flavor = "multi_thread")]
async fn on_update_only_changed_uri_lists_are_validated() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let legacy = "0d0d0d0d-0d0d-4d0d-8d0d-0d0d0d0d0d0d";
    api.sandbox.with_state(|s| {
        let values = json!({"name": "legacy", "redirect_uris": ["myapp:/cb"], "authorized_resources": ["https://a/api#x"]});
        s.insert_raw_client(legacy, values.as_object().unwrap().clone(), Some(api.idp(DEFAULT_IDP)));
    });
    let path = format!("/api/clients/{legacy}");
    let unchanged = json!({"client": {"name": "kept", "redirect_uris": ["myapp:/cb"], "authorized_resources": ["https://a/api#x"]}});
    let reply = api
        .call("PATCH", &path, Some(&token), Some(unchanged))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["name"], "kept");
    assert_eq!(reply.body["data"]["redirect_uris"], json!(["myapp:/cb"]));
    let changed = json!({"client": {"redirect_uris": ["myapp:/cb", "https://ok.example/cb"], "authorized_resources": ["https://a/api#x", "https://b/api"]}});
    let reply = api.call("PATCH", &path, Some(&token), Some(changed)).await;
    assert_eq!(
        errors(&reply),
        json!({"redirect_uris": ["`myapp:/cb` is invalid"], "authorized_resources": ["`https://a/api#x` is invalid"]})
    );
}

/// The update action's clause needs the `client` key: without it, 400 before the lookup
/// and the protection (so an unknown or protected id gets 400 too).
#[tokio::test(flavor = "multi_thread")]
async fn a_body_without_the_client_envelope_is_a_400() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let id = client_id(&api, &token, json!({})).await;
    let unknown = "00000000-0000-4000-8000-0000000000dd";
    for method in ["PATCH", "PUT"] {
        for target in [id.as_str(), unknown, PROTECTED, "not-a-uuid"] {
            let reply = api
                .call(
                    method,
                    &format!("/api/clients/{target}"),
                    Some(&token),
                    Some(json!({"name": "x"})),
                )
                .await;
            assert_eq!(
                (reply.status, reply.body["code"].as_str()),
                (400, Some("BAD_REQUEST")),
                "{method} {target}"
            );
            assert!(
                reply.body["message"].as_str().unwrap().starts_with(
                    "could not find a matching BorutaAdminWeb.ClientController.update clause"
                ),
                "{method} {target}: {:?}",
                reply.body
            );
            assert!(reply.body.get("errors").is_none());
        }
    }
    let reply = api
        .call(
            "POST",
            "/api/clients",
            Some(&token),
            Some(json!([{"client": {}}])),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .starts_with("could not find a matching BorutaAdminWeb.ClientController.create clause"));
    // With the key but no map: the lookup and the protection first, then Ecto's 400.
    let reply = api
        .call(
            "PATCH",
            &format!("/api/clients/{unknown}"),
            Some(&token),
            Some(json!({"client": "x"})),
        )
        .await;
    assert_eq!(reply.status, 404);
    let reply = api
        .call(
            "PATCH",
            &format!("/api/clients/{id}"),
            Some(&token),
            Some(json!({"client": "x"})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    // The non-UUID show is still the cast error of the lookup.
    let reply = api
        .call("GET", "/api/clients/not-a-uuid", Some(&token), None)
        .await;
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("cannot be cast to type Ecto.UUID"));
}

/// Contract §9.1: the migration-inserted public client is the one whose
/// `public_client_id` is the issuer; its name is an ordinary, writable field.
#[tokio::test(flavor = "multi_thread")]
async fn the_public_client_is_known_by_its_public_client_id_and_can_be_renamed() {
    let api = Api::new();
    let token = api.token(ALL).await;
    let issuer = api.sandbox.base_url().to_string();
    let find = |body: &Value| {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["public_client_id"] == issuer.as_str())
            .cloned()
            .collect::<Vec<Value>>()
    };
    let listed = api.call("GET", "/api/clients", Some(&token), None).await;
    let public = find(&listed.body);
    assert_eq!(public.len(), 1);
    assert_eq!(public[0]["name"], "public client");
    assert_eq!(
        public[0]["identity_provider"],
        json!({"id": null, "name": null})
    );
    let id = public[0]["id"].as_str().unwrap();
    // Not write protected ("TODO protect public client" in client_controller.ex).
    let reply = api
        .call(
            "PATCH",
            &format!("/api/clients/{id}"),
            Some(&token),
            Some(json!({"client": {"name": "wallet"}})),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let listed = api.call("GET", "/api/clients", Some(&token), None).await;
    let public = find(&listed.body);
    assert_eq!(public.len(), 1);
    assert_eq!(public[0]["id"], id);
    assert_eq!(public[0]["name"], "wallet");
    assert_eq!(
        public[0]["identity_provider"],
        json!({"id": null, "name": null})
    );
    assert!(!listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "public client"));
}

/// The state file seeds key pairs (also in the older form, a bare public key) and scopes:
/// what a test or a user writes there is what the API serves.
#[tokio::test(flavor = "multi_thread")]
async fn a_state_file_seeds_key_pairs_and_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let config = Config {
        state_file: Some(path.clone()),
        version: Version::Master,
        ..Config::default()
    };
    drop(Sandbox::start(config.clone()).unwrap());
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ui_made = "0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e";
    let old_form = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f";
    let pem = "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n";
    state["key_pairs"][ui_made] = json!({"public_key": pem, "is_default": null});
    state["key_pairs"][old_form] = json!(pem);
    let scope_id = "1a1a1a1a-1a1a-4a1a-8a1a-1a1a1a1a1a1a";
    state["scopes"][scope_id] =
        json!({"id": scope_id, "name": "billing:read", "label": "Read invoices", "public": false});
    std::fs::write(&path, state.to_string()).unwrap();
    let api = Api::start(config);
    let token = api.token(&format!("{ALL} scopes:manage:all")).await;
    let shown = api
        .call(
            "GET",
            &format!("/api/key-pairs/{ui_made}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        shown.body,
        json!({"data": {"id": ui_made, "public_key": pem, "is_default": null}})
    );
    let shown = api
        .call(
            "GET",
            &format!("/api/key-pairs/{old_form}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        shown.body,
        json!({"data": {"id": old_form, "public_key": pem, "is_default": null}})
    );
    let shown = api
        .call(
            "GET",
            &format!("/api/scopes/{scope_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        shown.body,
        json!({"data": {"id": scope_id, "name": "billing:read", "label": "Read invoices", "public": false}})
    );
}
