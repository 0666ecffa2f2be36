//! `rotate` (issue #21): a new secret for each selected client, written to the secret store
//! first, then sent to boruta. boruta's admin API has no endpoint that regenerates a secret,
//! so the secret is generated here (`deliver::new_client_secret`, as boruta makes them).
//!
//! Store first: if its write fails, nothing changed anywhere. If boruta's `PATCH` then
//! fails, the store holds a secret boruta does not know yet: the run fails, `plan` shows
//! the delivery as outdated, and a re-run repairs it (`rotate` again, or `apply`, which
//! writes boruta's current secret back as the next version). Each write is a
//! check-and-set on the version the plan read.
//!
//! A client is refused (before anything is written) when its secret is declared in git
//! (it is git's to change), when it declares no `secret_delivery` (the new secret would
//! reach no application), or when it does not exist on the server yet.

use super::connect::ConnectionOptions;
use super::plan::{compute, Computed, Outcome as Planned};
use super::prepare::{Manifests, Prepared};
use crate::deliver::{new_client_secret, Location, SecretData};
use crate::diff::Action;
use crate::error::Error;
use crate::fetch::Updated;
use crate::kinds::client::fields::FieldId;
use crate::kinds::client::ClientSpec;
use crate::kinds::ObjectKind;
use crate::load::Environment;
use crate::plan::{Options, Purpose};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

/// A client whose secret is rotated.
#[derive(Debug, Clone)]
pub struct Rotating {
    pub id: String,
    pub name: String,
    /// Where its manifest is (`file:line`).
    pub place: String,
    pub location: Location,
}

/// A rotation ready to run, or why it will not.
pub struct Rotation {
    pub computed: Computed,
    pub clients: Vec<Rotating>,
    /// Why nothing will be done (one line per reason), if so.
    pub refusal: Option<Vec<String>>,
}

/// The first half of `rotate`.
pub enum Start {
    Invalid(Box<Prepared>),
    Ready(Box<Rotation>),
}

/// How one rotation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The store holds the new secret (this version), and so does boruta.
    Rotated { version: u64 },
    /// The store refused the new secret: nothing changed.
    StoreFailed(String),
    /// The store holds the new secret (this version), boruta does not.
    BorutaFailed { version: u64, reason: String },
    /// An earlier rotation failed: this one was not started.
    NotAttempted,
}

/// One client's rotation.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub client: Rotating,
    pub ended: Ended,
}

/// Computes the plan of the selected clients and decides which may be rotated; checks,
/// before anything is written, that the store's token may write every path.
pub fn prepare(
    manifests: &Manifests,
    connection: &ConnectionOptions,
    env: &dyn Environment,
    select: &[String],
    runtime: &tokio::runtime::Runtime,
) -> Result<Start, Error> {
    let options = Options {
        select: select.to_vec(),
        ..Options::default()
    };
    let outcome = runtime.block_on(compute(
        manifests,
        connection,
        env,
        &options,
        Purpose::Apply,
    ))?;
    let computed = match outcome {
        Planned::Planned(computed) => *computed,
        Planned::Invalid(prepared) => return Ok(Start::Invalid(prepared)),
    };
    let mut refused = Vec::new();
    let mut clients = Vec::new();
    for client in &computed.prepared.validated.clients {
        match rotatable(&computed, client) {
            Ok(rotating) => clients.push(rotating),
            Err(why) => refused.push(format!("`{}` ({}): {why}", client.name, client.id)),
        }
    }
    if clients.is_empty() && refused.is_empty() {
        refused.push("--select names no client (rotate rotates client secrets)".into());
    }
    if computed.refused() {
        refused.insert(0, "the plan of these clients has errors (see above)".into());
    }
    if refused.is_empty() {
        let ids: Vec<&str> = clients.iter().map(|c| c.id.as_str()).collect();
        if let Err(why) = runtime.block_on(computed.deliveries.check_writable(&ids)) {
            refused.push(why);
        }
    }
    Ok(Start::Ready(Box::new(Rotation {
        computed,
        clients,
        refusal: (!refused.is_empty()).then_some(refused),
    })))
}

/// The client as rotated, or why it may not be.
fn rotatable(computed: &Computed, client: &ClientSpec) -> Result<Rotating, String> {
    let id = client.id.to_string();
    if client.declares_secret() {
        return Err("its secret is declared in git (`secret:`), so it is git's to change: change the value it reads and run apply --update".into());
    }
    let Some(delivery) = &client.secret_delivery else {
        return Err("it declares no `secret_delivery`: a new secret would reach no application (declare one, then rotate)".into());
    };
    if client.absent() {
        return Err("it is declared absent (`ensure: absent`)".into());
    }
    let planned = computed.plan.clients.iter().find(|c| c.id == id);
    match planned.map(|p| p.action) {
        Some(Action::InSync | Action::Drift | Action::Resend) => {}
        Some(Action::Create) => {
            return Err(
                "it does not exist on the server yet: apply creates it and delivers its secret"
                    .into(),
            )
        }
        _ => return Err("its plan has an error (see above)".into()),
    }
    let place = client.location(client.name_at());
    Ok(Rotating {
        id,
        name: client.name.clone(),
        place: format!("{}:{}", place.file, place.line),
        location: delivery.location.clone(),
    })
}

/// Rotates each client in turn: store first, then boruta. The first failure stops the
/// rotations not started yet.
pub fn execute(rotation: &Rotation, runtime: &tokio::runtime::Runtime) -> Vec<Rotated> {
    let mut done = Vec::new();
    let mut failed = false;
    for client in &rotation.clients {
        let ended = if failed {
            Ended::NotAttempted
        } else {
            runtime.block_on(rotate_one(&rotation.computed, client))
        };
        failed |= !matches!(ended, Ended::Rotated { .. } | Ended::NotAttempted);
        done.push(Rotated {
            client: client.clone(),
            ended,
        });
    }
    done
}

/// One client: a new secret, written to the store (check-and-set), then to boruta.
async fn rotate_one(computed: &Computed, client: &Rotating) -> Ended {
    let deliveries = &computed.deliveries;
    let (Some(store), Some(target)) = (&deliveries.store, deliveries.targets.get(&client.id))
    else {
        return Ended::StoreFailed("no secret store is configured".into());
    };
    let secret = match new_client_secret() {
        Ok(secret) => secret,
        Err(e) => return Ended::StoreFailed(e.to_string()),
    };
    // boruta may quote a value it refuses: never this one.
    computed.connection.redact(secret.clone());
    let data = SecretData {
        client_id: client.id.clone(),
        client_secret: secret.clone(),
        token_endpoint: deliveries.token_endpoint.clone(),
    };
    let version = match store
        .write_cas(&client.location, &data, target.version)
        .await
    {
        Ok(version) => version,
        Err(e) => return Ended::StoreFailed(e.to_string()),
    };
    match patch(computed, client, &secret).await {
        Ok(()) => Ended::Rotated { version },
        Err(reason) => Ended::BorutaFailed { version, reason },
    }
}

/// Sends the new secret to boruta and checks that it holds it.
async fn patch(
    computed: &Computed,
    client: &Rotating,
    secret: &SecretString,
) -> Result<(), String> {
    let mut body = Map::new();
    body.insert(
        FieldId::Secret.name().into(),
        json!(secrecy::ExposeSecret::expose_secret(secret)),
    );
    let label = format!("`{}` ({})", client.name, client.id);
    let answer = computed
        .connection
        .update(ObjectKind::Client, &client.id, &body, &label)
        .await
        .map_err(|e| e.to_string())?;
    drop(body);
    let record = match answer {
        Updated::Saved(record) => record,
        Updated::NotFound => return Err("the client no longer exists on the server".into()),
        Updated::Rejected(errors) => {
            let parts: Vec<String> = errors
                .iter()
                .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
                .collect();
            return Err(format!(
                "boruta refused the update (422): {}",
                parts.join("; ")
            ));
        }
    };
    let held = record.get(FieldId::Secret.name()).and_then(Value::as_str);
    match held {
        Some(held) if super::deliver::same_secret(secret, held) => Ok(()),
        _ => Err(
            "boruta answered 200, but the client it rendered does not hold the new secret".into(),
        ),
    }
}

impl Rotation {
    /// The store's address.
    pub fn store_address(&self) -> Option<&str> {
        self.computed.deliveries.store_address()
    }

    /// What `rotate` does next: refuse, or rotate once approved (by `--auto-approve` or
    /// on the terminal).
    pub fn next(&self, auto_approve: bool, stdin_is_terminal: bool) -> super::Next<Vec<String>> {
        super::next(
            self.refusal.as_ref(),
            false,
            auto_approve,
            stdin_is_terminal,
        )
    }
}

/// True when every selected client's secret was rotated (the exit code is then 0).
pub fn all_rotated(done: &[Rotated]) -> bool {
    done.iter()
        .all(|r| matches!(r.ended, Ended::Rotated { .. }))
}
