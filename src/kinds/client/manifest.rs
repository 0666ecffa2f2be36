//! The client manifest: every field boruta's create-client request accepts, as a typed,
//! documented Rust struct. The JSON Schema users' editors see is generated from these
//! types (`schema.rs`), so each `///` comment here becomes a field description.
//!
//! Names are exactly the admin API's names, so a manifest reads like the request it
//! becomes. What the code knows about each field beyond its type is the field catalogue's
//! (`fields.rs`); a unit test in `schema.rs` holds the two together. Imports nothing from
//! the crate.

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

/// The pattern boruta's UUID cast accepts (either letter case).
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Namespace of the UUID v5 that derives a client's id from its name when the manifest
/// has no `id`. Fixed forever: changing it would make every derived id point elsewhere.
pub const CLIENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2b7e_9d4a_4b3e_8c55_b0a7_e1d2_c3f4);

/// The id a manifest without `id:` gets: UUID v5 of its name under [`CLIENT_ID_NAMESPACE`].
pub fn derived_client_id(name: &str) -> Uuid {
    Uuid::new_v5(&CLIENT_ID_NAMESPACE, name.as_bytes())
}

/// The `kind` of a client manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ClientTag {
    Client,
}

/// An OAuth client of a boruta server, as boruta-gitops manages it. Only the fields you
/// declare are sent and compared; every field you leave out is the server's to default.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "boruta client manifest")]
pub struct ClientManifest {
    /// `Client` (the default: a document without `kind` is a client; `kind: Scope` makes it
    /// a scope).
    pub kind: Option<ClientTag>,
    /// The client id (UUID). Optional: when absent, boruta-gitops derives it from `name`
    /// (UUID v5), so re-runs never create a second copy. Pin it to adopt an existing client.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub id: Option<String>,
    /// Public client identifier, e.g. an URL for OpenID federation. boruta default: null.
    pub public_client_id: Option<String>,
    /// Whether the public client id is checked. boruta default: false.
    pub check_public_client_id: Option<bool>,
    /// Human-readable name; required and unique across the manifest set.
    #[schemars(length(min = 1), regex(pattern = r"\S"))]
    pub name: String,
    /// Client secret. Sensitive: never printed. Use `${env:VAR}` or `${file:PATH}` rather
    /// than writing it in git. boruta default: 86 random alphanumerics generated on create.
    #[schemars(length(min = 1), regex(pattern = r"\S"))]
    pub secret: Option<String>,
    /// Confidential client (must authenticate). boruta default: false.
    pub confidential: Option<bool>,
    /// Allowed redirect URIs, each with a scheme and `//` authority and no `#fragment`.
    /// Compared in order. boruta default: [].
    pub redirect_uris: Option<Vec<String>>,
    /// Allow refresh without client authentication. boruta default: false.
    pub public_refresh_token: Option<bool>,
    /// Allow revocation without client authentication. boruta default: false.
    pub public_revoke: Option<bool>,
    /// Restrict requestable scopes to `authorized_scopes` (plus public scopes). boruta default: false.
    pub authorize_scope: Option<bool>,
    /// Require DPoP proofs at the token endpoint. boruta default: false.
    pub enforce_dpop: Option<bool>,
    /// Require a transaction code for pre-authorized codes. boruta default: false.
    pub enforce_tx_code: Option<bool>,
    /// Access token lifetime in seconds, 1..86400. boruta default: 86400.
    #[schemars(range(min = 1, max = 86400))]
    pub access_token_ttl: Option<i64>,
    /// Authorization code lifetime in seconds, 1..600. boruta default: 600.
    #[schemars(range(min = 1, max = 600))]
    pub authorization_code_ttl: Option<i64>,
    /// Authorization request lifetime in seconds, 1..300. boruta default: 300.
    #[schemars(range(min = 1, max = 300))]
    pub authorization_request_ttl: Option<i64>,
    /// Refresh token lifetime in seconds, 1..2592000. boruta default: 2592000.
    #[schemars(range(min = 1, max = 2592000))]
    pub refresh_token_ttl: Option<i64>,
    /// ID token lifetime in seconds, 1..86400. boruta default: 86400.
    #[schemars(range(min = 1, max = 86400))]
    pub id_token_ttl: Option<i64>,
    /// Agent token lifetime in seconds, 1..2592000. Write-only: boruta never renders it
    /// back, so it cannot be checked for drift. boruta default: 2592000.
    #[schemars(range(min = 1, max = 2592000))]
    pub agent_token_ttl: Option<i64>,
    /// Require PKCE for the authorization code flow. boruta default: false.
    pub pkce: Option<bool>,
    /// Server-generated: boruta creates the key pair itself and ignores this field.
    /// Declaring it only causes a `server-generated-field` warning.
    pub public_key: Option<String>,
    /// Key pair boruta generates for the client. boruta default:
    /// `{type: rsa, modulus_size: "2048", exponent_size: "65537"}`.
    pub key_pair_type: Option<KeyPairType>,
    /// Signature implementation; must match the key type (`rsa`/`ec`: Internal,
    /// `universal`: Universal). boruta default: `Elixir.Boruta.Internal.Signatures`.
    pub signatures_adapter: Option<SignaturesAdapter>,
    /// Server-generated: boruta derives it from the public key. Declaring it only causes a
    /// `server-generated-field` warning.
    pub did: Option<String>,
    /// The identity provider users of this client log in with: `id` (UUID) or `name`
    /// (resolved against the server). Required: boruta refuses a client without one.
    pub identity_provider: IdentityProviderRef,
    /// Scopes this client may request when `authorize_scope` is true, by `id` or `name`.
    /// Compared as a set. boruta default: [].
    pub authorized_scopes: Option<Vec<ScopeRef>>,
    /// Grant types the client may use. Compared as a set. Declare it: the default differs
    /// between boruta versions (0.9/0.10: all twelve, password and implicit included;
    /// master: [client_credentials, authorization_code]).
    pub supported_grant_types: Option<Vec<GrantType>>,
    /// ID token signature algorithm; must suit `key_pair_type.type`. boruta default: RS512.
    pub id_token_signature_alg: Option<SignatureAlg>,
    /// Userinfo response signature algorithm; must suit `key_pair_type.type`.
    /// boruta default: null (unsigned).
    pub userinfo_signed_response_alg: Option<SignatureAlg>,
    /// Algorithm of `client_secret_jwt` / `private_key_jwt` assertions. boruta default: HS256.
    pub token_endpoint_jwt_auth_alg: Option<JwtAuthAlg>,
    /// How the client may authenticate at the token endpoint. Compared as a set.
    /// boruta default: [client_secret_basic, client_secret_post].
    pub token_endpoint_auth_methods: Option<Vec<TokenEndpointAuthMethod>>,
    /// Public key (PEM) for `private_key_jwt`. boruta default: null.
    pub jwt_public_key: Option<String>,
    /// Response mode for presentations. boruta default: direct_post.
    pub response_mode: Option<ResponseMode>,
    /// Resources the client may request tokens for. Write-only (never rendered back).
    /// A non-empty list makes boruta refuse token requests without `resource`. boruta default: [].
    pub authorized_resources: Option<Vec<String>>,
    /// JWKS URI of the client. Write-only (never rendered back). boruta default: null.
    pub jwks_uri: Option<String>,
    /// Key id put in ID tokens. Write-only (never rendered back). boruta default: null.
    pub id_token_kid: Option<String>,
    /// Logo URI. Write-only (never rendered back). boruta default: null.
    pub logo_uri: Option<String>,
    /// Free-form metadata object. Write-only (never rendered back). boruta default: {}.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Id (UUID) of a global key pair whose keys are copied into the client.
    /// Write-only (never rendered back).
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub key_pair_id: Option<String>,
    /// Trusted authorities (verifiable credentials). boruta master only. boruta default: "".
    pub trusted_authorities: Option<String>,
    /// Trusted hosts, for outbound requests such as `jwks_uri`. boruta master only.
    /// Compared as a set. boruta default: [].
    pub trusted_hosts: Option<Vec<String>>,
    /// Not a boruta field: how boruta-gitops manages this client (`ensure: absent` to
    /// delete it, `ignore_changes` for fields another system owns).
    pub lifecycle: Option<Lifecycle>,
    /// Not a boruta field, never sent to boruta: where boruta-gitops delivers this client's
    /// secret (a HashiCorp Vault or OpenBao KV version 2 path), so that the application
    /// reads it from there and no person handles it. Confidential clients only.
    pub secret_delivery: Option<SecretDelivery>,
}

/// Where a client's secret is delivered.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretDelivery {
    /// A HashiCorp Vault or OpenBao KV version 2 secret, found with `VAULT_ADDR`,
    /// `VAULT_TOKEN`, `VAULT_CACERT` and `VAULT_NAMESPACE`. It receives `client_id`,
    /// `client_secret` and `token_endpoint`.
    pub vault: VaultDelivery,
}

/// A KV version 2 secret: `mount/path`, as `vault kv get -mount=MOUNT PATH` names it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultDelivery {
    /// The secret's path under the mount (`apps/billing/oauth`): no leading or trailing
    /// `/`, no empty, `.` or `..` segment.
    #[schemars(length(min = 1))]
    pub path: String,
    /// The KV version 2 mount alone (`secret`, or `kv/team-a` for a nested one). Default:
    /// `secret`.
    #[schemars(length(min = 1))]
    pub mount: Option<String>,
}

/// How boruta-gitops manages a client or a scope, beyond its fields.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// `present` (the default) or `absent`: it must not exist. A delete needs
    /// `apply --allow-delete`; removing a manifest from git never deletes anything.
    pub ensure: Option<Ensure>,
    /// Fields compared and shown, but never counted as drift nor updated (a secret another
    /// system rotates, a TTL an operator tunes).
    pub ignore_changes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    #[default]
    Present,
    Absent,
}

/// Reference to an identity provider, by `id`, by `name`, or both (the id wins; the name
/// is then checked against the server).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct IdentityProviderRef {
    /// Identity provider id (UUID).
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub id: Option<String>,
    /// Identity provider name, resolved to its id against the server.
    #[schemars(length(min = 1))]
    pub name: Option<String>,
}

/// Reference to a scope, by `id` or `name`. An unknown name makes boruta create a private
/// scope of that name; an unknown id is silently dropped by boruta.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["id"]}, {"required": ["name"]}]))]
pub struct ScopeRef {
    /// Scope id (UUID).
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub id: Option<String>,
    /// Scope name (no whitespace: boruta silently drops such names).
    #[schemars(regex(pattern = r"^\S+$"))]
    pub name: Option<String>,
    /// Informational: boruta ignores it on write and renders the scope's real value.
    pub public: Option<bool>,
}

/// The key pair boruta generates for the client.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPairType {
    /// Key type: `rsa`, `ec`, or `universal` (Ed25519 DID through an external registrar).
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// EC curve (type `ec` only). boruta can generate only P-256 and P-384.
    pub curve: Option<Curve>,
    /// RSA modulus size in bits, as a string, at least "2048" (type `rsa`).
    #[schemars(regex(pattern = "^[0-9]+$"))]
    pub modulus_size: Option<String>,
    /// RSA public exponent, as a string, e.g. "65537" (type `rsa`).
    #[schemars(regex(pattern = "^[0-9]+$"))]
    pub exponent_size: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ec,
    Universal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Curve {
    #[serde(rename = "P-256")]
    P256,
    #[serde(rename = "P-384")]
    P384,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum SignaturesAdapter {
    #[serde(rename = "Elixir.Boruta.Internal.Signatures")]
    Internal,
    #[serde(rename = "Elixir.Boruta.Universal.Signatures")]
    Universal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
    Password,
    AuthorizationCode,
    AgentCode,
    RefreshToken,
    Implicit,
    Revoke,
    Introspect,
    IdToken,
    VpToken,
    PreauthorizedCode,
    AgentCredentials,
}

#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum SignatureAlg {
    ES256,
    ES384,
    ES512,
    RS256,
    RS384,
    RS512,
    HS256,
    HS384,
    HS512,
    EdDSA,
}

#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum JwtAuthAlg {
    RS256,
    RS384,
    RS512,
    HS256,
    HS384,
    HS512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    ClientSecretJwt,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Post,
    DirectPost,
}

/// boruta's own configuration-file form (`version: "1.0"` + `configuration`), of which
/// boruta-gitops manages the `client` and `scope` lists. Other sections are accepted and
/// left alone.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "boruta configuration file (clients and scopes managed by boruta-gitops)")]
pub struct ConfigurationFile {
    /// Must be the string "1.0" (quoted: an unquoted 1.0 is a number).
    pub version: ConfigurationVersion,
    /// The sections of the configuration. `client` and `scope` are managed by boruta-gitops.
    pub configuration: Configuration,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum ConfigurationVersion {
    #[serde(rename = "1.0")]
    V1,
}

/// The sections boruta's configuration loader knows. Unknown keys are ignored by boruta.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Configuration {
    /// Clients, each a client manifest.
    #[serde(default)]
    pub client: Vec<ClientManifest>,
    /// Not managed by boruta-gitops.
    pub node_name: Option<String>,
    /// Not managed by boruta-gitops.
    pub aliases: Option<Vec<String>>,
    /// Not managed by boruta-gitops.
    pub cluster_ca: Option<serde_json::Value>,
    /// Not managed by boruta-gitops.
    pub gateway: Option<Vec<serde_json::Value>>,
    /// Not managed by boruta-gitops.
    pub microgateway: Option<Vec<serde_json::Value>>,
    /// Not managed by boruta-gitops.
    pub organization: Option<Vec<serde_json::Value>>,
    /// Not managed by boruta-gitops.
    pub backend: Option<Vec<serde_json::Value>>,
    /// Not managed by boruta-gitops.
    pub identity_provider: Option<Vec<serde_json::Value>>,
    /// Scopes, each a scope manifest (`kind` may be left out).
    pub scope: Option<Vec<crate::kinds::scope::manifest::ScopeManifest>>,
    /// Not managed by boruta-gitops.
    pub role: Option<Vec<serde_json::Value>>,
    /// Not managed by boruta-gitops.
    pub error_template: Option<Vec<serde_json::Value>>,
}
