//! Every finding code boruta-gitops can report, in one enum: its stable kebab-case text,
//! its default severity, the README table that documents it and what it means there.
//!
//! This is the one severity table of the project: a finding is made from a [`Code`] and
//! gets the code's severity unless a rule of the tool says otherwise (a policy file, a
//! waived legacy value, `validate` without `--require-env`). The README's tables of
//! findings are checked against [`Code::ALL`] by a test generated from this enum, so a
//! code cannot be emitted undocumented, or documented after it is gone. The security
//! rules' rationale and references are `policy::catalogue`'s. Imports only `source`.

use crate::source::Severity;
use std::fmt;

/// The README table a code is documented in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// "Diagnostics": what `validate` finds in the manifests.
    Manifests,
    /// "Findings of `plan`, `drift` and `apply`": what comparing with the server finds.
    Server,
    /// "Security rules": the OAuth best-practice rules (`policy::catalogue`).
    Security,
}

impl Table {
    /// The README anchor of the section holding the table.
    pub fn anchor(self) -> &'static str {
        match self {
            Table::Manifests | Table::Server => "diagnostics",
            Table::Security => "security-rules",
        }
    }
}

macro_rules! codes {
    ($( $variant:ident = $text:literal, $severity:ident, $table:ident, $meaning:literal; )*) => {
        /// A finding code. Its text is stable: tools match on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// Every code, in the order of the README's tables.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable kebab-case text.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// The severity a finding of this code has unless a rule says otherwise.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// The README table that documents it.
            pub fn table(self) -> Table {
                match self { $(Code::$variant => Table::$table,)* }
            }

            /// What it means, as the README's table says (for a security rule: what it finds).
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $meaning,)* }
            }
        }
    };
}

codes! {
    // Reading the manifests.
    YamlSyntax = "yaml-syntax", Error, Manifests, "the file is not valid YAML";
    YamlTooDeep = "yaml-too-deep", Error, Manifests, "nesting deeper than 64 levels";
    YamlAliasLimit = "yaml-alias-limit", Error, Manifests, "aliases expand to more than 100,000 values (alias bomb)";
    NotUtf8 = "not-utf8", Error, Manifests, "the file is not UTF-8 (points at the first bad byte)";
    EmptyFile = "empty-file", Error, Manifests, "the file holds no document";
    FileTooLarge = "file-too-large", Error, Manifests, "a manifest file larger than 16 MiB, or a `${file:..}` target larger than 1 MiB";
    InputTooLarge = "input-too-large", Error, Manifests, "the manifest files and the `${file:..}` values they substitute together exceed the total input budget (`--max-input-bytes`, default 256 MiB): what is past it is not read";
    UnreadableFile = "unreadable-file", Error, Manifests, "a file (or `${file:..}` target) cannot be read";
    NotARegularFile = "not-a-regular-file", Error, Manifests, "a `*.yaml` that is a FIFO, socket or device, or a `${file:..}` target that is not a regular file: not read";
    SymlinkOutsideRoot = "symlink-outside-root", Error, Manifests, "a symbolic link whose target resolves outside the manifest directory: not followed, nothing of its target read";
    FileOutsideRoot = "file-outside-root", Error, Manifests, "a `${file:..}` that resolves outside the manifest directory and every `--file-root`";
    SubstitutionNotAllowed = "substitution-not-allowed", Error, Manifests, "`id`, `name` or a `secret_delivery` location from `${env:..}` or from a file outside the manifest directory";
    PathNotFound = "path-not-found", Error, Manifests, "the manifest directory does not exist";
    NoManifests = "no-manifests", Error, Manifests, "no `*.yaml`/`*.yml` file was found";
    // The shape of a manifest.
    NotAMapping = "not-a-mapping", Error, Manifests, "a document or client is not a mapping";
    ForeignDocument = "foreign-document", Error, Manifests, "a document with `apiVersion` (a Kubernetes or kustomize file) among the manifests: keep it out with `--exclude`";
    DuplicateKey = "duplicate-key", Error, Manifests, "a key appears twice in one mapping (a warning when both values are the same scalar)";
    UnknownField = "unknown-field", Error, Manifests, "a field the schema does not know (with a \"did you mean\")";
    MissingField = "missing-field", Error, Manifests, "`name` or `identity_provider` missing; a reference without `id`/`name`; null where boruta needs a value";
    InvalidType = "invalid-type", Error, Manifests, "wrong type (`yes` for a boolean, `\"3600\"` for an integer, ...)";
    EmptyValue = "empty-value", Error, Manifests, "an empty or blank string where boruta would discard it";
    InvalidUuid = "invalid-uuid", Error, Manifests, "an id that is not a UUID";
    InvalidValue = "invalid-value", Error, Manifests, "a value outside its allowed set (other fields)";
    SecretDeliveryNotConfidential = "secret-delivery-not-confidential", Error, Manifests, "`secret_delivery` on a client that does not declare `confidential: true`";
    // boruta's own rules.
    TtlOutOfRange = "ttl-out-of-range", Error, Manifests, "a TTL outside its 1..max range";
    InvalidRedirectUri = "invalid-redirect-uri", Error, Manifests, "a redirect URI without scheme or `//` authority, or with a fragment";
    InvalidResourceUri = "invalid-resource-uri", Error, Manifests, "an authorized resource that is not an absolute URI";
    InvalidGrantType = "invalid-grant-type", Error, Manifests, "a grant type outside boruta's list";
    InvalidSignatureAlg = "invalid-signature-alg", Error, Manifests, "an unknown signature algorithm";
    SignatureAlgKeyMismatch = "signature-alg-key-mismatch", Error, Manifests, "an algorithm the key type cannot sign with";
    InvalidAuthMethod = "invalid-auth-method", Error, Manifests, "an unknown token endpoint auth method";
    InvalidJwtAuthAlg = "invalid-jwt-auth-alg", Error, Manifests, "an unknown `token_endpoint_jwt_auth_alg`";
    InvalidResponseMode = "invalid-response-mode", Error, Manifests, "`response_mode` other than `post`/`direct_post`";
    InvalidKeyPairType = "invalid-key-pair-type", Error, Manifests, "`key_pair_type` of the wrong shape, type or curve";
    RsaModulusTooSmall = "rsa-modulus-too-small", Error, Manifests, "rsa without `modulus_size`, or below 2048";
    KeyGenerationImpossible = "key-generation-impossible", Error, Manifests, "boruta could not generate the key (rsa without exponent, ec without curve)";
    UnknownKeyType = "unknown-key-type", Error, Manifests, "a key type boruta does not know";
    SignaturesAdapterMismatch = "signatures-adapter-mismatch", Error, Manifests, "`signatures_adapter` does not suit the key type";
    InvalidScopeName = "invalid-scope-name", Error, Manifests, "a scope name with whitespace (boruta silently drops it)";
    // Across the manifest set.
    DuplicateName = "duplicate-name", Error, Manifests, "two manifests with the same `name`";
    DuplicateId = "duplicate-id", Error, Manifests, "two manifests with the same (explicit or derived) id";
    DuplicateDeliveryPath = "duplicate-delivery-path", Error, Manifests, "two clients with the same `secret_delivery` mount and path";
    DeliveryPathInSeveralEnvironments = "delivery-path-in-several-environments", Warning, Manifests, "`validate --all-envs`: one `secret_delivery` mount and path in several environments (their applies overwrite each other's secret when they share a store)";
    UnknownKind = "unknown-kind", Error, Manifests, "a `kind` other than `Client` or `Scope`";
    ProtectedScope = "protected-scope", Error, Manifests, "a scope manifest naming one of boruta's six protected management scopes";
    ScopeStillReferenced = "scope-still-referenced", Error, Manifests, "a scope declared absent that a client in git still names";
    UnsetVariable = "unset-variable", Error, Manifests, "`${env:NAME}` names an unset variable";
    UnknownVariable = "unknown-variable", Error, Manifests, "`${var:NAME}` names a variable the environment does not define (or no environment is selected)";
    InvalidEnvironment = "invalid-environment", Error, Manifests, "an environment file that cannot be read, or a key or value it may not hold";
    InvalidConfiguration = "invalid-configuration", Error, Manifests, "a configuration file without string `version: \"1.0\"` or `configuration` mapping";
    InvalidManifest = "invalid-manifest", Error, Manifests, "the manifest passed the schema but could not be read (a bug: please report)";
    SchemaViolation = "schema-violation", Error, Manifests, "any other schema violation";
    FieldNotSupported = "field-not-supported", Error, Manifests, "a field the (assumed or detected) boruta version does not support";
    // Waivers and the policy.
    WaiverWithoutReason = "waiver-without-reason", Error, Manifests, "a `# boruta-gitops:allow` comment without a reason";
    NotWaivable = "not-waivable", Error, Manifests, "a waiver of a finding that cannot be waived, by nature or because the policy says `waivable: false`";
    InvalidWaiver = "invalid-waiver", Error, Manifests, "a `# boruta-gitops:allow` comment naming no code";
    InvalidPolicy = "invalid-policy", Error, Manifests, "a policy file entry that is not a known rule, parameter or value";
    WaiverWithoutExpiry = "waiver-without-expiry", Error, Manifests, "a waiver without `until=YYYY-MM-DD` where the policy requires one (`waivers: {require_expiry: true}`): it waives nothing";
    // Warnings and notes about the manifests.
    SymlinkLoop = "symlink-loop", Warning, Manifests, "symbolic links that lead back to a directory already read (not followed)";
    DefaultGrantTypes = "default-grant-types", Warning, Manifests, "`supported_grant_types` left out: its default differs between boruta versions; the message names the grants the server would allow";
    UnusedWaiver = "unused-waiver", Warning, Manifests, "a waiver that waives nothing";
    WaiverExpired = "waiver-expired", Warning, Manifests, "a waiver past its `until=` date: what it waived counts again";
    PolicyRelaxed = "policy-relaxed", Warning, Manifests, "the policy file in the manifest directory (which a pull request can change) relaxes a built-in rule: a lower severity, `off`, a longer `max_ttl`, `administration_clients`";
    ServerGeneratedField = "server-generated-field", Warning, Manifests, "`public_key` / `did` are generated by the server";
    UniversalKeyType = "universal-key-type", Warning, Manifests, "the `universal` key type needs boruta's external DID registrar";
    PartialSubstitution = "partial-substitution", Warning, Manifests, "`${env:..}` inside a longer string is not replaced";
    SectionNotManaged = "section-not-managed", Warning, Manifests, "a configuration-file section other than `client` and `scope`";
    UnknownSection = "unknown-section", Warning, Manifests, "a configuration-file section boruta does not know";
    NoClients = "no-clients", Warning, Manifests, "a configuration file without any client or scope";
    DerivedId = "derived-id", Note, Manifests, "the id is derived from the name; pin it";
    // Comparing with the server, and applying.
    Conflict = "conflict", Error, Server, "no `id`, the derived id is absent, and a server client has the same name";
    DeleteNotAllowed = "delete-not-allowed", Error, Server, "a client declared `ensure: absent` exists and `--allow-delete` was not given: the whole plan is refused";
    UpdateRefused = "update-refused", Error, Server, "with `--update`, a change boruta refuses on update (a changed `access_token_ttl` above 300, the version's update range checks); only delete-and-recreate can make it";
    ProtectedClient = "protected-client", Error, Server, "a manifest would update or delete a system client";
    RefusedOnCreate = "refused-on-create", Error, Server, "a client holding a waived legacy value does not exist on the server: boruta would refuse the create";
    BorutaVersionMismatch = "boruta-version-mismatch", Warning, Server, "`--boruta-version` contradicts what the server renders";
    UnknownIdentityProvider = "unknown-identity-provider", Error, Server, "the named (or given) identity provider does not exist on the server";
    UnknownScopeId = "unknown-scope-id", Error, Server, "a scope id that does not exist (boruta would silently drop it)";
    UnknownScope = "unknown-scope", Warning, Server, "a scope name that does not exist (boruta would create a private scope)";
    IdentityProviderNameMismatch = "identity-provider-name-mismatch", Warning, Server, "`id` and `name` are both given and disagree with the server";
    NameTakenOnServer = "name-taken-on-server", Warning, Server, "a client with an explicit new id has the name of an existing one";
    RejectedByServer = "rejected-by-server", Error, Server, "boruta answered 422 to a create; points at the value it rejected";
    KeyPairNotFound = "key-pair-not-found", Error, Server, "`key_pair_id` names no global key pair on the server (boruta answers 404 to a create, and to an update after saving its other fields)";
    KeyPairUnverifiable = "key-pair-unverifiable", Warning, Server, "the key pairs could not be read, so whether an existing client holds its `key_pair_id`'s key is unknown: it is not sent (`--send-key-pair-id` sends it)";
    IdentityProviderRestart = "identity-provider-restart", Warning, Server, "an update changes a client's identity provider on boruta 0.9.0 to 0.10.0, which cache the old one until they restart";
    NotConverged = "not-converged", Error, Server, "after apply, the server's record of a client it wrote still differs from the manifest (read back with one more list)";
    ServerIgnoredId = "server-ignored-id", Error, Server, "boruta (or something in between) answered 201 with another id or name than the one sent: apply stops starting creates";
    DeliveryUnreadable = "delivery-unreadable", Error, Server, "a client's `secret_delivery` cannot be checked (the store is down or unset, the token may not read the path, the mount is not KV version 2): plan, drift and apply exit 1, and apply writes nothing";
    // The security rules (policy::catalogue has their rationale and references).
    ImplicitGrant = "implicit-grant", Error, Security, "`implicit` in `supported_grant_types`";
    PasswordGrant = "password-grant", Error, Security, "`password` in `supported_grant_types`";
    PublicClientWithoutPkce = "public-client-without-pkce", Error, Security, "a public client (`confidential: false`, boruta's default) allows `authorization_code` without `pkce: true`";
    PublicClientCredentials = "public-client-credentials", Error, Security, "`client_credentials` on a client with a `public_client_id`, or on a public client (`confidential: false`) that also serves `authorization_code` or `implicit`";
    InsecureRedirectUri = "insecure-redirect-uri", Error, Security, "an `http://` redirect URI on a host that is not a loopback address";
    LocalhostRedirectUri = "localhost-redirect-uri", Warning, Security, "a redirect URI on `localhost` instead of a loopback IP literal";
    RedirectUriReused = "redirect-uri-reused", Warning, Security, "the same redirect URI on two clients";
    JwtAuthWithoutKey = "jwt-auth-without-key", Error, Security, "`private_key_jwt` allowed without a `jwt_public_key`";
    JwtAuthAlgMismatch = "jwt-auth-alg-mismatch", Warning, Security, "`private_key_jwt` or `client_secret_jwt` allowed with a `token_endpoint_jwt_auth_alg` boruta does not verify it with";
    SymmetricIdTokenOnPublicClient = "symmetric-id-token-on-public-client", Warning, Security, "an HS* `id_token_signature_alg` on a public client";
    SecretAuthPreferredAsymmetric = "secret-auth-preferred-asymmetric", Note, Security, "a confidential client that allows only secret-based authentication";
    LongLivedAccessToken = "long-lived-access-token", Warning, Security, "`access_token_ttl` above the policy's `max_ttl` (default 3600 s; boruta's own default is 86400 s)";
    AdminScopeGranted = "admin-scope-granted", Warning, Security, "a boruta management scope (`clients:manage:all`, ...) in `authorized_scopes` of a client not listed in the policy's `administration_clients`";
}

impl Code {
    /// The code of `text`, if it is one.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// The README anchor that documents it.
    pub fn anchor(self) -> &'static str {
        self.table().anchor()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "`{text}` is listed twice");
            assert!(
                text.split('-').all(|w| !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "`{text}` is not kebab-case"
            );
            assert_eq!(Code::parse(text), Some(*code));
        }
    }
}
