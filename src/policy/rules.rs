//! The security rules (OAuth best current practice, catalogued in `catalogue`), run on
//! each client as boruta would store it: the declared fields plus boruta's defaults (an
//! omitted `confidential` or `pkce` is false, an omitted `access_token_ttl` is 86400).
//! `supported_grant_types` is judged only when declared: its default differs between
//! boruta versions, and its omission is already the field catalogue's
//! `default-grant-types` finding. Each finding points at the value that triggers it (the
//! grant, method, URI or scope item), or at the client's name for an omitted field.
//! Values from a sensitive origin are judged but never quoted. Pure.

use super::catalogue;
use super::file::Policy;
use crate::findings::Code;
use crate::kinds::client::fields::{self, Version};
use crate::source::{Diagnostic, Location, Node, NodeValue, Origin};
use crate::validate::Desired;
use serde_json::Value;
use std::collections::HashMap;

/// The findings of every enabled rule on `clients`, at their default severities (the
/// caller applies the policy's with [`Policy::judge`]).
pub fn check(clients: &[Desired], policy: &Policy, version: Version) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !catalogue::RULES.iter().any(|r| policy.enabled(r.code)) {
        return out;
    }
    let mut redirect_uris: HashMap<&str, (&str, &Location)> = HashMap::new();
    for desired in clients.iter().filter(|d| !d.absent()) {
        let client = View { desired, version };
        let mut finding = |code: Code, message: String, at: Location| {
            if policy.enabled(code) {
                out.push(Diagnostic::new(code, message, Some(at)));
            }
        };
        grants(&client, &mut finding);
        redirects(&client, &mut finding);
        authentication(&client, &mut finding);
        tokens(&client, policy, &mut finding);
        if policy.enabled(Code::RedirectUriReused) {
            for item in client.items("redirect_uris") {
                let Some(uri) = item.as_str() else { continue };
                match redirect_uris.get(uri) {
                    Some((other, at)) if *other != desired.name => finding(
                        Code::RedirectUriReused,
                        format!(
                            "redirect URI {} is also one of `{other}` ({at}): an authorization code meant for one client can reach the other",
                            quoted(item)
                        ),
                        item.loc.clone(),
                    ),
                    Some(_) => {}
                    None => {
                        redirect_uris.insert(uri, (&desired.name, &item.loc));
                    }
                }
            }
        }
    }
    out
}

type Finding<'a> = dyn FnMut(Code, String, Location) + 'a;

/// A client's values as boruta would store them.
struct View<'a> {
    desired: &'a Desired,
    version: Version,
}

impl<'a> View<'a> {
    /// The declared value, unless it could not be resolved (then no rule judges it).
    fn declared(&self, name: &str) -> Option<&'a Node> {
        self.desired
            .get(name)
            .map(|d| d.node)
            .filter(|n| n.origin != Origin::Unresolved)
    }

    fn default_of(&self, name: &str) -> Option<&'static Value> {
        fields::create_defaults(self.version).get(name)
    }

    fn flag(&self, name: &str) -> bool {
        match self.declared(name).map(|n| &n.value) {
            Some(NodeValue::Bool(b)) => *b,
            _ => self
                .default_of(name)
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.declared(name) {
            Some(node) => node.as_str().map(str::to_string),
            None => self
                .default_of(name)
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// The declared list's items (none when undeclared).
    fn items(&self, name: &str) -> &'a [Node] {
        match self.declared(name).map(|n| &n.value) {
            Some(NodeValue::Seq(items)) => items,
            _ => &[],
        }
    }

    /// The declared list, or the default list.
    fn list(&self, name: &str) -> Vec<String> {
        if self.declared(name).is_some() {
            return self
                .items(name)
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_string)
                .collect();
        }
        self.default_of(name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    }

    /// The declared value's location, or the client's name for an omitted field.
    fn at(&self, name: &str) -> Location {
        match self.declared(name) {
            Some(node) => node.loc.clone(),
            None => self.desired.locate("/name"),
        }
    }

    fn item(&self, list: &str, value: &str) -> Option<&'a Node> {
        self.items(list).iter().find(|i| i.as_str() == Some(value))
    }

    fn public(&self) -> bool {
        !self.flag("confidential")
    }
}

/// A value for a message: quoted, or `(sensitive)`.
fn quoted(node: &Node) -> String {
    if node.sensitive() {
        "(sensitive)".to_string()
    } else {
        format!("`{}`", node.as_str().unwrap_or_default())
    }
}

fn grants(client: &View<'_>, finding: &mut Finding<'_>) {
    if let Some(item) = client.item("supported_grant_types", "implicit") {
        finding(
            Code::ImplicitGrant,
            "the implicit grant returns tokens in the front channel, where they leak: RFC 9700 §2.1.2 says not to use it; use authorization_code with PKCE".into(),
            item.loc.clone(),
        );
    }
    if let Some(item) = client.item("supported_grant_types", "password") {
        finding(
            Code::PasswordGrant,
            "the resource owner password credentials grant MUST NOT be used (RFC 9700 §2.4): it hands the user's password to the client".into(),
            item.loc.clone(),
        );
    }
    if !client.public() {
        return;
    }
    if let Some(item) = client.item("supported_grant_types", "authorization_code") {
        if !client.flag("pkce") {
            finding(
                Code::PublicClientWithoutPkce,
                "a public client (confidential is false) allows authorization_code without `pkce: true`: public clients MUST use PKCE (RFC 9700 §2.1.1)".into(),
                item.loc.clone(),
            );
        }
    }
    if let Some(item) = client.item("supported_grant_types", "client_credentials") {
        // boruta checks the secret of a client_credentials request whatever
        // `confidential` says; it checks none for a client with a public_client_id
        // (should_check_secret?/2, lib/boruta/oauth/schemas/client.ex, boruta_auth
        // 1587483). The risk is a secret that ships in a public app.
        let front_channel = ["authorization_code", "implicit"]
            .into_iter()
            .find(|g| client.item("supported_grant_types", g).is_some());
        let why = if client
            .text("public_client_id")
            .is_some_and(|p| !p.is_empty())
        {
            Some("boruta checks no secret at all for a client with a public_client_id, so anyone can get client_credentials tokens in its name".to_string())
        } else {
            front_channel.map(|grant| format!("this public client (confidential is false) also serves {grant} in an app that cannot keep its secret, and anyone who extracts that secret gets client_credentials tokens in the client's name: use a separate confidential client for client_credentials"))
        };
        if let Some(why) = why {
            finding(Code::PublicClientCredentials, why, item.loc.clone());
        }
    }
}

fn redirects(client: &View<'_>, finding: &mut Finding<'_>) {
    for item in client.items("redirect_uris") {
        let Some(text) = item.as_str() else { continue };
        // Most redirect URIs are https on a public host: only the others need parsing.
        let suspect = text
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
            || text.to_ascii_lowercase().contains("localhost");
        if !suspect {
            continue;
        }
        let Ok(uri) = url::Url::parse(text) else {
            continue;
        };
        let host = uri.host();
        let localhost =
            matches!(host, Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost"));
        let loopback = match host {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => localhost,
        };
        if uri.scheme() == "http" && !loopback {
            finding(
                Code::InsecureRedirectUri,
                format!(
                    "redirect URI {} uses plain http on a host that is not a loopback address: codes and tokens sent there can be read on the way; use https (http is for loopback redirects of native apps only, RFC 8252 §8.3)",
                    quoted(item)
                ),
                item.loc.clone(),
            );
        }
        if localhost {
            finding(
                Code::LocalhostRedirectUri,
                format!(
                    "redirect URI {} uses `localhost`: register the loopback IP literal (http://127.0.0.1:PORT/... or http://[::1]:PORT/...) instead (RFC 8252 §8.3)",
                    quoted(item)
                ),
                item.loc.clone(),
            );
        }
    }
}

fn authentication(client: &View<'_>, finding: &mut Finding<'_>) {
    let methods = client.list("token_endpoint_auth_methods");
    let method_at = |method: &str| {
        client
            .item("token_endpoint_auth_methods", method)
            .map_or_else(
                || client.at("token_endpoint_auth_methods"),
                |n| n.loc.clone(),
            )
    };
    let allows = |method: &str| methods.iter().any(|m| m == method);
    if allows("private_key_jwt") && client.declared("jwt_public_key").is_none() {
        let jwks = if client.declared("jwks_uri").is_some() {
            " (boruta reads jwks_uri only after jwt_public_key failed to verify an assertion, so a jwks_uri alone never authenticates)"
        } else {
            ""
        };
        finding(
            Code::JwtAuthWithoutKey,
            format!("private_key_jwt is allowed but no jwt_public_key is declared: no client assertion can be verified{jwks}"),
            method_at("private_key_jwt"),
        );
    }
    let alg = client
        .text("token_endpoint_jwt_auth_alg")
        .unwrap_or_default();
    for (method, asymmetric) in [("private_key_jwt", true), ("client_secret_jwt", false)] {
        let accepted = fields::jwt_verification_algs(client.version, asymmetric);
        if allows(method) && !accepted.contains(&alg.as_str()) {
            let declared = if client.declared("token_endpoint_jwt_auth_alg").is_some() {
                "is"
            } else {
                "defaults to"
            };
            finding(
                Code::JwtAuthAlgMismatch,
                format!(
                    "{method} is allowed but token_endpoint_jwt_auth_alg {declared} {alg}: boruta {} verifies {method} only with {}",
                    client.version,
                    accepted.join(", ")
                ),
                method_at(method),
            );
        }
    }
    let confidential = !client.public();
    let secret_only = methods.iter().all(|m| m.starts_with("client_secret_"));
    if confidential && secret_only && !methods.is_empty() {
        finding(
            Code::SecretAuthPreferredAsymmetric,
            "this confidential client authenticates with a shared secret only: prefer private_key_jwt (RFC 9700 §2.5)".into(),
            client.at("token_endpoint_auth_methods"),
        );
    }
    if client.public() {
        if let Some(node) = client.declared("id_token_signature_alg") {
            if node.as_str().is_some_and(|a| a.starts_with("HS")) {
                finding(
                    Code::SymmetricIdTokenOnPublicClient,
                    format!(
                        "a public client's ID tokens signed with {} use its secret as the key, which a public client cannot keep: anyone holding the app can forge them; use RS256 or ES256",
                        quoted(node)
                    ),
                    node.loc.clone(),
                );
            }
        }
    }
}

fn tokens(client: &View<'_>, policy: &Policy, finding: &mut Finding<'_>) {
    let ttl = match client.declared("access_token_ttl").map(|n| &n.value) {
        Some(NodeValue::Int(ttl)) => Some(*ttl),
        Some(_) => None,
        None => client
            .default_of("access_token_ttl")
            .and_then(Value::as_i64),
    };
    if let Some(ttl) = ttl.filter(|ttl| *ttl > policy.max_ttl) {
        let what = if client.declared("access_token_ttl").is_some() {
            format!("access_token_ttl is {ttl} s")
        } else {
            format!("access_token_ttl is not declared, and boruta's default is {ttl} s")
        };
        finding(
            Code::LongLivedAccessToken,
            format!(
                "{what}, above the policy's maximum of {} s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)",
                policy.max_ttl
            ),
            client.at("access_token_ttl"),
        );
    }
    let desired = client.desired;
    let administration = policy
        .administration_clients
        .iter()
        .any(|c| c == &desired.name || c.eq_ignore_ascii_case(&desired.id.to_string()));
    if administration {
        return;
    }
    for item in client.items("authorized_scopes") {
        let Some(name) = item.get("name").and_then(Node::as_str) else {
            continue;
        };
        if crate::api::ADMIN_SCOPES.contains(&name) {
            finding(
                Code::AdminScopeGranted,
                format!(
                    "`{name}` opens boruta's admin API to this client (`clients:manage:all` reads every client's secret): list `{}` in the policy's admin-scope-granted.administration_clients if it administers boruta",
                    desired.name
                ),
                item.loc.clone(),
            );
        }
    }
}
