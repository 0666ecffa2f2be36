//! `export`: the server's clients as manifests, so adopting an existing boruta server
//! starts from an empty plan. Pure: takes the listed clients, returns file names and
//! texts; the caller writes them.
//!
//! Each manifest pins the `id`, names the identity provider and scopes (ids kept), omits
//! every field equal to the server version's default (but always writes a field whose
//! default differs between versions, such as `supported_grant_types`: re-created on
//! another server, the client would otherwise change) and every server-generated field,
//! and never holds a secret: `secret` becomes `${env:VAR}`, with VAR derived from the
//! client's name. Which fields, and how, is the field catalogue's.

use crate::kinds::client::fields::{self, Export as ExportPolicy, Kind, Version};
use crate::policy::waivers;
use crate::schema::SCHEMA_BASE;
use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One manifest to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// File name (no directory), unique within the export.
    pub file_name: String,
    pub content: String,
}

/// What an export produces.
#[derive(Debug, Default)]
pub struct Export {
    pub files: Vec<ExportedFile>,
    /// (variable, secret) for `--with-secrets-to`; never printed.
    pub secrets: Vec<(String, secrecy::SecretString)>,
    /// Clients skipped or adjusted, for the user.
    pub notes: Vec<String>,
}

/// A file-name slug: lower-case letters, digits and single dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').chars().take(60).collect::<String>();
    out.trim_end_matches('-').to_string()
}

/// The environment variable holding a client's secret.
pub fn secret_variable(name: &str) -> String {
    let upper: String = slug(name).replace('-', "_").to_ascii_uppercase();
    if upper.is_empty() {
        "BORUTA_SECRET".to_string()
    } else {
        format!("BORUTA_SECRET_{upper}")
    }
}

/// A text member of a server client, trimmed of nothing ("" when absent).
fn text<'a>(client: &'a Map<String, Value>, member: &str) -> &'a str {
    client.get(member).and_then(Value::as_str).unwrap_or("")
}

/// The names, file names and secret variables given so far: each unique in the export.
struct Naming {
    name_count: BTreeMap<String, usize>,
    slug_count: BTreeMap<String, usize>,
    used_files: BTreeSet<String>,
    used_variables: BTreeSet<String>,
}

impl Naming {
    /// Names must be unique and non-empty in a manifest set; slugs and variables too.
    fn of(clients: &[&Map<String, Value>]) -> Naming {
        let mut name_count: BTreeMap<String, usize> = BTreeMap::new();
        let mut slug_count: BTreeMap<String, usize> = BTreeMap::new();
        for c in clients {
            let name = text(c, "name").trim().to_string();
            *name_count.entry(name.clone()).or_default() += 1;
            *slug_count.entry(slug(&name)).or_default() += 1;
        }
        Naming {
            name_count,
            slug_count,
            used_files: BTreeSet::new(),
            used_variables: BTreeSet::new(),
        }
    }

    /// The manifest name, file stem and secret variable of the client `id` called
    /// `server_name` on the server; a name that had to change is noted.
    fn name(
        &mut self,
        id: &str,
        server_name: &str,
        notes: &mut Vec<String>,
    ) -> (String, String, String) {
        let short = id.chars().take(8).collect::<String>();
        let name = if server_name.is_empty() {
            notes.push(format!("client {id} has no name on the server: exported as `client-{short}` (plan will show the name as drift until you rename it on the server)"));
            format!("client-{short}")
        } else if self.name_count[server_name] > 1 {
            notes.push(format!("the name `{server_name}` is used by several clients: {id} exported as `{server_name} ({short})` (plan will show the name as drift until you rename it on the server)"));
            format!("{server_name} ({short})")
        } else {
            server_name.to_string()
        };
        let base = slug(server_name);
        let mut file_stem = if base.is_empty() || self.slug_count[&base] > 1 {
            if base.is_empty() {
                format!("client-{short}")
            } else {
                format!("{base}-{short}")
            }
        } else {
            base
        };
        while !self.used_files.insert(file_stem.clone()) {
            file_stem = format!("{file_stem}-{id}");
        }
        let mut variable = secret_variable(&name);
        if !self.used_variables.insert(variable.clone()) {
            variable = format!("{variable}_{}", short.to_ascii_uppercase());
            self.used_variables.insert(variable.clone());
        }
        (name, file_stem, variable)
    }
}

impl Export {
    /// The files by name and the secrets by variable: what `export` lists (and the
    /// secrets file) reads the same whatever ids the server gave, not in id order.
    fn sort(&mut self) {
        self.files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        self.secrets.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// Exports `clients` (already filtered by the caller) of a boruta `version`. Output order
/// and names depend only on the clients, so exporting twice gives identical bytes.
pub fn export(clients: &[Map<String, Value>], version: Version) -> Export {
    let mut out = Export::default();
    let mut clients: Vec<&Map<String, Value>> = clients.iter().collect();
    clients.sort_by_key(|c| text(c, "id").to_string());
    let mut naming = Naming::of(&clients);
    for client in clients {
        let id = text(client, "id").to_ascii_lowercase();
        let server_name = text(client, "name").trim().to_string();
        if client
            .get("identity_provider")
            .and_then(|i| i.get("id"))
            .is_none_or(Value::is_null)
        {
            out.notes.push(format!(
                "skipped `{server_name}` ({id}): it has no identity provider, and boruta refuses to create such a client"
            ));
            continue;
        }
        let (name, file_stem, variable) = naming.name(&id, &server_name, &mut out.notes);
        let secret = Some(text(client, "secret")).filter(|s| !s.is_empty());
        if let Some(secret) = secret {
            out.secrets.push((
                variable.clone(),
                secrecy::SecretString::from(secret.to_string()),
            ));
        }
        let variable = secret.map(|_| variable.as_str());
        let content = waive_held_values(manifest(client, &id, &name, variable, version), version);
        out.files.push(ExportedFile {
            file_name: format!("{file_stem}.yaml"),
            content,
        });
    }
    out.sort();
    out
}

fn manifest(
    client: &Map<String, Value>,
    id: &str,
    name: &str,
    secret_variable: Option<&str>,
    version: Version,
) -> String {
    let defaults = fields::create_defaults(version);
    let mut text = format!("# yaml-language-server: $schema={SCHEMA_BASE}/client.schema.json\n# Exported by boruta-gitops from the server's client {id}.\n");
    let unread: Vec<&str> = fields::manifest_fields()
        .filter(|f| f.write_only(version))
        .map(|f| f.name)
        .collect();
    text.push_str(&format!(
        "# Not exported: boruta never renders {} back. Declare the ones this client uses;\n# apply --update then sends them.\n",
        unread.join(", ")
    ));
    let mut written: Vec<(&str, Value)> = vec![
        ("id", Value::String(id.to_string())),
        ("name", Value::String(name.to_string())),
    ];
    if let Some(variable) = secret_variable {
        written.push(("secret", Value::String(format!("${{env:{variable}}}"))));
    }
    for field in fields::rendered(version) {
        if field.export == ExportPolicy::Special {
            continue;
        }
        let Some(value) = client.get(field.name) else {
            continue;
        };
        let value = match field.kind {
            Kind::IdentityProvider => {
                let mut idp = Map::new();
                for key in ["id", "name"] {
                    if let Some(v) = value.get(key).filter(|v| !v.is_null()) {
                        idp.insert(key.to_string(), v.clone());
                    }
                }
                Value::Object(idp)
            }
            Kind::Scopes => Value::Array(
                value
                    .as_array()
                    .map(|scopes| {
                        scopes
                            .iter()
                            .map(|s| {
                                let mut scope = Map::new();
                                scope.insert(
                                    "id".into(),
                                    s.get("id").cloned().unwrap_or(Value::Null),
                                );
                                scope.insert(
                                    "name".into(),
                                    s.get("name").cloned().unwrap_or(Value::Null),
                                );
                                Value::Object(scope)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => value.clone(),
        };
        // Nulls cannot be written (they mean "server default"), defaults are the server's;
        // a default that varies between versions is written all the same.
        let is_default = match field.kind {
            Kind::Scopes => value.as_array().is_some_and(Vec::is_empty),
            Kind::IdentityProvider => false,
            _ => !field.default.varies() && defaults.get(field.name) == Some(&value),
        };
        if value.is_null() || is_default {
            continue;
        }
        written.push((field.name, value));
    }
    text.push_str(&emit(written));
    text
}

/// Adds a waiver above each value boruta would refuse on create but the server holds
/// (legacy rows: a 1024-bit RSA key type, a redirect URI or TTL that older rules allowed),
/// and above each value a security rule finds an error in, so the exported manifest
/// validates and its plan stays empty: adopting a server changes nothing on it, and every
/// such finding is still listed, marked waived, for the reviewer. A plan that would create
/// a client with a legacy value still fails. The values are found by the validator and the
/// rules themselves, run on the text, so export and validate cannot disagree.
fn waive_held_values(text: String, version: Version) -> String {
    let validated = validate_text(&text);
    let legacy: Vec<_> = validated
        .diagnostics
        .iter()
        .filter(|d| waivers::waivable(d.code) == Some(waivers::Waivable::Legacy))
        .cloned()
        .collect();
    // A client holding a legacy value is judged by the rules once that value is waived:
    // only then is the text parsed again.
    let (text, validated) = if legacy.is_empty() {
        (text, validated)
    } else {
        let text = add_waivers(
            text,
            &legacy,
            "legacy value held by the server; boruta refuses it for a new client",
        );
        let validated = validate_text(&text);
        (text, validated)
    };
    let policy = crate::policy::Policy::default();
    let errors: Vec<_> = crate::policy::rules::check(&validated.clients, &policy, version)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    add_waivers(
        text,
        &errors,
        "exported as the server holds it; review this security finding",
    )
}

/// The exported text as `validate` reads it, with its own waivers.
fn validate_text(text: &str) -> crate::validate::Validated {
    let file: std::sync::Arc<str> = std::sync::Arc::from("exported.yaml");
    let (documents, waivers) = crate::load::parse_text(&file, text);
    crate::validate::validate(documents, &waivers)
}

/// Adds one waiver comment, with `reason`, above each line holding one of `findings`.
fn add_waivers(text: String, findings: &[crate::source::Diagnostic], reason: &str) -> String {
    let mut codes: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    for d in findings {
        if let Some(location) = &d.location {
            codes
                .entry(location.line)
                .or_default()
                .insert(d.code.as_str());
        }
    }
    if codes.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 200 * codes.len());
    for (i, line) in text.lines().enumerate() {
        if let Some(codes) = codes.get(&(i + 1)) {
            let indent: String = line.chars().take_while(|c| *c == ' ').collect();
            let codes: Vec<&str> = codes.iter().copied().collect();
            out.push_str(&format!(
                "{indent}# {} {} {reason}\n",
                crate::load::WAIVER_MARKER,
                codes.join(",")
            ));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A JSON value as a YAML node.
fn yaml(value: &Value) -> Yaml<'static> {
    match value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Value(Scalar::Integer(i)),
            None => Yaml::Value(Scalar::FloatingPoint(n.as_f64().unwrap_or_default().into())),
        },
        Value::String(s) => Yaml::Value(Scalar::String(s.clone().into())),
        Value::Array(items) => Yaml::Sequence(items.iter().map(yaml).collect()),
        Value::Object(map) => Yaml::Mapping(
            map.iter()
                .map(|(k, v)| (Yaml::Value(Scalar::String(k.clone().into())), yaml(v)))
                .collect(),
        ),
    }
}

/// The folder under the export directory that holds the scope manifests.
pub const SCOPES_DIR: &str = "scopes";

/// Exports `scopes` (the server's rendered scopes, filtered by the caller) as `kind: Scope`
/// manifests under [`SCOPES_DIR`]. boruta's six protected scopes are never exported (it
/// refuses any change to them); every other scope is, with its id pinned, its label
/// (null included) and `public`, so the plan of the export is empty.
pub fn export_scopes(scopes: &[Map<String, Value>]) -> Export {
    let mut out = Export::default();
    let text = |s: &Map<String, Value>, key: &str| {
        s.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut scopes: Vec<&Map<String, Value>> = scopes
        .iter()
        .filter(|s| !crate::api::PROTECTED_SCOPES.contains(&text(s, "name").as_str()))
        .collect();
    scopes.sort_by_key(|s| text(s, "name"));
    let mut used_files = BTreeSet::new();
    for scope in scopes {
        let (id, name) = (text(scope, "id").to_ascii_lowercase(), text(scope, "name"));
        let short: String = id.chars().take(8).collect();
        let mut stem = match slug(&name) {
            stem if stem.is_empty() => format!("scope-{short}"),
            stem => stem,
        };
        if !used_files.insert(stem.clone()) {
            stem = format!("{stem}-{short}");
            used_files.insert(stem.clone());
        }
        let mut written: Vec<(&str, Value)> = vec![
            ("kind", Value::String("Scope".into())),
            ("id", Value::String(id.clone())),
            ("name", Value::String(name)),
            ("label", scope.get("label").cloned().unwrap_or(Value::Null)),
        ];
        if scope.get("public") == Some(&Value::Bool(true)) {
            written.push(("public", Value::Bool(true)));
        }
        let mut content = format!("# yaml-language-server: $schema={SCHEMA_BASE}/scope.schema.json\n# Exported by boruta-gitops from the server's scope {id}.\n");
        content.push_str(&emit(written));
        out.files.push(ExportedFile {
            file_name: format!("{SCOPES_DIR}/{stem}.yaml"),
            content,
        });
    }
    out.sort();
    out
}

/// The fields as YAML block text (saphyr's emitter: it quotes what a YAML 1.1 or 1.2
/// reader would read as another type, and writes multi-line text as literal blocks).
fn emit(fields: Vec<(&str, Value)>) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let mapping: Mapping<'static> = fields
        .into_iter()
        .map(|(k, v)| (Yaml::Value(Scalar::String(k.to_string().into())), yaml(&v)))
        .collect();
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline(true);
    // Writing into a String cannot fail.
    let _ = emitter.dump(&Yaml::Mapping(mapping));
    let text = out.strip_prefix("---\n").unwrap_or(&out).to_string();
    text + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_variables() {
        assert_eq!(slug("Billing API (prod)"), "billing-api-prod");
        assert_eq!(slug("!!!"), "");
        assert_eq!(secret_variable("billing-api"), "BORUTA_SECRET_BILLING_API");
        assert_eq!(secret_variable("???"), "BORUTA_SECRET");
    }
}
