//! OAuth clients: the manifest format (`manifest`), the field catalogue (`fields`) and
//! boruta's validation rules (`rules`, shared with the sandbox).

pub mod compare;
pub mod fields;
pub mod manifest;
pub mod record;
pub mod rules;
pub mod spec;
pub mod wire;

pub use compare::{Clients, SystemIds};
pub use record::ClientRecord;
pub use spec::ClientSpec;
