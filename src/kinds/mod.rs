//! The kinds of object boruta-gitops manages, one folder each: the manifest's types (for
//! the schema), the field catalogue, boruta's own rules, the typed model a manifest is
//! validated into, and how it compares with and is written to the server.

pub mod client;
