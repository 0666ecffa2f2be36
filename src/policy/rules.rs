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
use crate::kinds::client::fields::FieldId;
use crate::kinds::client::fields::{self, Version};
use crate::kinds::client::spec::{ClientSpec, Declared, Pos};
use crate::source::Diagnostic;
use serde_json::Value;
use std::collections::hash_map::{Entry, HashMap};

/// The findings of every enabled rule on `clients`, at their default severities (the
/// caller applies the policy's with [`Policy::judge`]), client by client in order: each
/// client's own findings, then its redirect URIs that an earlier client already has.
pub fn check(clients: &[ClientSpec], policy: &Policy, version: Version) -> Vec<Diagnostic> {
    if !catalogue::RULES.iter().any(|r| policy.enabled(r.code)) {
        return Vec::new();
    }
    let live: Vec<&ClientSpec> = clients.iter().filter(|d| !d.absent()).collect();
    let reuse = policy.enabled(Code::RedirectUriReused);
    let reused = |live: &[&ClientSpec]| match reuse {
        true => reused_redirects(live, version),
        false => (Vec::new(), vec![0; live.len()]),
    };
    // redirect-uri-reused looks across clients, in order, on this thread, while another
    // thread judges each client alone (more threads made more malloc arenas: plan's peak
    // memory grew).
    let ((own, own_counts), (reused, reused_counts)) = if live.len() < PARALLEL_FROM {
        (own_findings(&live, policy, version), reused(&live))
    } else {
        std::thread::scope(|scope| {
            let own = scope.spawn(|| own_findings(&live, policy, version));
            let reused = reused(&live);
            let own = own.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (own, reused)
        })
    };
    if reused.is_empty() {
        // The usual case, and no copy of 100,000 findings.
        return own;
    }
    let mut out = Vec::with_capacity(own.len() + reused.len());
    let (mut own, mut reused) = (own.into_iter(), reused.into_iter());
    for (own_count, reused_count) in own_counts.into_iter().zip(reused_counts) {
        out.extend(own.by_ref().take(own_count));
        out.extend(reused.by_ref().take(reused_count));
    }
    out
}

/// Below this many clients the rules run on the calling thread (a thread costs more).
const PARALLEL_FROM: usize = 2_000;

/// Every client's findings of the rules that look at that client alone, in client order,
/// and how many each client has.
fn own_findings(
    clients: &[&ClientSpec],
    policy: &Policy,
    version: Version,
) -> (Vec<Diagnostic>, Vec<usize>) {
    let (mut out, mut counts) = (Vec::new(), Vec::with_capacity(clients.len()));
    for desired in clients {
        let before = out.len();
        client_findings(desired, policy, version, &mut out);
        counts.push(out.len() - before);
    }
    (out, counts)
}

/// The findings of the rules that look at one client alone.
fn client_findings(
    desired: &ClientSpec,
    policy: &Policy,
    version: Version,
    out: &mut Vec<Diagnostic>,
) {
    let client = View { desired, version };
    let mut finding = |code: Code, message: String, at: Pos| {
        if policy.enabled(code) {
            out.push(Diagnostic::new(code, message, Some(desired.location(at))));
        }
    };
    grants(&client, &mut finding);
    redirects(&client, &mut finding);
    authentication(&client, &mut finding);
    tokens(&client, policy, &mut finding);
}

/// `redirect-uri-reused`: each client's redirect URIs that an earlier client (of another
/// name) already lists, in client order, and how many each client has.
fn reused_redirects(clients: &[&ClientSpec], version: Version) -> (Vec<Diagnostic>, Vec<usize>) {
    let (mut out, mut counts) = (Vec::new(), Vec::with_capacity(clients.len()));
    // The first client (in manifest order) to list each redirect URI, and where.
    let mut first_use: HashMap<&str, (&ClientSpec, Pos)> = HashMap::with_capacity(clients.len());
    for desired in clients {
        let before = out.len();
        let client = View { desired, version };
        for (uri, at) in client.items(FieldId::RedirectUris) {
            // One hash per URI: `entry`, not `get` then `insert`.
            let (other, first) = match first_use.entry(uri) {
                Entry::Occupied(seen) => *seen.get(),
                Entry::Vacant(first) => {
                    first.insert((desired, at));
                    continue;
                }
            };
            if other.name == desired.name {
                continue;
            }
            let quoted = client.quoted(FieldId::RedirectUris, uri);
            out.push(Diagnostic::new(
                Code::RedirectUriReused,
                format!(
                    "redirect URI {quoted} is also one of `{}` ({}): an authorization code meant for one client can reach the other",
                    other.name,
                    other.location(first)
                ),
                Some(desired.location(at)),
            ));
        }
        counts.push(out.len() - before);
    }
    (out, counts)
}

type Finding<'a> = dyn FnMut(Code, String, Pos) + 'a;

/// A client's values as boruta would store them.
struct View<'a> {
    desired: &'a ClientSpec,
    version: Version,
}

impl<'a> View<'a> {
    /// The declared value, unless it could not be resolved (then no rule judges it).
    fn declared(&self, field: FieldId) -> Option<&'a Declared> {
        self.desired.get(field).filter(|d| !d.unresolved)
    }

    fn default_of(&self, field: FieldId) -> Option<&'static Value> {
        fields::create_defaults(self.version).get(field.name())
    }

    fn flag(&self, field: FieldId) -> bool {
        match self.declared(field) {
            Some(declared) => declared.value.as_bool(),
            None => self.default_of(field).and_then(Value::as_bool),
        }
        .unwrap_or(false)
    }

    fn text(&self, field: FieldId) -> Option<&'a str> {
        match self.declared(field) {
            Some(declared) => declared.value.as_str(),
            None => self.default_of(field).and_then(Value::as_str),
        }
    }

    /// The declared number, or boruta's default.
    fn int(&self, field: FieldId) -> Option<i64> {
        match self.declared(field) {
            Some(declared) => declared.value.as_i64(),
            None => self.default_of(field).and_then(Value::as_i64),
        }
    }

    /// The declared list's items with their positions (none when undeclared).
    fn items(&self, field: FieldId) -> Vec<(&'a str, Pos)> {
        self.declared(field)
            .map(|d| d.items().collect())
            .unwrap_or_default()
    }

    /// The declared list, or the default list.
    fn list(&self, field: FieldId) -> Vec<&'a str> {
        match self.declared(field) {
            Some(declared) => declared.value.strings().collect(),
            None => self
                .default_of(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect(),
        }
    }

    /// The declared value's position (a block list's key: see `Declared::whole`), or the
    /// client's name for an omitted field.
    fn at(&self, field: FieldId) -> Pos {
        match self.declared(field) {
            Some(declared) => declared.whole(),
            None => self.desired.name_at(),
        }
    }

    /// The position of `value` in the declared list, if it is there.
    fn item(&self, list: FieldId, value: &str) -> Option<Pos> {
        self.declared(list)?
            .items()
            .find(|(item, _)| *item == value)
            .map(|(_, at)| at)
    }

    fn public(&self) -> bool {
        !self.flag(FieldId::Confidential)
    }

    /// A value of `field` for a message: quoted, or `(sensitive)`.
    fn quoted(&self, field: FieldId, text: &str) -> String {
        match self.declared(field) {
            Some(declared) if declared.sensitive => "(sensitive)".to_string(),
            _ => format!("`{text}`"),
        }
    }
}

fn grants(client: &View<'_>, finding: &mut Finding<'_>) {
    if let Some(item) = client.item(FieldId::SupportedGrantTypes, "implicit") {
        finding(
            Code::ImplicitGrant,
            "the implicit grant returns tokens in the front channel, where they leak: RFC 9700 §2.1.2 says not to use it; use authorization_code with PKCE".into(),
            item,
        );
    }
    if let Some(item) = client.item(FieldId::SupportedGrantTypes, "password") {
        finding(
            Code::PasswordGrant,
            "the resource owner password credentials grant MUST NOT be used (RFC 9700 §2.4): it hands the user's password to the client".into(),
            item,
        );
    }
    if !client.public() {
        return;
    }
    if let Some(item) = client.item(FieldId::SupportedGrantTypes, "authorization_code") {
        if !client.flag(FieldId::Pkce) {
            finding(
                Code::PublicClientWithoutPkce,
                "a public client (confidential is false) allows authorization_code without `pkce: true`: public clients MUST use PKCE (RFC 9700 §2.1.1)".into(),
                item,
            );
        }
    }
    if let Some(item) = client.item(FieldId::SupportedGrantTypes, "client_credentials") {
        // boruta checks the secret of a client_credentials request whatever
        // `confidential` says; it checks none for a client with a public_client_id
        // (should_check_secret?/2, lib/boruta/oauth/schemas/client.ex, boruta_auth
        // 1587483). The risk is a secret that ships in a public app.
        let front_channel = ["authorization_code", "implicit"]
            .into_iter()
            .find(|g| client.item(FieldId::SupportedGrantTypes, g).is_some());
        let why = if client
            .text(FieldId::PublicClientId)
            .is_some_and(|p| !p.is_empty())
        {
            Some("boruta checks no secret at all for a client with a public_client_id, so anyone can get client_credentials tokens in its name".to_string())
        } else {
            front_channel.map(|grant| format!("this public client (confidential is false) also serves {grant} in an app that cannot keep its secret, and anyone who extracts that secret gets client_credentials tokens in the client's name: use a separate confidential client for client_credentials"))
        };
        if let Some(why) = why {
            finding(Code::PublicClientCredentials, why, item);
        }
    }
}

fn redirects(client: &View<'_>, finding: &mut Finding<'_>) {
    for (text, item) in client.items(FieldId::RedirectUris) {
        // Most redirect URIs are https on a public host: only the others need parsing.
        let suspect = text
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
            || text
                .as_bytes()
                .windows("localhost".len())
                .any(|w| w.eq_ignore_ascii_case(b"localhost"));
        if !suspect {
            continue;
        }
        let quoted = client.quoted(FieldId::RedirectUris, text);
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
                    "redirect URI {quoted} uses plain http on a host that is not a loopback address: codes and tokens sent there can be read on the way; use https (http is for loopback redirects of native apps only, RFC 8252 §8.3)",
                ),
                item,
            );
        }
        if localhost {
            finding(
                Code::LocalhostRedirectUri,
                format!(
                    "redirect URI {quoted} uses `localhost`: register the loopback IP literal (http://127.0.0.1:PORT/... or http://[::1]:PORT/...) instead (RFC 8252 §8.3)",
                ),
                item,
            );
        }
    }
}

fn authentication(client: &View<'_>, finding: &mut Finding<'_>) {
    let methods = client.list(FieldId::TokenEndpointAuthMethods);
    let method_at = |method: &str| {
        client
            .item(FieldId::TokenEndpointAuthMethods, method)
            .unwrap_or_else(|| client.at(FieldId::TokenEndpointAuthMethods))
    };
    let allows = |method: &str| methods.contains(&method);
    if allows("private_key_jwt") && client.declared(FieldId::JwtPublicKey).is_none() {
        let jwks = if client.declared(FieldId::JwksUri).is_some() {
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
        .text(FieldId::TokenEndpointJwtAuthAlg)
        .unwrap_or_default();
    for (method, asymmetric) in [("private_key_jwt", true), ("client_secret_jwt", false)] {
        let accepted = fields::jwt_verification_algs(client.version, asymmetric);
        if allows(method) && !accepted.contains(&alg) {
            let declared = if client.declared(FieldId::TokenEndpointJwtAuthAlg).is_some() {
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
            client.at(FieldId::TokenEndpointAuthMethods),
        );
    }
    if client.public() {
        let declared = client.declared(FieldId::IdTokenSignatureAlg);
        if let Some((alg, at)) = declared.and_then(|d| Some((d.value.as_str()?, d.at))) {
            if alg.starts_with("HS") {
                let quoted = client.quoted(FieldId::IdTokenSignatureAlg, alg);
                finding(
                    Code::SymmetricIdTokenOnPublicClient,
                    format!(
                        "a public client's ID tokens signed with {quoted} use its secret as the key, which a public client cannot keep: anyone holding the app can forge them; use RS256 or ES256",
                    ),
                    at,
                );
            }
        }
    }
}

fn tokens(client: &View<'_>, policy: &Policy, finding: &mut Finding<'_>) {
    let ttl = client.int(FieldId::AccessTokenTtl);
    if let Some(ttl) = ttl.filter(|ttl| *ttl > policy.max_ttl) {
        let what = if client.declared(FieldId::AccessTokenTtl).is_some() {
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
            client.at(FieldId::AccessTokenTtl),
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
    let Some(scopes) = client.declared(FieldId::AuthorizedScopes) else {
        return;
    };
    // The typed references are the declared list's items, in order.
    let refs = desired.authorized_scopes.as_deref().unwrap_or_default();
    let named = refs.iter().enumerate();
    for (i, name) in named.filter_map(|(i, s)| Some((i, s.name.as_deref()?))) {
        if crate::api::ADMIN_SCOPES.contains(&name) {
            let item = scopes.part(&format!("/{i}")).unwrap_or(scopes.at);
            finding(
                Code::AdminScopeGranted,
                format!(
                    "`{name}` opens boruta's admin API to this client (`clients:manage:all` reads every client's secret): list `{}` in the policy's admin-scope-granted.administration_clients if it administers boruta",
                    desired.name
                ),
                item,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// `count` confidential clients, each with its own redirect URI except the last, which
    /// reuses the first one's.
    fn clients(count: usize) -> Vec<ClientSpec> {
        let mut documents = Vec::new();
        for i in 0..count {
            let file: Arc<str> = Arc::from(format!("c{i:05}.yaml"));
            let host = if i + 1 == count { 0 } else { i };
            let text = format!(
                "id: 00000000-0000-4000-8000-{i:012}\nname: c{i:05}\nconfidential: true\nredirect_uris: [https://c{host:05}.example.com/cb]\nsupported_grant_types: [authorization_code]\ntoken_endpoint_auth_methods: [private_key_jwt]\n"
            );
            documents.extend(crate::load::parse_text(&file, &text).0);
        }
        crate::validate::validate(documents, &[]).clients
    }

    #[test]
    fn findings_across_threads_are_those_of_one_thread_in_client_order() {
        // More clients than PARALLEL_FROM: each client's own rules run on another thread
        // than the reuse of redirect URIs.
        let many = clients(PARALLEL_FROM + 10);
        let policy = Policy::default();
        let findings = check(&many, &policy, Version::LATEST_RELEASE);
        let mut alone = Vec::new();
        for client in &many {
            client_findings(client, &policy, Version::LATEST_RELEASE, &mut alone);
            if client.name == format!("c{:05}", many.len() - 1) {
                let reused = findings.last().unwrap();
                assert_eq!(reused.code, Code::RedirectUriReused);
                assert_eq!(
                    reused.message,
                    "redirect URI `https://c00000.example.com/cb` is also one of `c00000` (c00000.yaml:4:17): an authorization code meant for one client can reach the other"
                );
                alone.push(reused.clone());
            }
        }
        assert_eq!(findings.len(), alone.len());
        let same = findings
            .iter()
            .zip(&alone)
            .all(|(a, b)| (a.code, &a.message, &a.location) == (b.code, &b.message, &b.location));
        assert!(same);
    }
}
