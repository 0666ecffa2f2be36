//! The request bodies apply sends, built from a validated client through the catalogue:
//! the declared fields boruta accepts (server-generated ones are boruta's), the explicit or
//! derived id, and the identity provider and scopes resolved to ids against the server,
//! with the findings that resolution raises (an unknown provider, an unknown scope).

use super::compare::{str_of, Lookup};
use crate::source::Diagnostic;
use crate::validate::Desired;
use serde_json::{json, Map, Value};

/// The create body: declared fields, the id, and names resolved to ids.
pub(super) fn create_body(
    d: &Desired,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Map<String, Value> {
    let mut body: Map<String, Value> = d
        .declared()
        .filter(|declared| !declared.field.server_generated())
        .map(|declared| (declared.field.name.to_string(), declared.value()))
        .collect();
    body.insert("id".into(), Value::String(d.id.to_string()));
    let idp = &d.identity_provider;
    let idp_id = match (&idp.id, &idp.name) {
        (Some(id), name) => {
            if let (Some(name), Some(actual)) = (name, idps.name_of(id)) {
                if actual != name {
                    diagnostics.push(Diagnostic::warning(
                        "identity-provider-name-mismatch",
                        format!("identity provider {} is named `{actual}` on the server, not {}; the id is used", d.quote("/identity_provider/id", id), d.quote("/identity_provider/name", name)),
                        Some(d.locate("/identity_provider/name")),
                    ));
                }
            }
            if idps.known && !idps.by_id.contains_key(&id.to_ascii_lowercase()) {
                diagnostics.push(Diagnostic::error(
                    "unknown-identity-provider",
                    format!(
                        "identity provider {} does not exist on the server: the create would fail",
                        d.quote("/identity_provider/id", id)
                    ),
                    Some(d.locate("/identity_provider/id")),
                ));
            }
            Some(id.to_ascii_lowercase())
        }
        (None, Some(name)) => match idps
            .by_name
            .get(name.as_str())
            .and_then(|i| str_of(i, "id"))
        {
            Some(id) => Some(id.to_ascii_lowercase()),
            None => {
                let known: Vec<&str> = idps.by_name.keys().copied().collect();
                diagnostics.push(Diagnostic::error(
                    "unknown-identity-provider",
                    format!("no identity provider named {} on the server (known: {}): the create would fail", d.quote("/identity_provider/name", name), known.join(", ")),
                    Some(d.locate("/identity_provider/name")),
                ));
                None
            }
        },
        (None, None) => None,
    };
    body.insert("identity_provider".into(), json!({ "id": idp_id }));
    if let Some(refs) = &d.authorized_scopes {
        let mut resolved = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            let item = match (&r.id, &r.name) {
                (Some(id), _) => {
                    if scopes.known && !scopes.by_id.contains_key(&id.to_ascii_lowercase()) {
                        diagnostics.push(Diagnostic::error(
                            "unknown-scope-id",
                            format!("scope {} does not exist on the server: boruta would silently drop it", d.quote(&format!("/authorized_scopes/{i}/id"), id)),
                            Some(d.locate(&format!("/authorized_scopes/{i}/id"))),
                        ));
                    }
                    json!({ "id": id.to_ascii_lowercase() })
                }
                (None, Some(name)) => match scopes
                    .by_name
                    .get(name.as_str())
                    .and_then(|s| str_of(s, "id"))
                {
                    Some(id) => json!({ "id": id }),
                    None => {
                        diagnostics.push(Diagnostic::warning(
                            "unknown-scope",
                            format!("no scope named {} on the server: boruta will silently create it as a private scope", d.quote(&format!("/authorized_scopes/{i}/name"), name)),
                            Some(d.locate(&format!("/authorized_scopes/{i}/name"))),
                        ));
                        json!({ "name": name })
                    }
                },
                (None, None) => continue,
            };
            resolved.push(item);
        }
        body.insert("authorized_scopes".into(), Value::Array(resolved));
    }
    body
}
