//! Policy: judgements beyond boruta's own rules. The security rules (`catalogue`,
//! `rules`), the policy file that sets their severities and parameters (`file`), and the
//! waivers that accept a finding with a reason (`waivers`). Pure: works on validated
//! clients, parsed YAML and findings.

pub mod catalogue;
pub mod file;
pub mod rules;
pub mod waivers;

pub use file::Policy;
