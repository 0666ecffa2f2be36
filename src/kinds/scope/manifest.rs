//! The scope manifest (`kind: Scope`), as a typed, documented Rust struct the JSON Schema
//! (`schemas/scope.schema.json`) is generated from. The same struct is an entry of the
//! `scope:` section of boruta's configuration-file form, where `kind` may be left out.
//! Names are the admin API's (contract §7.1).

use crate::kinds::client::manifest::{Lifecycle, UUID_PATTERN};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

/// Namespace of the UUID v5 that derives a scope's id from its name when the manifest has
/// no `id` (another namespace than clients': a client and a scope may share a name). Fixed
/// forever.
pub const SCOPE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x2d8e_41c7_5a9b_4f06_9e13_7c4b_a8d2_f510);

/// The id a scope manifest without `id:` gets: UUID v5 of its name.
pub fn derived_scope_id(name: &str) -> Uuid {
    Uuid::new_v5(&SCOPE_ID_NAMESPACE, name.as_bytes())
}

/// The `kind` of a scope manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ScopeTag {
    Scope,
}

/// An OAuth scope of a boruta server, as boruta-gitops manages it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "boruta scope manifest")]
pub struct ScopeManifest {
    /// `Scope`: this document is a scope (required in a manifest file; optional in the
    /// `scope:` section of a configuration file).
    pub kind: Option<ScopeTag>,
    /// The scope id (UUID). Optional: when absent, boruta-gitops derives it from `name`
    /// (UUID v5). Pin it to adopt an existing scope.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub id: Option<String>,
    /// The scope's name, as clients request it: required, unique, no whitespace.
    #[schemars(length(min = 1), regex(pattern = r"^\S+$"))]
    pub name: String,
    /// A label shown to users (on consent screens): a string, or null for none. Left out,
    /// boruta-gitops does not manage it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "string_or_null")]
    pub label: Option<Option<String>>,
    /// Whether any client may request it without `authorized_scopes`. Default: false.
    pub public: Option<bool>,
    /// Not a boruta field: how boruta-gitops manages this scope (`ensure: absent` to
    /// delete it, `ignore_changes` for `label` or `public`).
    pub lifecycle: Option<Lifecycle>,
}

/// A member that is present (even as null) is `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `label` may be null (boruta renders "no label" so): the schema says so in a form the
/// generator's null stripping keeps.
fn string_or_null(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [{"type": "string"}, {"const": null}]
    })
}
