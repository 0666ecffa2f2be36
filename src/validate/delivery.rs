//! `secret_delivery` (issue #21): allowed on confidential clients only, its location a
//! well-formed KV version 2 mount and path that plans may print (so never from a
//! sensitive origin), and no two clients delivering to the same secret (each apply would
//! overwrite the other's). Pure.

use super::Validated;
use crate::deliver::{Location, DEFAULT_MOUNT};
use crate::findings::Code;
use crate::kinds::client::manifest::SecretDelivery as Declared;
use crate::kinds::client::spec::{Pos, SecretDelivery};
use crate::source::{Diagnostic, Node, NodeValue, Origin};
use std::collections::{BTreeMap, BTreeSet};

/// The manifest key.
pub const KEY: &str = "secret_delivery";

/// The findings about one client's `secret_delivery` (the schema has checked its shape;
/// `reported` holds the top-level keys it found problems in).
pub fn check(node: &Node, reported: &BTreeSet<String>, out: &mut Validated) {
    let Some((key, _)) = node.entry(KEY) else {
        return;
    };
    let confidential = node
        .get("confidential")
        .is_some_and(|c| c.value == NodeValue::Bool(true));
    if !confidential {
        out.diagnostics.push(Diagnostic::new(
            Code::SecretDeliveryNotConfidential,
            "`secret_delivery` is allowed on confidential clients only: declare `confidential: true` (a public client has no secret to keep)",
            Some(key.loc.clone()),
        ));
    }
    if reported.contains(KEY) {
        return;
    }
    let (Some(path), mount) = (
        node.at_pointer("/secret_delivery/vault/path"),
        node.at_pointer("/secret_delivery/vault/mount"),
    ) else {
        return;
    };
    for part in [Some(path), mount].into_iter().flatten() {
        if part.sensitive() && part.origin != Origin::Unresolved {
            out.diagnostics.push(Diagnostic::new(Code::SubstitutionNotAllowed,
                "the `secret_delivery` location cannot come from the environment or from a file outside the manifest directory: plans print it, and such values are never printed",
                Some(part.loc.clone()),
            ));
            return;
        }
    }
    if [Some(path), mount]
        .into_iter()
        .flatten()
        .any(Node::any_unresolved)
    {
        return; // the loader reported it
    }
    let mount_text = mount.and_then(Node::as_str).unwrap_or(DEFAULT_MOUNT);
    let path_text = path.as_str().unwrap_or_default();
    if let Err(problem) = Location::new(mount_text, path_text) {
        // `Location::new` checks the mount first: the mount is at fault when it fails alone.
        let at = match (mount, Location::new(mount_text, "x")) {
            (Some(mount), Err(_)) => mount,
            _ => path,
        };
        out.diagnostics.push(Diagnostic::new(
            Code::InvalidValue,
            problem,
            Some(at.loc.clone()),
        ));
    }
}

/// The typed delivery of a manifest that passed [`check`].
pub fn typed(node: &Node, declared: Option<&Declared>) -> Option<SecretDelivery> {
    let vault = &declared?.vault;
    let mount = vault.mount.as_deref().unwrap_or(DEFAULT_MOUNT);
    let location = Location::new(mount, &vault.path).ok()?;
    let key = node.entry(KEY).map(|(k, _)| Pos::of(&k.loc))?;
    Some(SecretDelivery { location, key })
}

/// Two clients delivering to the same secret: the second is an error at its key.
pub fn check_across(out: &mut Validated) {
    let mut first: BTreeMap<&Location, &crate::kinds::client::ClientSpec> = BTreeMap::new();
    let mut findings = Vec::new();
    for client in &out.clients {
        let Some(delivery) = &client.secret_delivery else {
            continue;
        };
        match first.get(&delivery.location) {
            Some(other) => findings.push(Diagnostic::new(
                Code::DuplicateDeliveryPath,
                format!(
                    "`{}` is also the secret_delivery of `{}` at {}: each apply would overwrite the other's secret; give each client its own path",
                    delivery.location,
                    other.name,
                    other.location(other.secret_delivery.as_ref().map_or(other.at, |d| d.key))
                ),
                Some(client.location(delivery.key)),
            )),
            None => {
                first.insert(&delivery.location, client);
            }
        }
    }
    out.diagnostics.extend(findings);
}
