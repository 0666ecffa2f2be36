//! boruta-gitops: manage the OAuth clients of a boruta server from YAML manifests in git.
//!
//! The pipeline, in module order:
//! `load` (files -> positioned YAML documents) -> `validate` (schema + boruta's `rules`
//! -> desired clients and findings) -> `fetch` (the admin API: one list call) -> `diff`
//! (desired vs observed) -> `plan` -> `apply` (creates only) -> `render`.
//! `export` runs the other way (server -> manifests). `sandbox` is a loopback imitation of
//! boruta sharing `api` and `rules` with the client. Only `cli` knows the order of the stages.

// Vocabulary shared by every stage.
pub mod source;
pub mod findings;
pub mod sync;
pub mod bounded;
pub mod escape;
pub mod kinds;
pub mod api;
pub mod error;

// The stages, in pipeline order.
pub mod load;
pub mod schema;
pub mod policy;
pub mod validate;
pub mod fetch;
pub mod diff;
pub mod plan;
pub mod apply;
pub mod export;
pub mod render;
pub mod commands;

// The imitation of boruta, and the command line that runs everything.
pub mod sandbox;
pub mod cli;
