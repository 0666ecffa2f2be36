//! What `demo` does to the world around its steps: the manifests it demonstrates with (the
//! directory given, or the bundled examples written to a scratch directory removed however
//! the demo ends), a copy with a mistake, demo values for the secrets the examples read,
//! and the edit an administrator makes in boruta's UI. The steps themselves are the
//! commands a user types, run by the command line.

use crate::error::Error;
use crate::load::{Environment, ProcessEnv};
use crate::sandbox::Sandbox;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The client the demo's admin-UI edit changes, and the URI it adds.
pub const EDITED: &str = "storefront-spa";
pub const ADDED_URI: &str = "https://evil.example.net/cb";

/// The bundled examples, for when `demo` runs outside the repository.
const BUNDLED: [(&str, &str); 3] = [
    (
        "billing-api.yaml",
        include_str!("../../manifests/billing-api.yaml"),
    ),
    (
        "partner-portal.yml",
        include_str!("../../manifests/partner-portal.yml"),
    ),
    (
        "storefront-spa.yaml",
        include_str!("../../manifests/storefront-spa.yaml"),
    ),
];

/// The process environment, plus demo values for the secrets the examples reference.
pub struct DemoEnv(BTreeMap<String, String>);

impl DemoEnv {
    /// Random values for the examples' secrets.
    pub fn new() -> DemoEnv {
        let secret = || crate::sandbox::state::random_alphanumeric(40);
        DemoEnv(BTreeMap::from([
            ("BILLING_API_SECRET".to_string(), secret()),
            ("PARTNER_PORTAL_SECRET".to_string(), secret()),
        ]))
    }
}

impl Default for DemoEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Environment for DemoEnv {
    fn var(&self, name: &str) -> Option<String> {
        ProcessEnv.var(name).or_else(|| self.0.get(name).cloned())
    }
}

/// A directory removed when dropped, however the demo ends.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new directory under the system's temporary directory.
    pub fn new() -> Result<Scratch, Error> {
        let dir = std::env::temp_dir().join(format!(
            "boruta-gitops-demo-{}-{}",
            std::process::id(),
            crate::sandbox::state::random_alphanumeric(8)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    /// The manifests to demonstrate with: `dir`, or the bundled examples written here.
    pub fn manifests(&self, dir: &Path) -> Result<PathBuf, Error> {
        if dir.is_dir() {
            return Ok(dir.to_path_buf());
        }
        let copy = self.0.join("manifests");
        std::fs::create_dir_all(&copy)?;
        for (name, text) in BUNDLED {
            std::fs::write(copy.join(name), text)?;
        }
        Ok(copy)
    }

    /// A copy of the examples in which a redirect URI lost its `//` (boruta refuses it).
    pub fn with_a_mistake(&self) -> Result<PathBuf, Error> {
        let copy = self.0.join("with-a-mistake");
        std::fs::create_dir_all(&copy)?;
        for (name, text) in BUNDLED {
            let text = if name == "storefront-spa.yaml" {
                text.replace(
                    "https://shop.example.com/callback",
                    "https:shop.example.com/callback",
                )
            } else {
                text.to_string()
            };
            std::fs::write(copy.join(name), text)?;
        }
        Ok(copy)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What an administrator does in boruta's UI: adds [`ADDED_URI`] to the redirect URIs of
/// the managed client [`EDITED`]. False when there is no such client.
pub fn admin_ui_edit(sandbox: &Sandbox) -> bool {
    sandbox.with_state(|state| {
        let id = state
            .clients
            .iter()
            .find(|(_, c)| c.fields.get("name").and_then(|n| n.as_str()) == Some(EDITED))
            .map(|(id, _)| id.clone());
        let Some(id) = id else { return false };
        let mut uris = state.clients[&id].fields["redirect_uris"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        uris.push(serde_json::Value::String(ADDED_URI.into()));
        let body = serde_json::json!({"client": {"redirect_uris": uris}});
        // Through boruta's own update, as the UI does (its scopes are untouched: it has none).
        state.update_client(&id, &body).status == 200
    })
}
