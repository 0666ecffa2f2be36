//! A scope manifest after validation: identity, the managed fields and where each sits in
//! its file. Later stages read only this.

use crate::kinds::client::manifest::Ensure;
use crate::source::Location;
use uuid::Uuid;

/// A field of a scope that may differ from the server (and be ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeField {
    Name,
    Label,
    Public,
}

impl ScopeField {
    /// Every field, in the order plans show them.
    pub const ALL: [ScopeField; 3] = [ScopeField::Name, ScopeField::Label, ScopeField::Public];

    /// The admin API's name.
    pub fn name(self) -> &'static str {
        match self {
            ScopeField::Name => "name",
            ScopeField::Label => "label",
            ScopeField::Public => "public",
        }
    }

    /// The field of that name.
    pub fn parse(name: &str) -> Option<ScopeField> {
        ScopeField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A validated scope manifest.
#[derive(Debug, Clone)]
pub struct ScopeSpec {
    pub id: Uuid,
    /// The manifest pins `id` (otherwise it is derived from the name).
    pub id_explicit: bool,
    pub name: String,
    /// `None`: not declared, so not managed; `Some(None)`: declared null.
    pub label: Option<Option<String>>,
    /// Declared, or the default `false`.
    pub public: bool,
    pub ensure: Ensure,
    /// Fields compared and shown, never counted nor updated.
    pub ignore_changes: Vec<ScopeField>,
    /// The document's start (the scope's place in every report).
    pub at: Location,
    /// Where each declared field's value is, and the `id` key's value.
    pub fields_at: Vec<(&'static str, Location)>,
}

impl ScopeSpec {
    /// Where a field (`id`, `name`, `label`, `public`) is declared, or the document start.
    pub fn locate(&self, field: &str) -> Location {
        self.fields_at
            .iter()
            .find(|(f, _)| *f == field)
            .map_or_else(|| self.at.clone(), |(_, at)| at.clone())
    }

    /// True when the scope must exist.
    pub fn present(&self) -> bool {
        self.ensure == Ensure::Present
    }
}
