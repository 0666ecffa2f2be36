//! boruta-gitops: manage the OAuth clients of a boruta server from YAML manifests in git.
//!
//! The pipeline, in module order:
//! `load` (files -> positioned YAML documents) -> `validate` (schema + boruta's `rules`
//! -> desired clients and findings) -> `fetch` (the admin API: one list call) -> `diff`
//! (desired vs observed) -> `plan` -> `apply` (creates only) -> `render`.
//! `sandbox` is a loopback imitation of boruta sharing `api` and `rules` with the client.
//! Only `cli` knows the order of the stages.

pub mod api;
pub mod apply;
pub mod cli;
pub mod diff;
pub mod error;
pub mod export;
pub mod fetch;
pub mod load;
pub mod model;
pub mod plan;
pub mod render;
pub mod rules;
pub mod sandbox;
pub mod schema;
pub mod source;
pub mod validate;
