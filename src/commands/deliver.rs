//! Secret delivery in `plan`, `drift`, `apply` and `rotate` (issue #21): the manifests'
//! `secret_delivery` joined with the plan and the secret store (`deliver`, which knows
//! nothing of manifests or boruta).
//!
//! A plan reads each delivery path of the clients it covers (only when some manifest
//! declares one: no store is needed otherwise) and compares it, by digest, with the secret
//! boruta will hold once apply is done: the server's, or the one an update sends. A path
//! that cannot be read is an error of the plan (`delivery-unreadable`): apply could not
//! check it before writing to boruta, so a plan that says nothing of it would promise
//! less than apply does. Before any boruta write, apply checks that the token may write
//! every path it will write; then it writes each one with check-and-set on the version
//! the plan read, so a newer version written meanwhile is never replaced.

use crate::apply::{DeliveryResult, FollowUp};
use crate::deliver::{
    compare, Current, Delivery, Expected, KvClient, Location, SecretData, SecretDigest, StoreError,
    StoreSettings, Write,
};
use crate::diff::{Action, Diff, Observed};
use crate::findings::Code;
use crate::kinds::client::fields::FieldId;
use crate::kinds::client::ClientSpec;
use crate::kinds::ObjectKind;
use crate::plan::{DeliveryPlan, DeliveryState, Plan};
use crate::source::Diagnostic;
use secrecy::SecretString;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Paths read at once.
const READS_IN_FLIGHT: usize = 8;

/// The store and what a plan found at each delivery path.
#[derive(Default)]
pub struct Deliveries {
    /// The store's client, when some planned client declares a delivery and the VAULT_*
    /// settings are usable.
    pub store: Option<Arc<KvClient>>,
    /// `BORUTA_TOKEN_URL`, written next to the secret when known.
    pub token_endpoint: Option<String>,
    /// By client id.
    pub targets: HashMap<String, Target>,
}

/// One client's delivery.
pub struct Target {
    pub location: Location,
    pub state: DeliveryState,
    /// The latest version when read (0: none): the check-and-set of the next write.
    pub version: u64,
    /// The path holds a version (deleted or not): a write needs `update`, else `create`.
    pub exists: bool,
    /// The secret boruta will hold once apply is done, when known before it runs (an
    /// existing client's): what a re-delivery writes.
    secret: Option<SecretString>,
}

impl Deliveries {
    /// The store's address, when there is a store.
    pub fn store_address(&self) -> Option<&str> {
        self.store.as_deref().map(KvClient::address)
    }

    /// The step after a client's boruta write (or alone) that delivers its secret, when
    /// its delivery is to be written. `declared` is the manifest's secret, the fallback
    /// when boruta's answer holds none.
    pub fn follow_up(&self, id: &str, declared: Option<SecretString>) -> Option<FollowUp> {
        let target = self.targets.get(id).filter(|t| t.state.writes())?;
        let store = self.store.clone()?;
        let location = target.location.clone();
        let cas = target.version;
        let fallback = target.secret.clone().or(declared);
        let (client_id, token_endpoint) = (id.to_string(), self.token_endpoint.clone());
        Some(Arc::new(move |answered: Option<SecretString>| {
            let (store, location) = (store.clone(), location.clone());
            let data = answered
                .or_else(|| fallback.clone())
                .map(|secret| SecretData {
                    client_id: client_id.clone(),
                    client_secret: secret,
                    token_endpoint: token_endpoint.clone(),
                });
            Box::pin(async move { write(&store, location, cas, data).await })
        }))
    }

    /// Before any boruta write: the store answers and the token may write each of
    /// `ids`' paths. The error names the store and every path it may not write.
    pub async fn check_writable(&self, ids: &[&str]) -> Result<(), String> {
        let writes: Vec<Write> = ids
            .iter()
            .filter_map(|id| self.targets.get(*id))
            .map(|t| Write {
                location: t.location.clone(),
                exists: t.exists,
            })
            .collect();
        if writes.is_empty() {
            return Ok(());
        }
        let Some(store) = &self.store else {
            return Err("no secret store is configured (VAULT_ADDR, VAULT_TOKEN)".into());
        };
        let refusals = store
            .check_writable(&writes)
            .await
            .map_err(|e| e.to_string())?;
        if refusals.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = refusals.iter().map(|r| format!("  - {r}")).collect();
        Err(format!(
            "the secret store at {} would refuse {} delivery write(s):\n{}",
            store.address(),
            refusals.len(),
            lines.join("\n")
        ))
    }
}

/// Writes one delivery, check-and-set on `cas`.
async fn write(
    store: &KvClient,
    location: Location,
    cas: u64,
    data: Option<SecretData>,
) -> DeliveryResult {
    let mut result = DeliveryResult {
        location: location.to_string(),
        delivered: false,
        version: None,
        reason: None,
    };
    let Some(data) = data else {
        result.reason = Some("boruta's answer held no secret to deliver".into());
        return result;
    };
    match store.write_cas(&location, &data, cas).await {
        Ok(version) => {
            result.delivered = true;
            result.version = Some(version);
        }
        Err(e) => result.reason = Some(e.to_string()),
    }
    result
}

/// The store's client, from the VAULT_* settings, when some client declares a delivery
/// (read before the first network call: the settings come from the environment).
pub fn store_for(
    clients: &[ClientSpec],
    env: &dyn crate::load::Environment,
) -> Option<Result<KvClient, StoreError>> {
    clients
        .iter()
        .any(|c| c.secret_delivery.is_some())
        .then(|| StoreSettings::from_env(env).and_then(|s| KvClient::new(&s)))
}

/// What a survey needs of the run.
pub struct Survey<'a> {
    pub clients: &'a [ClientSpec],
    pub diff: &'a Diff,
    pub observed: &'a Observed,
    pub store: Option<Result<KvClient, StoreError>>,
    pub token_endpoint: Option<String>,
}

/// A client to survey: its delivery and the secret it should hold (none for a create).
struct Wanted<'a> {
    client: &'a ClientSpec,
    location: Location,
    create: bool,
    secret: Result<Option<SecretString>, String>,
}

/// Reads each delivery path of the planned clients, records what it found in the plan,
/// and returns the deliveries with a `delivery-unreadable` error per path that could not
/// be checked.
pub async fn survey(survey: Survey<'_>, plan: &mut Plan) -> (Deliveries, Vec<Diagnostic>) {
    let wanted = wanted(&survey, plan);
    let mut deliveries = Deliveries {
        token_endpoint: survey.token_endpoint.clone(),
        ..Deliveries::default()
    };
    if wanted.is_empty() {
        return (deliveries, Vec::new());
    }
    let store = match survey.store {
        Some(Ok(store)) => Ok(Arc::new(store)),
        Some(Err(e)) => Err(e),
        None => Err(StoreError::Config("no secret store is configured".into())),
    };
    let reads = match &store {
        Ok(store) => read_all(store, &wanted).await,
        Err(e) => wanted
            .iter()
            .map(|w| (w.location.clone(), Err(e.clone())))
            .collect(),
    };
    deliveries.store = store.ok();
    let mut findings = Vec::new();
    for want in wanted {
        let read = &reads[&want.location];
        let (state, detail) = state_of(&want, read, deliveries.token_endpoint.as_deref());
        if state == DeliveryState::Unreadable {
            findings.push(Diagnostic::new(
                Code::DeliveryUnreadable,
                format!(
                    "the secret delivery of `{}` to {} cannot be checked: {}",
                    want.client.name,
                    want.location,
                    detail.as_deref().unwrap_or_default()
                ),
                want.client
                    .secret_delivery
                    .as_ref()
                    .map(|d| want.client.location(d.key)),
            ));
        }
        let id = want.client.id.to_string();
        if state == DeliveryState::Unreadable {
            // apply refuses to write a client whose delivery it cannot check: the plan
            // must not promise the write (it says blocked, and why, on the delivery line).
            plan.block(&id);
        }
        let current = read.as_ref().ok().and_then(Option::as_ref);
        plan.set_delivery(
            &id,
            DeliveryPlan {
                mount: want.location.mount().to_string(),
                path: want.location.path().to_string(),
                state,
                detail,
            },
        );
        deliveries.targets.insert(
            id,
            Target {
                location: want.location,
                state,
                version: current.map_or(0, |c| c.version),
                exists: current.is_some(),
                secret: want.secret.ok().flatten(),
            },
        );
    }
    (deliveries, findings)
}

/// The planned clients that declare a delivery apply may write: present, neither a
/// conflict nor blocked, with the secret boruta will hold once apply is done.
fn wanted<'a>(survey: &Survey<'a>, plan: &Plan) -> Vec<Wanted<'a>> {
    // Usually none declares one: no index of 100,000 entries to build for nothing.
    if survey.clients.iter().all(|c| c.secret_delivery.is_none()) {
        return Vec::new();
    }
    let entries = survey.diff.by_identity();
    let actions: HashMap<&str, Action> = plan
        .clients
        .iter()
        .map(|c| (c.id.as_str(), c.action))
        .collect();
    let mut out = Vec::new();
    for client in survey.clients {
        let Some(delivery) = &client.secret_delivery else {
            continue;
        };
        let id = client.id.to_string();
        let action = actions.get(id.as_str()).copied();
        let secret = match action {
            Some(Action::Create) => Ok(None),
            Some(Action::InSync | Action::Drift | Action::Update | Action::Resend) => {
                let entry = entries.get(&(ObjectKind::Client, id.as_str()));
                let sent = entry
                    .and_then(|e| e.update.as_ref())
                    .filter(|_| action == Some(Action::Update))
                    .and_then(|u| u.body.get(FieldId::Secret.name()))
                    .and_then(|s| s.as_str());
                let held = || {
                    let record = survey.observed.clients.iter().find(|r| r.id == id)?;
                    record.get(FieldId::Secret)?.as_str().map(str::to_string)
                };
                match sent.map(str::to_string).or_else(held) {
                    Some(secret) => Ok(Some(SecretString::from(secret))),
                    None => Err("boruta's record of the client holds no secret".to_string()),
                }
            }
            _ => continue,
        };
        out.push(Wanted {
            client,
            location: delivery.location.clone(),
            create: action == Some(Action::Create),
            secret,
        });
    }
    out
}

/// What a read found, by location.
type Reads = BTreeMap<Location, Result<Option<Current>, StoreError>>;

/// Reads every location: each mount checked once first (a store that is down, or a
/// mount that is not KV version 2, fails every path under it without a read each), then
/// the paths, a few at a time.
async fn read_all(store: &Arc<KvClient>, wanted: &[Wanted<'_>]) -> Reads {
    let mut reads = Reads::new();
    let mut mounts: BTreeMap<&str, Result<(), StoreError>> = BTreeMap::new();
    for want in wanted {
        let mount = want.location.mount();
        if !mounts.contains_key(mount) {
            mounts.insert(mount, store.check_mount(mount).await);
        }
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(READS_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for want in wanted {
        let location = want.location.clone();
        if let Err(e) = &mounts[location.mount()] {
            reads.insert(location, Err(e.clone()));
            continue;
        }
        if reads.contains_key(&location) {
            continue;
        }
        let (store, semaphore) = (store.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let read = store.read(&location).await;
            (location, read)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((location, read)) => {
                reads.insert(location, read);
            }
            Err(e) => tracing::warn!("a read of the secret store stopped: {e}"),
        }
    }
    // A read whose task stopped is unreadable, never silently missing.
    for want in wanted {
        reads.entry(want.location.clone()).or_insert_with(|| {
            Err(StoreError::Config(
                "the read stopped before it answered".into(),
            ))
        });
    }
    reads
}

/// The state of one delivery, and its detail.
fn state_of(
    want: &Wanted<'_>,
    read: &Result<Option<Current>, StoreError>,
    token_endpoint: Option<&str>,
) -> (DeliveryState, Option<String>) {
    if let Err(e) = read {
        return (DeliveryState::Unreadable, Some(e.to_string()));
    }
    let secret = match &want.secret {
        _ if want.create => return (DeliveryState::WithCreate, None),
        Ok(Some(secret)) => secret,
        Ok(None) => return (DeliveryState::WithCreate, None),
        Err(reason) => return (DeliveryState::Unreadable, Some(reason.clone())),
    };
    let id = want.client.id.to_string();
    let expected = Expected {
        client_id: &id,
        secret: SecretDigest::of(secret),
        token_endpoint,
    };
    match compare(read, &expected) {
        Delivery::InSync => (DeliveryState::InSync, None),
        Delivery::Missing => (DeliveryState::Missing, Some(Delivery::Missing.describe())),
        outdated @ Delivery::Outdated(_) => (DeliveryState::Outdated, Some(outdated.describe())),
        Delivery::Unreadable(reason) => (DeliveryState::Unreadable, Some(reason)),
    }
}

/// The manifest's secret, if it declares one.
pub fn declared_secret(client: &ClientSpec) -> Option<SecretString> {
    let declared = client.get(FieldId::Secret)?;
    declared
        .value
        .as_str()
        .map(|s| SecretString::from(s.to_string()))
}

/// Whether `a` and `b` hold the same secret (by digest).
pub fn same_secret(a: &SecretString, b: &str) -> bool {
    SecretDigest::of(a) == SecretDigest::of_text(b)
}
