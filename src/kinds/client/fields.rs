//! THE field catalogue: everything the code knows about each client field of boruta's
//! admin API, per boruta version, in one table ([`FIELDS`]). The schema (a unit test holds
//! `model.rs` against it), the rules, the diff, export, apply's request bodies and the
//! sandbox all read their lists from here; no field list is written anywhere else.
//!
//! To answer "what does the code know about `access_token_ttl`?", read its row.
//!
//! Versions (contract §13, checked at the tags): boruta-server 0.9.0 and 0.10.5 both pin
//! boruta_auth `1587483` and render the same 31 members, so 0.9 and 0.10 behave the same
//! for clients; master (`3be6cb4f`, boruta_auth `cfdb52d`) adds `trusted_authorities` and
//! `trusted_hosts`, narrows the default grant types (boruta_auth `40ca6d9`), and fixes the
//! update range checks of `refresh_token_ttl` / `id_token_ttl`. Imports nothing from the
//! crate.

use crate::findings::Code;
use serde_json::{json, Value};
use std::fmt;

/// The boruta versions boruta-gitops supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V0_9,
    V0_10,
    Master,
}

impl Version {
    /// What `validate` assumes offline, and the sandbox's default: the latest release.
    pub const LATEST_RELEASE: Version = Version::V0_10;
    pub const ALL: [Version; 3] = [Version::V0_9, Version::V0_10, Version::Master];

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_9 => "0.9",
            Version::V0_10 => "0.10",
            Version::Master => "master",
        }
    }

    /// True for the released versions (0.9, 0.10).
    pub fn is_release(self) -> bool {
        self != Version::Master
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Version {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().trim_start_matches('v') {
            "0.9" | "0.9.0" | "0.9.1" | "0.9.2" => Ok(Version::V0_9),
            "0.10" | "0.10.0" | "0.10.1" | "0.10.2" | "0.10.3" | "0.10.4" | "0.10.5" => {
                Ok(Version::V0_10)
            }
            "master" | "main" => Ok(Version::Master),
            other => Err(format!(
                "unsupported boruta version `{other}`: boruta-gitops supports 0.9, 0.10 and master (older servers refuse its scope reads with 403)"
            )),
        }
    }
}

/// A version as a user names it (`--boruta-version`, `BORUTA_VERSION`): how it behaves for
/// clients, and whether it has the identity-provider cache defect, which patch releases
/// differ on: 0.9.0 to 0.10.0 cache a client's identity provider and keep the old one
/// after a change until they restart; 0.10.1 fixed it (boruta-server ffa4afbb,
/// `apps/boruta_identity/lib/boruta_identity/identity_providers.ex`; contract §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub version: Version,
    /// `None`: the name does not say which patch release (`0.10`).
    pub identity_provider_cache_defect: Option<bool>,
}

impl std::str::FromStr for Named {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let version: Version = text.parse()?;
        let patch = text.trim().trim_start_matches('v');
        let identity_provider_cache_defect = match (version, patch) {
            (Version::V0_9, _) | (_, "0.10.0") => Some(true),
            (Version::V0_10, "0.10") => None,
            _ => Some(false),
        };
        Ok(Named {
            version,
            identity_provider_cache_defect,
        })
    }
}

/// Which versions have something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    All,
    /// Only boruta's master branch (unreleased).
    Master,
    Never,
}

impl Since {
    pub fn includes(self, version: Version) -> bool {
        match self {
            Since::All => true,
            Since::Master => version == Version::Master,
            Since::Never => false,
        }
    }
}

/// The JSON type of a field on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A UUID string (either letter case).
    Uuid,
    Bool,
    Int,
    Str,
    /// A string that may be null.
    NullableStr,
    StrList,
    Object,
    /// `{"id": uuid}` on the wire; `{id}` or `{name}` in a manifest.
    IdentityProvider,
    /// `[{"id"} | {"name"}]` on the wire.
    Scopes,
}

/// How a declared value is compared with the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Equal JSON values.
    Scalar,
    /// Lists in order (`redirect_uris`).
    Ordered,
    /// Lists as sets.
    Set,
    /// By identity-provider id, names resolved against the server.
    IdentityProvider,
    /// As a set of scope names, ids resolved against the server.
    Scopes,
    /// By digest only; shown as `(sensitive)`.
    Secret,
    /// Never compared: the server generates it (`public_key`, `did`) or it is the key (`id`).
    Never,
}

/// What a create sets when the field is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateDefault {
    Null,
    False,
    Int(i64),
    Str(&'static str),
    EmptyList,
    List(&'static [&'static str]),
    EmptyObject,
    /// `{type: rsa, modulus_size: "2048", exponent_size: "65537"}`.
    RsaKeyPair,
    /// All twelve grant types on 0.9/0.10 (boruta_auth `1587483`,
    /// `schemas/client.ex`: `default: Oauth.Client.grant_types()`); client_credentials and
    /// authorization_code on master (boruta_auth `40ca6d9`).
    GrantTypes,
    /// Generated by the server when a create leaves it out (`id`, `secret`).
    GeneratedWhenAbsent,
    /// Always generated by the server; a manifest value is ignored (`public_key`, `did`).
    Generated,
}

/// boruta's grant types, in the order of its validation message (boruta_auth
/// `lib/boruta/oauth/schemas/client.ex`, the same twelve at `1587483` and `cfdb52d`).
pub const GRANT_TYPES: [&str; 12] = [
    "client_credentials",
    "password",
    "authorization_code",
    "agent_code",
    "refresh_token",
    "implicit",
    "revoke",
    "introspect",
    "id_token",
    "vp_token",
    "preauthorized_code",
    "agent_credentials",
];
/// master's default grant types.
pub const MASTER_DEFAULT_GRANT_TYPES: [&str; 2] = ["client_credentials", "authorization_code"];
pub const INTERNAL_SIGNATURES: &str = "Elixir.Boruta.Internal.Signatures";
pub const UNIVERSAL_SIGNATURES: &str = "Elixir.Boruta.Universal.Signatures";
pub const SIGNATURES_ADAPTERS: [&str; 2] = [INTERNAL_SIGNATURES, UNIVERSAL_SIGNATURES];
/// `Client.Crypto.signature_algorithms()`.
pub const SIGNATURE_ALGS: [&str; 10] = [
    "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "HS256", "HS384", "HS512", "EdDSA",
];
pub const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
];
pub const JWT_AUTH_ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "HS256", "HS384", "HS512"];

/// The `token_endpoint_jwt_auth_alg` values boruta `version` actually verifies a client
/// assertion with: `private_key_jwt` (`asymmetric`) or `client_secret_jwt`. 0.9 and 0.10
/// test for a misspelt `RS364`/`HS364`, so the 384-bit variants work on master only
/// (lib/boruta/oauth/authorization/client.ex, boruta_auth 1587483; fixed in cfdb52d).
pub fn jwt_verification_algs(version: Version, asymmetric: bool) -> &'static [&'static str] {
    match (version.is_release(), asymmetric) {
        (true, true) => &["RS256", "RS512"],
        (false, true) => &["RS256", "RS384", "RS512"],
        (true, false) => &["HS256", "HS512"],
        (false, false) => &["HS256", "HS384", "HS512"],
    }
}
pub const RESPONSE_MODES: [&str; 2] = ["post", "direct_post"];
/// `key_pair_type.type` values boruta can generate keys for.
pub const KEY_TYPES: [&str; 3] = ["rsa", "ec", "universal"];
/// The curves boruta's key generator (JOSE) knows: a create with another curve gets
/// `private_key: private_key_type is invalid`, with P-512 it crashes (contract §5.4).
pub const GENERATOR_CURVES: [&str; 3] = ["P-256", "P-384", "P-521"];
/// `key_pair_type.curve` values a client can be created with: the generator's curves that
/// boruta's loose schema (`^P-256|P-384|P-512$`) lets through; P-521 is refused by the
/// schema before the generator sees it (contract §5.2).
pub const CURVES: [&str; 2] = ["P-256", "P-384"];

impl CreateDefault {
    /// The value a create gives the field on `version` (`Value::Null` for generated ones).
    pub fn value(self, version: Version) -> Value {
        match self {
            CreateDefault::Null | CreateDefault::GeneratedWhenAbsent | CreateDefault::Generated => {
                Value::Null
            }
            CreateDefault::False => Value::Bool(false),
            CreateDefault::Int(n) => json!(n),
            CreateDefault::Str(s) => json!(s),
            CreateDefault::EmptyList => json!([]),
            CreateDefault::List(items) => json!(items),
            CreateDefault::EmptyObject => json!({}),
            CreateDefault::RsaKeyPair => {
                json!({"type": "rsa", "modulus_size": "2048", "exponent_size": "65537"})
            }
            CreateDefault::GrantTypes if version.is_release() => json!(GRANT_TYPES),
            CreateDefault::GrantTypes => json!(MASTER_DEFAULT_GRANT_TYPES),
        }
    }

    /// True when the default is not the same on every supported version: leaving such a
    /// field out of a manifest means different things on different servers.
    pub fn varies(self) -> bool {
        self == CreateDefault::GrantTypes
    }
}

/// boruta's message for a value outside a field's allowed set (contract §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `"is invalid"` (`validate_inclusion`).
    IsInvalid,
    /// `"has an invalid entry"` (`validate_subset`).
    HasAnInvalidEntry,
    /// `"must be part of <the allowed values, joined by ", ">"`, once for the list.
    MustBePartOf,
}

/// What boruta does with an explicit `null` on create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullOnCreate {
    /// Stored as null.
    Stored,
    /// Replaced by the default.
    Defaulted,
    /// `"can't be blank"`.
    Blank,
    /// `"can't be nil"` (master's `validate_required_allow_empty`).
    Nil,
}

/// What boruta does with an explicit `null` on update (contract §5.2, §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullOnUpdate {
    /// Stored as null (which may break the token endpoint for the client).
    Stored,
    /// `"can't be blank"` (`validate_required`).
    Blank,
    /// `"can't be nil"`.
    Nil,
    /// A NOT NULL column: the database constraint crashes the request (500).
    Crashes,
}

/// What an update does with the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUpdate {
    /// Changed when sent, kept when absent.
    Partial,
    /// Ignored (`id`), or server-managed (`public_key`, `did`).
    Ignored,
    /// Replaced on every update, cleared when absent (`authorized_scopes`, contract §6.1).
    ReplacedAlways,
    /// Re-associated only when `{"id": ...}` is sent; a failure is a 422 after the other
    /// changes were saved (contract §6.2).
    Association,
}

/// How `export` writes a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Written when it differs from the version's default (always, when the default
    /// varies between versions).
    UnlessDefault,
    /// Written by export itself (`id`, `name`, `secret` as a reference), or never
    /// (server-generated, never rendered).
    Special,
}

/// Range checks boruta applies to a changed TTL on update: each listed maximum adds one
/// `"is invalid"` when exceeded (contract §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateRanges {
    pub release: &'static [i64],
    pub master: &'static [i64],
}

impl UpdateRanges {
    pub fn for_version(self, version: Version) -> &'static [i64] {
        if version.is_release() {
            self.release
        } else {
            self.master
        }
    }
}

macro_rules! field_ids {
    ($($variant:ident = $name:literal,)*) => {
        /// A client field, by type: later stages name fields with it, never by string. Its
        /// entry in [`FIELDS`] is `FIELDS[id as usize]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FieldId { $($variant,)* }

        impl FieldId {
            /// Every field, in the catalogue's order.
            pub const ALL: &'static [FieldId] = &[$(FieldId::$variant,)*];

            /// The admin API's name of the field.
            pub const fn name(self) -> &'static str {
                match self { $(FieldId::$variant => $name,)* }
            }

            /// The field of an admin API member name (the one place names are read: the
            /// wire and the manifest keys). A `match`: the compiler dispatches on length,
            /// which matters for 100,000 records of 33 members.
            pub fn parse(name: &str) -> Option<FieldId> {
                match name { $($name => Some(FieldId::$variant),)* _ => None }
            }
        }
    };
}

field_ids! {
    Id = "id",
    PublicClientId = "public_client_id",
    CheckPublicClientId = "check_public_client_id",
    TrustedAuthorities = "trusted_authorities",
    TrustedHosts = "trusted_hosts",
    Name = "name",
    Secret = "secret",
    Confidential = "confidential",
    RedirectUris = "redirect_uris",
    PublicRefreshToken = "public_refresh_token",
    PublicRevoke = "public_revoke",
    AuthorizeScope = "authorize_scope",
    EnforceDpop = "enforce_dpop",
    EnforceTxCode = "enforce_tx_code",
    AccessTokenTtl = "access_token_ttl",
    AuthorizationCodeTtl = "authorization_code_ttl",
    AuthorizationRequestTtl = "authorization_request_ttl",
    RefreshTokenTtl = "refresh_token_ttl",
    IdTokenTtl = "id_token_ttl",
    Pkce = "pkce",
    PublicKey = "public_key",
    KeyPairType = "key_pair_type",
    SignaturesAdapter = "signatures_adapter",
    Did = "did",
    IdentityProvider = "identity_provider",
    AuthorizedScopes = "authorized_scopes",
    SupportedGrantTypes = "supported_grant_types",
    IdTokenSignatureAlg = "id_token_signature_alg",
    UserinfoSignedResponseAlg = "userinfo_signed_response_alg",
    TokenEndpointJwtAuthAlg = "token_endpoint_jwt_auth_alg",
    TokenEndpointAuthMethods = "token_endpoint_auth_methods",
    JwtPublicKey = "jwt_public_key",
    ResponseMode = "response_mode",
    AgentTokenTtl = "agent_token_ttl",
    AuthorizedResources = "authorized_resources",
    JwksUri = "jwks_uri",
    IdTokenKid = "id_token_kid",
    LogoUri = "logo_uri",
    Metadata = "metadata",
    KeyPairId = "key_pair_id",
    Jwk = "jwk",
}

impl FieldId {
    /// Everything the catalogue knows about the field.
    pub fn spec(self) -> &'static Field {
        &FIELDS[self as usize]
    }
}

/// A set of fields: those a run needs of the server's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldSet(u64);

impl FieldSet {
    /// Every field.
    pub const ALL: FieldSet = FieldSet(u64::MAX);

    /// The set of `fields`.
    pub fn of(fields: &[FieldId]) -> FieldSet {
        fields.iter().fold(FieldSet(0), |set, f| set.with(*f))
    }

    /// This set and `field`.
    pub fn with(self, field: FieldId) -> FieldSet {
        FieldSet(self.0 | 1 << field as u32)
    }

    pub fn contains(self, field: FieldId) -> bool {
        self.0 & (1 << field as u32) != 0
    }
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything about one client field.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub id: FieldId,
    pub name: &'static str,
    pub kind: Kind,
    /// A manifest may declare it (the schema has it).
    pub in_manifest: bool,
    /// boruta accepts it on create and update (casts it). Unknown members are ignored.
    pub accepted: Since,
    /// boruta renders it in every client answer.
    pub rendered: Since,
    pub on_update: OnUpdate,
    pub compare: Compare,
    pub default: CreateDefault,
    /// The values boruta accepts (for a list: for each element); empty: any.
    pub allowed: &'static [&'static str],
    /// boruta's message when a value is not allowed.
    pub rejection: Rejection,
    /// Our finding code for a value boruta refuses.
    pub invalid_code: Code,
    pub null_on_create: NullOnCreate,
    pub null_on_update: NullOnUpdate,
    /// TTLs: the create range is `1..=ttl_max`, which is also the default.
    pub ttl_max: Option<i64>,
    /// TTLs: the maxima checked when an update changes the value.
    pub update_ranges: Option<UpdateRanges>,
    pub export: Export,
}

impl Field {
    /// Accepted by `version` and never rendered back: it can be sent, not compared.
    pub fn write_only(&self, version: Version) -> bool {
        self.accepted.includes(version) && !self.rendered.includes(version)
    }

    /// Always generated by the server (a manifest value can never match it).
    pub fn server_generated(&self) -> bool {
        self.default == CreateDefault::Generated
    }
}

const fn field(id: FieldId, kind: Kind) -> Field {
    Field {
        id,
        name: id.name(),
        kind,
        in_manifest: true,
        accepted: Since::All,
        rendered: Since::All,
        on_update: OnUpdate::Partial,
        compare: Compare::Scalar,
        default: CreateDefault::Null,
        allowed: &[],
        rejection: Rejection::IsInvalid,
        invalid_code: Code::InvalidValue,
        null_on_create: NullOnCreate::Stored,
        null_on_update: NullOnUpdate::Stored,
        ttl_max: None,
        update_ranges: None,
        export: Export::UnlessDefault,
    }
}

const fn flag(id: FieldId, null_on_update: NullOnUpdate) -> Field {
    Field {
        default: CreateDefault::False,
        null_on_create: NullOnCreate::Defaulted,
        null_on_update,
        ..field(id, Kind::Bool)
    }
}

const fn ttl(id: FieldId, max: i64, update_ranges: Option<UpdateRanges>) -> Field {
    Field {
        default: CreateDefault::Int(max),
        null_on_create: NullOnCreate::Defaulted,
        null_on_update: NullOnUpdate::Blank,
        ttl_max: Some(max),
        update_ranges,
        ..field(id, Kind::Int)
    }
}

const fn write_only(field: Field) -> Field {
    Field {
        rendered: Since::Never,
        ..field
    }
}

/// Every client field, in boruta's rendering order (contract §4.1), then the write-only
/// ones (§4.1, §4.2). Sources: boruta_auth `lib/boruta/adapters/ecto/schemas/client.ex`
/// (casts, defaults, validations) and boruta-server
/// `apps/boruta_admin/lib/boruta_admin_web/views/client_view.ex` (rendering), at the
/// commits named in this module's header.
pub const FIELDS: &[Field] = &[
    Field {
        on_update: OnUpdate::Ignored,
        compare: Compare::Never,
        default: CreateDefault::GeneratedWhenAbsent,
        export: Export::Special,
        invalid_code: Code::InvalidUuid,
        ..field(FieldId::Id, Kind::Uuid)
    },
    field(FieldId::PublicClientId, Kind::NullableStr),
    flag(FieldId::CheckPublicClientId, NullOnUpdate::Crashes),
    Field {
        accepted: Since::Master,
        rendered: Since::Master,
        default: CreateDefault::Str(""),
        null_on_create: NullOnCreate::Nil,
        null_on_update: NullOnUpdate::Nil,
        ..field(FieldId::TrustedAuthorities, Kind::Str)
    },
    Field {
        accepted: Since::Master,
        rendered: Since::Master,
        compare: Compare::Set,
        default: CreateDefault::EmptyList,
        null_on_create: NullOnCreate::Nil,
        null_on_update: NullOnUpdate::Nil,
        ..field(FieldId::TrustedHosts, Kind::StrList)
    },
    Field {
        export: Export::Special,
        ..field(FieldId::Name, Kind::NullableStr)
    },
    Field {
        compare: Compare::Secret,
        default: CreateDefault::GeneratedWhenAbsent,
        export: Export::Special,
        ..field(FieldId::Secret, Kind::NullableStr)
    },
    flag(FieldId::Confidential, NullOnUpdate::Crashes),
    Field {
        compare: Compare::Ordered,
        default: CreateDefault::EmptyList,
        null_on_create: NullOnCreate::Blank,
        null_on_update: NullOnUpdate::Crashes,
        invalid_code: Code::InvalidRedirectUri,
        ..field(FieldId::RedirectUris, Kind::StrList)
    },
    flag(FieldId::PublicRefreshToken, NullOnUpdate::Crashes),
    flag(FieldId::PublicRevoke, NullOnUpdate::Crashes),
    flag(FieldId::AuthorizeScope, NullOnUpdate::Stored),
    flag(FieldId::EnforceDpop, NullOnUpdate::Stored),
    flag(FieldId::EnforceTxCode, NullOnUpdate::Crashes),
    ttl(
        FieldId::AccessTokenTtl,
        86_400,
        // Upstream bug: a changed access_token_ttl is also checked against the
        // authorization-request maximum, on every version.
        Some(UpdateRanges {
            release: &[86_400, 300],
            master: &[86_400, 300],
        }),
    ),
    ttl(
        FieldId::AuthorizationCodeTtl,
        600,
        Some(UpdateRanges {
            release: &[600],
            master: &[600],
        }),
    ),
    Field {
        // Not range-checked on update on any version.
        null_on_update: NullOnUpdate::Stored,
        ..ttl(FieldId::AuthorizationRequestTtl, 300, None)
    },
    ttl(
        FieldId::RefreshTokenTtl,
        2_592_000,
        // 0.9/0.10 also check it against the id-token maximum (`validate_inclusion(
        // :refresh_token_ttl, 1..id_token_max_ttl())` at `1587483`); master fixed it.
        Some(UpdateRanges {
            release: &[2_592_000, 86_400],
            master: &[2_592_000],
        }),
    ),
    ttl(
        FieldId::IdTokenTtl,
        86_400,
        // ... which leaves id_token_ttl unchecked on update before master.
        Some(UpdateRanges {
            release: &[],
            master: &[86_400],
        }),
    ),
    flag(FieldId::Pkce, NullOnUpdate::Stored),
    Field {
        on_update: OnUpdate::Ignored,
        compare: Compare::Never,
        default: CreateDefault::Generated,
        export: Export::Special,
        ..field(FieldId::PublicKey, Kind::NullableStr)
    },
    Field {
        default: CreateDefault::RsaKeyPair,
        null_on_create: NullOnCreate::Blank,
        null_on_update: NullOnUpdate::Blank,
        invalid_code: Code::InvalidKeyPairType,
        ..field(FieldId::KeyPairType, Kind::Object)
    },
    Field {
        default: CreateDefault::Str(INTERNAL_SIGNATURES),
        allowed: &SIGNATURES_ADAPTERS,
        null_on_create: NullOnCreate::Defaulted,
        null_on_update: NullOnUpdate::Crashes,
        invalid_code: Code::SignaturesAdapterMismatch,
        ..field(FieldId::SignaturesAdapter, Kind::Str)
    },
    Field {
        on_update: OnUpdate::Ignored,
        compare: Compare::Never,
        default: CreateDefault::Generated,
        export: Export::Special,
        ..field(FieldId::Did, Kind::NullableStr)
    },
    Field {
        on_update: OnUpdate::Association,
        compare: Compare::IdentityProvider,
        ..field(FieldId::IdentityProvider, Kind::IdentityProvider)
    },
    Field {
        on_update: OnUpdate::ReplacedAlways,
        compare: Compare::Scopes,
        default: CreateDefault::EmptyList,
        ..field(FieldId::AuthorizedScopes, Kind::Scopes)
    },
    Field {
        compare: Compare::Set,
        default: CreateDefault::GrantTypes,
        allowed: &GRANT_TYPES,
        null_on_create: NullOnCreate::Defaulted,
        rejection: Rejection::MustBePartOf,
        invalid_code: Code::InvalidGrantType,
        ..field(FieldId::SupportedGrantTypes, Kind::StrList)
    },
    Field {
        default: CreateDefault::Str("RS512"),
        allowed: &SIGNATURE_ALGS,
        null_on_create: NullOnCreate::Defaulted,
        invalid_code: Code::InvalidSignatureAlg,
        ..field(FieldId::IdTokenSignatureAlg, Kind::Str)
    },
    Field {
        allowed: &SIGNATURE_ALGS,
        invalid_code: Code::InvalidSignatureAlg,
        ..field(FieldId::UserinfoSignedResponseAlg, Kind::NullableStr)
    },
    Field {
        default: CreateDefault::Str("HS256"),
        allowed: &JWT_AUTH_ALGS,
        null_on_create: NullOnCreate::Defaulted,
        null_on_update: NullOnUpdate::Crashes,
        invalid_code: Code::InvalidJwtAuthAlg,
        ..field(FieldId::TokenEndpointJwtAuthAlg, Kind::Str)
    },
    Field {
        compare: Compare::Set,
        default: CreateDefault::List(&["client_secret_basic", "client_secret_post"]),
        allowed: &AUTH_METHODS,
        null_on_create: NullOnCreate::Defaulted,
        null_on_update: NullOnUpdate::Crashes,
        rejection: Rejection::HasAnInvalidEntry,
        invalid_code: Code::InvalidAuthMethod,
        ..field(FieldId::TokenEndpointAuthMethods, Kind::StrList)
    },
    field(FieldId::JwtPublicKey, Kind::NullableStr),
    Field {
        default: CreateDefault::Str("direct_post"),
        allowed: &RESPONSE_MODES,
        null_on_create: NullOnCreate::Defaulted,
        invalid_code: Code::InvalidResponseMode,
        ..field(FieldId::ResponseMode, Kind::Str)
    },
    // Accepted but never rendered: sent, never compared (contract §4.1, §9.2).
    write_only(ttl(
        FieldId::AgentTokenTtl,
        2_592_000,
        Some(UpdateRanges {
            release: &[2_592_000],
            master: &[2_592_000],
        }),
    )),
    write_only(Field {
        default: CreateDefault::EmptyList,
        null_on_create: NullOnCreate::Defaulted,
        null_on_update: NullOnUpdate::Crashes,
        invalid_code: Code::InvalidResourceUri,
        ..field(FieldId::AuthorizedResources, Kind::StrList)
    }),
    write_only(field(FieldId::JwksUri, Kind::NullableStr)),
    write_only(field(FieldId::IdTokenKid, Kind::NullableStr)),
    write_only(field(FieldId::LogoUri, Kind::NullableStr)),
    write_only(Field {
        default: CreateDefault::EmptyObject,
        null_on_create: NullOnCreate::Defaulted,
        null_on_update: NullOnUpdate::Crashes,
        ..field(FieldId::Metadata, Kind::Object)
    }),
    write_only(Field {
        invalid_code: Code::InvalidUuid,
        ..field(FieldId::KeyPairId, Kind::Uuid)
    }),
    // Virtual: converted into jwt_public_key. Not part of the manifest format.
    write_only(Field {
        in_manifest: false,
        ..field(FieldId::Jwk, Kind::Object)
    }),
];

/// The field named `name` (a manifest key or an admin API member).
pub fn get(name: &str) -> Option<&'static Field> {
    FieldId::parse(name).map(FieldId::spec)
}

/// The members `version` renders, in its order.
pub fn rendered(version: Version) -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(move |f| f.rendered.includes(version))
}

/// The fields `version` accepts on create and update.
pub fn accepted(version: Version) -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(move |f| f.accepted.includes(version))
}

/// The fields a manifest may declare.
pub fn manifest_fields() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(|f| f.in_manifest)
}

/// boruta's defaults on create for `version`, as the JSON it renders (generated fields
/// excepted).
pub fn create_defaults(version: Version) -> &'static serde_json::Map<String, Value> {
    static DEFAULTS: std::sync::OnceLock<[serde_json::Map<String, Value>; 3]> =
        std::sync::OnceLock::new();
    let all = DEFAULTS.get_or_init(|| Version::ALL.map(build_defaults));
    &all[Version::ALL.iter().position(|v| *v == version).unwrap_or(0)]
}

fn build_defaults(version: Version) -> serde_json::Map<String, Value> {
    accepted(version)
        .filter(|f| {
            !matches!(
                f.default,
                CreateDefault::Generated | CreateDefault::GeneratedWhenAbsent
            )
        })
        .filter(|f| !matches!(f.kind, Kind::IdentityProvider | Kind::Scopes))
        .filter(|f| f.name != "jwk")
        .map(|f| (f.name.to_string(), f.default.value(version)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_fits_a_field_set() {
        assert!(FieldId::ALL.len() <= 64);
        let set = FieldSet::of(&[FieldId::Id, FieldId::Jwk]);
        assert!(set.contains(FieldId::Jwk) && !set.contains(FieldId::Name));
    }

    #[test]
    fn the_catalogue_is_in_field_id_order() {
        assert_eq!(FIELDS.len(), FieldId::ALL.len());
        for (i, field) in FIELDS.iter().enumerate() {
            assert_eq!(field.id, FieldId::ALL[i], "FIELDS[{i}] is {}", field.name);
            assert_eq!(field.id.spec().name, field.name);
        }
    }

    #[test]
    fn versions_render_what_their_views_render() {
        // client_view.ex at 0.10.5: 31 members; at master: 33.
        assert_eq!(rendered(Version::V0_10).count(), 31);
        assert_eq!(rendered(Version::V0_9).count(), 31);
        assert_eq!(rendered(Version::Master).count(), 33);
        let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a field is listed twice");
    }

    #[test]
    fn defaults_per_version() {
        let release = create_defaults(Version::V0_10);
        assert_eq!(release["supported_grant_types"], json!(GRANT_TYPES));
        assert!(!release.contains_key("trusted_hosts"));
        let master = create_defaults(Version::Master);
        assert_eq!(
            master["supported_grant_types"],
            json!(["client_credentials", "authorization_code"])
        );
        assert_eq!(master["trusted_authorities"], json!(""));
        assert_eq!(master["authorization_code_ttl"], json!(600));
    }

    #[test]
    fn version_names() {
        assert_eq!("0.10.5".parse::<Version>(), Ok(Version::V0_10));
        assert_eq!("0.9".parse::<Version>(), Ok(Version::V0_9));
        assert_eq!("master".parse::<Version>(), Ok(Version::Master));
        assert!("0.8.0".parse::<Version>().is_err());
    }
}
