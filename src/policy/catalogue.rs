//! The security rules' catalogue: one entry per rule with its code (which carries the
//! default severity and what the rule finds), parameters, rationale and reference. The checks (`rules`), the policy file (`file`),
//! waivers, SARIF's rule metadata and the README's rule table all read it, so a rule is
//! described once.

use crate::findings::Code;

/// A parameter a policy file may set for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    /// `max_ttl`: seconds (a positive integer).
    MaxTtl,
    /// `administration_clients`: client names or ids (a list of strings).
    AdministrationClients,
}

impl Parameter {
    pub fn key(self) -> &'static str {
        match self {
            Parameter::MaxTtl => "max_ttl",
            Parameter::AdministrationClients => "administration_clients",
        }
    }
}

/// One rule.
#[derive(Debug)]
pub struct Rule {
    /// Its code; what it finds and its default severity are the code's
    /// ([`Code::meaning`], [`Code::severity`]).
    pub code: Code,
    /// Why it matters, for the README and SARIF's help text.
    pub rationale: &'static str,
    /// The specification section, e.g. "RFC 9700 §2.1.2".
    pub reference: &'static str,
    pub url: &'static str,
    pub parameters: &'static [Parameter],
}

/// Every security rule, in the order of the README.
pub const RULES: &[Rule] = &[
    Rule {
        code: Code::ImplicitGrant,
        rationale: "The implicit grant returns access tokens in the authorization response, where they leak through browser history, referrers and logs, and cannot be sender-constrained. Use `authorization_code` with PKCE.",
        reference: "RFC 9700 §2.1.2",
        url: "https://www.rfc-editor.org/rfc/rfc9700#section-2.1.2",
        parameters: &[],
    },
    Rule {
        code: Code::PasswordGrant,
        rationale: "The resource owner password credentials grant MUST NOT be used: it hands the user's credentials to the client and cannot support multi-factor or federated login.",
        reference: "RFC 9700 §2.4",
        url: "https://www.rfc-editor.org/rfc/rfc9700#section-2.4",
        parameters: &[],
    },
    Rule {
        code: Code::PublicClientWithoutPkce,
        rationale: "Public clients MUST use PKCE: without it, an authorization code intercepted on the way back to the app can be redeemed by anyone. boruta only enforces PKCE for clients with `pkce: true`.",
        reference: "RFC 9700 §2.1.1",
        url: "https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1",
        parameters: &[],
    },
    Rule {
        code: Code::PublicClientCredentials,
        rationale: "boruta checks the secret of a `client_credentials` request even when `confidential` is false, so a backend-only client is fine; but it checks no secret at all for a client with a `public_client_id`, and a public client that also serves a browser or native app ships a secret it cannot keep: anyone who extracts it gets tokens in the client's own name (should_check_secret?/2, lib/boruta/oauth/schemas/client.ex, boruta_auth 1587483).",
        reference: "RFC 6749 §4.4",
        url: "https://www.rfc-editor.org/rfc/rfc6749#section-4.4",
        parameters: &[],
    },
    Rule {
        code: Code::InsecureRedirectUri,
        rationale: "An authorization code or token sent over plain HTTP can be read and replayed by anyone on the path. Plain HTTP is acceptable only for loopback redirects of native apps.",
        reference: "RFC 6749 §3.1.2.1, RFC 8252 §8.3",
        url: "https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2.1",
        parameters: &[],
    },
    Rule {
        code: Code::LocalhostRedirectUri,
        rationale: "`localhost` is resolved by the device and may not be the loopback interface; native apps should listen on `127.0.0.1` or `[::1]` and register that literal.",
        reference: "RFC 8252 §8.3",
        url: "https://www.rfc-editor.org/rfc/rfc8252#section-8.3",
        parameters: &[],
    },
    Rule {
        code: Code::RedirectUriReused,
        rationale: "Two clients that share a redirect URI cannot be told apart by where the browser lands: a code meant for one reaches the other, and a compromise of one app's endpoint compromises both clients.",
        reference: "RFC 9700 §4.1",
        url: "https://www.rfc-editor.org/rfc/rfc9700#section-4.1",
        parameters: &[],
    },
    Rule {
        code: Code::JwtAuthWithoutKey,
        rationale: "boruta verifies a `private_key_jwt` assertion with the client's `jwt_public_key` and reads `jwks_uri` only after that key failed to verify it, so without `jwt_public_key` no assertion ever authenticates (lib/boruta/oauth/authorization/client.ex, boruta_auth 1587483 and cfdb52d).",
        reference: "RFC 7523 §2.2",
        url: "https://www.rfc-editor.org/rfc/rfc7523#section-2.2",
        parameters: &[],
    },
    Rule {
        code: Code::JwtAuthAlgMismatch,
        rationale: "boruta verifies `private_key_jwt` only with RS256/RS512 (RS384 too on master) and `client_secret_jwt` only with HS256/HS512 (HS384 too on master; 0.9 and 0.10 test for a misspelt `RS364`/`HS364`); the default `HS256` therefore makes `private_key_jwt` unusable (lib/boruta/oauth/authorization/client.ex, boruta_auth 1587483).",
        reference: "RFC 7523 §3",
        url: "https://www.rfc-editor.org/rfc/rfc7523#section-3",
        parameters: &[],
    },
    Rule {
        code: Code::SymmetricIdTokenOnPublicClient,
        rationale: "An HS* ID token is signed with the client secret; a public client cannot keep that secret, so anyone holding the app can forge ID tokens it will accept.",
        reference: "OpenID Connect Core §10.1",
        url: "https://openid.net/specs/openid-connect-core-1_0.html#Signing",
        parameters: &[],
    },
    Rule {
        code: Code::SecretAuthPreferredAsymmetric,
        rationale: "Asymmetric client authentication (`private_key_jwt`) keeps no shared secret on the server that can leak; it is recommended over client secrets.",
        reference: "RFC 9700 §2.5",
        url: "https://www.rfc-editor.org/rfc/rfc9700#section-2.5",
        parameters: &[],
    },
    Rule {
        code: Code::LongLivedAccessToken,
        rationale: "A stolen access token is usable until it expires; short-lived tokens limit the damage of a leak, with refresh tokens for long sessions.",
        reference: "RFC 6819 §5.1.5.3",
        url: "https://www.rfc-editor.org/rfc/rfc6819#section-5.1.5.3",
        parameters: &[Parameter::MaxTtl],
    },
    Rule {
        code: Code::AdminScopeGranted,
        rationale: "boruta's management scopes open its admin API: a client holding `clients:manage:all` can read every client's secret. Grant them only to the clients that administer boruta, and list those in the policy.",
        reference: "RFC 9700 §2.3",
        url: "https://www.rfc-editor.org/rfc/rfc9700#section-2.3",
        parameters: &[Parameter::AdministrationClients],
    },
];

/// The field-catalogue finding whose severity a policy file may also set.
pub const DEFAULT_GRANT_TYPES: Code = Code::DefaultGrantTypes;

/// The rule of `code`.
pub fn rule(code: Code) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}
