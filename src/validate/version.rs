//! What depends on the boruta version a manifest set meets: fields the version does not
//! support (boruta would silently drop them: perpetual drift, and a retried create
//! misreported), and security-relevant defaults that differ between versions. Run by
//! `validate` with the assumed version and by `plan`/`apply`/`drift` with the server's.

use crate::findings::Code;
use crate::kinds::client::fields::{self, FieldId, Version};
use crate::kinds::client::ClientSpec;
use crate::source::Diagnostic;

/// The findings of `clients` for boruta `version`.
pub fn check_version(clients: &[ClientSpec], version: Version) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let varying: Vec<&fields::Field> = fields::manifest_fields()
        .filter(|f| f.default.varies())
        .collect();
    // A client declared absent is deleted, never created nor updated: no field of it is
    // sent, and no default applies to it.
    for client in clients.iter().filter(|c| !c.absent()) {
        for declared in client.fields.iter() {
            if !declared.field.spec().accepted.includes(version) {
                out.push(Diagnostic::new(Code::FieldNotSupported,
                    format!(
                        "`{}` is not supported by boruta {version}: it arrived on boruta's master branch after the latest release, and boruta {version} would silently ignore it. Remove it, or pass --boruta-version master for a server built from master",
                        declared.field
                    ),
                    Some(client.location(declared.key)),
                ));
            }
        }
        for field in varying.iter().copied() {
            if client.get(field.id).is_some() {
                continue;
            }
            let given = field.default.value(version);
            let given: Vec<&str> = given
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .collect();
            let others: Vec<String> = Version::ALL
                .iter()
                .filter(|v| field.default.value(**v) != field.default.value(version))
                .map(|v| {
                    let list = field.default.value(*v);
                    let names: Vec<&str> = list
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.as_str())
                        .collect();
                    format!("boruta {v}: {}", names.join(", "))
                })
                .collect();
            let risky: Vec<&str> = given
                .iter()
                .copied()
                .filter(|g| matches!(*g, "password" | "implicit"))
                .collect();
            let warning = if risky.is_empty() {
                String::new()
            } else {
                format!(", `{}` included", risky.join("` and `"))
            };
            out.push(Diagnostic::new(Code::DefaultGrantTypes,
                format!(
                    "`{}` is not declared: boruta {version} gives a new client {} grant type(s) ({}){warning}, and other versions differ ({}). Declare the grants this client needs",
                    field.name,
                    given.len(),
                    given.join(", "),
                    others.join("; ")
                ),
                Some(client.locate(FieldId::Name, "")),
            ));
        }
    }
    out
}
