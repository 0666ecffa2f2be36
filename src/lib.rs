//! boruta-gitops: manage the OAuth clients and scopes of boruta servers from YAML manifests
//! in git.
//!
//! The pipeline, in module order:
//! `load` (files -> positioned YAML documents) -> `validate` (schema, boruta's rules and
//! the security policy -> typed models of each object `kind`, and findings) -> `fetch` (the
//! admin API: one list call per kind) -> `diff` (desired vs observed, per kind) -> `plan`
//! -> `apply` (creates, updates, deletes, in dependency order) -> `render`. `export` runs
//! the other way (server -> manifests). `deliver` writes client secrets to the secret store
//! the applications read (Vault/OpenBao KV v2). `sandbox` is a loopback imitation of boruta sharing
//! `api` and the kinds' rules with the client. `commands` knows the order of the stages;
//! `cli` only turns flags into its options and its results into output.

// Vocabulary shared by every stage.
pub mod source;
pub mod findings;
pub mod sync;
pub mod bounded;
pub mod escape;
pub mod kinds;
pub mod api;
pub mod error;
// The allocator every binary of the crate uses.
pub mod memory;

// The stages, in pipeline order (`env` chooses the server and the variables first).
pub mod env;
pub mod load;
pub mod schema;
pub mod policy;
pub mod validate;
pub mod fetch;
pub mod deliver;
pub mod diff;
pub mod plan;
pub mod apply;
pub mod export;
pub mod render;
pub mod commands;

// Continuous reconciliation: the same commands, in a loop, with endpoints and metrics.
pub mod serve;

// The imitation of boruta, and the command line that runs everything.
pub mod sandbox;
pub mod cli;
