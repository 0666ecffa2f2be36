//! The kinds of object boruta-gitops manages, one folder each: the manifest's types (for
//! the schema), the field catalogue, boruta's own rules, the typed model a manifest is
//! validated into, the typed record the server's answer is read into, and how the two
//! compare and become requests. The stages after validation (`diff`, `plan`, `apply`,
//! `render`) are generic over [`Kind`]: they never name a kind's fields.
//!
//! Kinds are ordered by dependency ([`ObjectKind::ALL`]): an object is created and updated
//! after the objects it references (a client's scopes), and deleted before them.

pub mod client;
pub mod scope;

use crate::diff::ObjectDiff;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which kind an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Scope,
    Client,
}

impl ObjectKind {
    /// Every kind, in dependency order: referenced kinds first.
    pub const ALL: [ObjectKind; 2] = [ObjectKind::Scope, ObjectKind::Client];

    /// True for clients (which plan documents leave unlabelled).
    pub fn is_client(&self) -> bool {
        *self == ObjectKind::Client
    }

    /// The word used in messages (`client`).
    pub fn noun(self) -> &'static str {
        match self {
            ObjectKind::Scope => "scope",
            ObjectKind::Client => "client",
        }
    }

    /// The admin API collection (`/api/clients`).
    pub fn collection(self) -> &'static str {
        match self {
            ObjectKind::Scope => "/api/scopes",
            ObjectKind::Client => "/api/clients",
        }
    }

    /// The key of the write envelope (`{"client": {...}}`).
    pub fn envelope(self) -> &'static str {
        self.noun()
    }

    /// The scope boruta requires to write objects of this kind (contract §1.2, §1.3).
    pub fn write_scope(self) -> &'static str {
        match self {
            ObjectKind::Scope => crate::api::SCOPE_SCOPES,
            ObjectKind::Client => crate::api::SCOPE_CLIENTS,
        }
    }
}

impl Default for ObjectKind {
    /// Documents without `kind`, and plan entries written before scopes existed, are
    /// clients.
    fn default() -> Self {
        ObjectKind::Client
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// An object kind: how its validated manifests compare with the server's records.
pub trait Kind {
    const KIND: ObjectKind;
    /// A validated manifest.
    type Spec: Sync;
    /// A server object.
    type Record: Sync;
    /// What a comparison reads besides the two (name lookups, the server's version).
    type Context<'a>: Sync
    where
        Self: 'a;

    /// The manifest's id (lower case) and name, which identify it in every report.
    fn identity(spec: &Self::Spec) -> (String, &str);
    /// The record's id (lower case) and name.
    fn record_identity(record: &Self::Record) -> (&str, Option<&str>);
    /// Compares one manifest with the server: `record` is the server object of its id,
    /// `namesakes` the ids of server objects with its name when none has its id. Returns
    /// the comparison and the findings it raised.
    fn compare(
        spec: &Self::Spec,
        record: Option<&Self::Record>,
        namesakes: &[&str],
        context: &Self::Context<'_>,
    ) -> (ObjectDiff, Vec<crate::source::Diagnostic>);
    /// Which system object a record no manifest declares is, if it is one.
    fn system(
        record: &Self::Record,
        context: &Self::Context<'_>,
    ) -> Option<crate::diff::SystemKind>;
}
