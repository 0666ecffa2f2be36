//! An environment's `select`: the manifests it gets, chosen before anything is
//! substituted (a manifest another environment gets may name variables this one lacks).
//! A document is chosen by its `name` (`*` globs) or id (explicit, or derived from the
//! name as validation derives it); in a configuration file, each list entry is.

use crate::kinds::client::manifest::derived_client_id;
use crate::kinds::scope::manifest::derived_scope_id;
use crate::source::{Node, NodeValue};

/// Keeps the selected part of a document: false when nothing of it is selected.
pub fn keep(root: &mut Node, patterns: &[String]) -> bool {
    let is_configuration = root.get("configuration").is_some() || root.get("version").is_some();
    if !is_configuration {
        let scope = root.get("kind").and_then(Node::as_str) == Some("Scope");
        return chosen(root, scope, patterns);
    }
    let NodeValue::Map(pairs) = &mut root.value else {
        return true;
    };
    for (key, configuration) in pairs.iter_mut() {
        if key.as_str() != Some("configuration") {
            continue;
        }
        let NodeValue::Map(sections) = &mut configuration.value else {
            continue;
        };
        for (section, list) in sections.iter_mut() {
            let scope = match section.as_str() {
                Some("client") => false,
                Some("scope") => true,
                _ => continue,
            };
            if let NodeValue::Seq(items) = &mut list.value {
                items.retain(|item| chosen(item, scope, patterns));
            }
        }
    }
    true
}

/// True when a pattern names this manifest.
fn chosen(manifest: &Node, scope: bool, patterns: &[String]) -> bool {
    let name = manifest.get("name").and_then(Node::as_str);
    let id = match (manifest.get("id").and_then(Node::as_str), name) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) if scope => derived_scope_id(name).to_string(),
        (None, Some(name)) => derived_client_id(name).to_string(),
        (None, None) => String::new(),
    };
    patterns
        .iter()
        .any(|pattern| crate::plan::selects(pattern, name, &id))
}
