//! Global key pairs in the sandbox (`GET /api/key-pairs`, `GET /api/key-pairs/{id}`) and
//! how a client gets a key: the key generation of boruta_auth's client schema
//! (`generate_key_pair`), shared by a create, `regenerate_key_pair` and a `key_pair_id`
//! the client already holds, and the copy of a global key pair into a client
//! (`insert_global_key_pair`, contract §4.4).
//!
//! Sources: boruta-server `apps/boruta_admin/lib/boruta_admin_web/controllers/
//! key_pair_controller.ex` and `views/key_pair_view.ex`, `apps/boruta_identity/lib/
//! boruta_identity/clients.ex` (3be6cb4f; identical at 0.9.0 and 0.10.5); boruta_auth
//! `lib/boruta/adapters/ecto/schemas/client.ex` (`key_pair_changeset`, `generate_key_pair`)
//! and `lib/boruta/adapters/ecto/admin/clients.ex` (`regenerate_client_key_pair`), the
//! same at cfdb52d and 1587483.

use super::state::{cast_error, cast_uuid, fake_public_key, not_found, Answer, KeyPair, State};
use crate::kinds::client::fields;
use crate::kinds::client::rules::{self, KeyGeneration};
use serde_json::{json, Map, Value};

/// The query boruta's `Repo.get!(KeyPair, id)` quotes in its 404.
const KEY_PAIRS_TABLE: &str = "BorutaAuth.KeyPairs.KeyPair";

fn render(id: &str, key_pair: &KeyPair) -> Value {
    json!({"id": id, "public_key": key_pair.public_key, "is_default": key_pair.is_default})
}

impl State {
    /// `GET /api/key-pairs`: every key pair, no pagination (`Repo.all(KeyPair)`).
    pub fn list_key_pairs(&self) -> Answer {
        let all = self
            .key_pairs
            .iter()
            .map(|(id, key_pair)| render(id, key_pair))
            .collect();
        Answer::data(200, Value::Array(all))
    }

    /// `GET /api/key-pairs/{id}`: 400 for a non-UUID id (the `binary_id` cast), 404 for an
    /// unknown one.
    pub fn show_key_pair(&self, raw_id: &str) -> Answer {
        match self.global_key_pair(&Value::String(raw_id.to_string())) {
            Ok((id, key_pair)) => Answer::data(200, render(&id, key_pair)),
            Err(answer) => answer,
        }
    }

    /// The global key pair a `key_pair_id` names (`KeyPairs.get_key_pair!`), or boruta's
    /// 400 / 404.
    #[allow(clippy::result_large_err)]
    pub(super) fn global_key_pair(&self, value: &Value) -> Result<(String, &KeyPair), Answer> {
        let raw = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let Some(id) = cast_uuid(&raw) else {
            return Err(cast_error(&raw));
        };
        match self.key_pairs.get(&id) {
            Some(key_pair) => Ok((id, key_pair)),
            None => Err(not_found(KEY_PAIRS_TABLE, &id)),
        }
    }

    /// boruta_identity's `insert_global_key_pair`, on a client already written: `null` is
    /// ignored; otherwise the key pair's keys are cast into the client as *changes*, so a
    /// client that already holds them gets no change, and `generate_key_pair` then makes a
    /// fresh key of the client's `key_pair_type` instead (contract §4.4).
    #[allow(clippy::result_large_err)]
    pub(super) fn insert_global_key_pair(
        &mut self,
        client_id: &str,
        value: Option<&Value>,
    ) -> Result<(), Answer> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let public_key = self.global_key_pair(value)?.1.public_key.clone();
        let Some(client) = self.clients.get_mut(client_id) else {
            return Ok(());
        };
        if client.fields.get("public_key").and_then(Value::as_str) == Some(public_key.as_str()) {
            let key_pair_type = client.fields.get("key_pair_type").cloned();
            let fresh = client_key(key_pair_type.as_ref())?;
            client.fields.insert("public_key".into(), fresh);
            client.fields.insert(
                "signatures_adapter".into(),
                Value::String(fields::INTERNAL_SIGNATURES.into()),
            );
        } else {
            client
                .fields
                .insert("public_key".into(), Value::String(public_key));
        }
        self.render_cache.remove(client_id);
        Ok(())
    }
}

/// boruta_auth's `generate_key_pair` for a client's `key_pair_type`: a new public key, or
/// the answer boruta gives when it cannot make one: 422 `private_key_type is invalid` (rsa
/// without `exponent_size` or with a modulus under 2048, ec without a curve, another
/// type), 500 when JOSE raises (ec `P-512`, an rsa exponent that is no integer), and for
/// `universal`, which needs the external DID registrar the sandbox does not have, 422
/// `Could not create did.` (`lib/boruta/did.ex`) as a boruta that cannot reach it answers.
#[allow(clippy::result_large_err)]
pub(super) fn client_key(key_pair_type: Option<&Value>) -> Result<Value, Answer> {
    let empty = Map::new();
    let key_pair_type = key_pair_type.and_then(Value::as_object).unwrap_or(&empty);
    match rules::key_generation(key_pair_type) {
        KeyGeneration::Possible => {
            let key_type = key_pair_type.get("type").and_then(Value::as_str);
            Ok(Value::String(fake_public_key(key_type.unwrap_or("rsa"))))
        }
        KeyGeneration::Impossible => Err(Answer::field_error(
            "private_key",
            "private_key_type is invalid",
        )),
        KeyGeneration::NeedsRegistrar => {
            Err(Answer::field_error("private_key", "Could not create did."))
        }
        KeyGeneration::Crashes => Err(Answer::crash(
            "key generation failed for the given key_pair_type",
        )),
    }
}
