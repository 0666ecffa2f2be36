//! OAuth scopes, the second managed kind: the manifest (`manifest`, `kind: Scope`), the
//! validated model (`spec`, which `validate::scope` builds), and how a scope compares with
//! the server's and becomes a request (`compare`). Scopes come first in [`super::ObjectKind::ALL`]: a client's
//! `authorized_scopes` may name a scope this run creates.

pub mod compare;
pub mod manifest;
pub mod spec;

pub use compare::Scopes;
pub use spec::ScopeSpec;
