//! Integration tests: the real binary, run on real files (and, for the server commands,
//! against the real sandbox over real HTTP on loopback). One test binary, many modules.

mod apply;
mod boundaries;
mod comment;
mod converge;
mod conventions;
mod deliver;
mod demo;
mod environments;
mod export;
mod fakes;
mod help;
mod hostile;
mod install;
mod newcomer;
mod openapi;
mod openbao;
mod plan;
mod policy;
mod readme;
mod reliability;
mod runner;
mod sandbox;
mod sandbox_scopes;
mod schema;
mod scopes;
mod secrets;
mod support;
mod tls;
mod untrusted;
mod validate;
mod versions;
mod writeonly;
mod workflows;
