//! Desired (git) against observed (server), for every object kind: each manifest is
//! `create`, `in-sync`, `drift` with the differing fields, `delete`/`absent` when declared
//! absent, or `conflict`; server objects no manifest declares are `unmanaged` (system
//! objects labelled). Pure: no I/O.
//!
//! The comparison of one manifest with its server object is the kind's
//! ([`Kind::compare`]); this module pairs them by id, runs the comparisons on every core,
//! keeps the results keyed by each object's identity (in manifest order), and turns a
//! comparison that panics into an error naming the object, never a silently missing entry.

pub mod same;

use crate::kinds::client::ClientRecord;
use crate::kinds::{Kind, ObjectKind};
use crate::source::{Diagnostic, Location};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// What the server holds.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub clients: Vec<ClientRecord>,
    /// The global key pairs, when some manifest declares `key_pair_id`, or why they could
    /// not be read.
    pub key_pairs: Option<Result<Vec<crate::api::KeyPair>, String>>,
    /// Present when some manifest declares `authorized_scopes`.
    pub scopes: Option<Vec<Map<String, Value>>>,
    /// Present when some manifest names an identity provider.
    pub identity_providers: Option<Vec<Map<String, Value>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    /// A drifted client `apply --update` puts back (decided by the plan, from `Drift`).
    Update,
    /// A client declared `lifecycle: {ensure: absent}` that exists.
    Delete,
    InSync,
    Drift,
    Conflict,
    /// Declared absent, and absent.
    Absent,
    /// In sync on every field boruta renders; `apply --update` re-sends the declared
    /// write-only fields, which boruta never renders back and so cannot be compared.
    Resend,
    /// A create, update, delete or re-send that cannot be made (boruta would refuse it, or
    /// the plan's options do not allow it): shown with its reason, never performed.
    Blocked,
}

/// Whether an existing client holds the key of the global key pair its manifest names
/// (`key_pair_id`). boruta rotates a client's key to a fresh random one when it is sent
/// the key pair it already holds (contract §4.4), so `key_pair_id` is only sent when the
/// client does not hold that key, or when the user asks and it cannot be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyPairCheck {
    /// The client's public key is the key pair's: not sent.
    Held,
    /// The client's public key is another: sent (boruta copies the key pair's keys).
    NotHeld,
    /// The key pairs could not be read: not sent.
    Unverifiable,
    /// Could not be checked, and `--send-key-pair-id` asks for it: sent.
    Asked,
}

impl KeyPairCheck {
    /// True when an update sends `key_pair_id`.
    pub fn sends(self) -> bool {
        matches!(self, KeyPairCheck::NotHeld | KeyPairCheck::Asked)
    }
}

/// One differing (or, for a create, declared) field. Values are display values: a
/// sensitive value is never here (`sensitive` is set and the values are null).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub server: Value,
    pub desired: Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// Listed in `lifecycle.ignore_changes`: shown, never counted nor updated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretState {
    Changed,
    Unchanged,
    /// Declared, and the client does not exist yet.
    Set,
    /// Changed, but `lifecycle.ignore_changes` lists `secret`.
    Ignored,
}

/// What `apply --update` would send for a drifted client.
#[derive(Debug, Clone)]
pub struct UpdatePlan {
    /// The `PATCH` body: the changed declared fields, and always the complete
    /// `authorized_scopes` (boruta replaces them on every update, clearing them when
    /// absent). Contains secrets: never rendered.
    pub body: Map<String, Value>,
    /// `key_pair_type` changes: boruta keeps the old key until `regenerate_key_pair`.
    pub regenerate_key_pair: bool,
    /// Why boruta would refuse this update (its update rules, run on the body against the
    /// server's record; a system client): errors at the offending values.
    pub refusals: Vec<Diagnostic>,
}

/// The comparison of one manifest with the server.
#[derive(Debug, Clone)]
pub struct ObjectDiff {
    pub kind: ObjectKind,
    pub id: String,
    pub name: String,
    pub location: Location,
    pub action: Action,
    pub fields: Vec<FieldChange>,
    pub secret: Option<SecretState>,
    /// Declared fields the server never renders back (they cannot be compared).
    pub unverifiable: Vec<String>,
    /// Of those, what an update of the existing object sends: git's values, re-asserted.
    pub resend: Vec<FieldChange>,
    /// For a client declaring `key_pair_id`: whether it holds that key pair's key.
    pub key_pair: Option<KeyPairCheck>,
    /// The comparison found an error about this object (an unknown identity provider, a
    /// key pair that does not exist): whatever it would do is blocked.
    pub blocked: bool,
    /// sha256 of the server's record, or of its absence, for objects the plan touches
    /// (not in sync); a saved plan is refused when it no longer matches.
    pub fingerprint: Option<String>,
    /// The request body a create would send (contains secrets: never rendered).
    pub create_body: Map<String, Value>,
    /// For a conflict: the server client that has this name.
    pub conflicting_id: Option<String>,
    /// For an existing object that drifted or has write-only fields: the update.
    pub update: Option<UpdatePlan>,
    /// What else the action does, said under the object in every format (a scope delete
    /// also deletes users' grants).
    pub notes: Vec<String>,
}

impl ObjectDiff {
    /// A comparison not made yet: a create, with nothing else known.
    pub fn new(kind: ObjectKind, id: String, name: String, location: Location) -> ObjectDiff {
        ObjectDiff {
            kind,
            id,
            name,
            location,
            action: Action::Create,
            fields: Vec::new(),
            secret: None,
            unverifiable: Vec::new(),
            resend: Vec::new(),
            key_pair: None,
            blocked: false,
            fingerprint: None,
            create_body: Map::new(),
            conflicting_id: None,
            update: None,
            notes: Vec::new(),
        }
    }
}

/// A server object that belongs to boruta or to this run: never changed, never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    AdminUi,
    PublicClient,
    /// The client whose credentials this run uses.
    ThisTool,
    /// A scope boruta's seeds create (the management scopes, `openid`, `email`,
    /// `profile`), unless git declares it.
    BuiltInScope,
}

impl SystemKind {
    /// How it is named in messages.
    pub fn label(self) -> &'static str {
        match self {
            SystemKind::AdminUi => "admin UI client",
            SystemKind::PublicClient => "boruta's public client",
            SystemKind::ThisTool => "the client this run authenticates as",
            SystemKind::BuiltInScope => "boruta's built-in scope",
        }
    }
}

/// A server object no manifest declares.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unmanaged {
    #[serde(default, skip_serializing_if = "ObjectKind::is_client")]
    pub kind: ObjectKind,
    pub id: String,
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemKind>,
}

/// The result of comparing everything.
#[derive(Debug, Default)]
pub struct Diff {
    /// One entry per manifest, in manifest order, for every kind.
    pub objects: Vec<ObjectDiff>,
    pub unmanaged: Vec<Unmanaged>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Diff {
    /// Adds the comparison of one kind.
    pub fn extend(&mut self, other: Diff) {
        // Into an empty diff (the usual first kind): moved, not copied.
        fn append<T>(to: &mut Vec<T>, from: Vec<T>) {
            if to.is_empty() {
                *to = from;
            } else {
                to.extend(from);
            }
        }
        append(&mut self.objects, other.objects);
        append(&mut self.unmanaged, other.unmanaged);
        append(&mut self.diagnostics, other.diagnostics);
    }

    /// The entries by kind and id (an index: lookups by identity, never by position).
    pub fn by_identity(&self) -> std::collections::HashMap<(ObjectKind, &str), &ObjectDiff> {
        self.objects
            .iter()
            .map(|o| ((o.kind, o.id.as_str()), o))
            .collect()
    }
}

/// Canonical JSON (object keys sorted) so equal records hash equally.
pub fn canonical(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let sorted: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::to_value(sorted).unwrap_or(Value::Null)
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

/// The fingerprint of the absence of object `id` on the server.
pub fn absence(id: &str) -> String {
    digest(&format!("absent:{id}"))
}

/// sha256 of a text, hex.
pub fn digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hex (a formatter per byte is slow for 100,000 fingerprints).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// A comparison that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("comparing {kind} `{name}` ({id}) with the server failed: {reason} (this is a bug in boruta-gitops: please report it)")]
pub struct DiffError {
    pub kind: ObjectKind,
    pub id: String,
    pub name: String,
    pub reason: String,
}

/// Compares every manifest of kind `K` with the server's records. Large sets use every
/// core; results keep the manifests' order whatever the thread count.
pub fn compare<K: Kind>(
    specs: &[K::Spec],
    records: &[K::Record],
    context: &K::Context<'_>,
) -> Result<Diff, DiffError> {
    // Hashed: 100,000 ids are looked up once each, in no order. The index of the last
    // record of an id (the one a manifest of that id is compared with).
    let mut duplicated = false;
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        duplicated |= by_id.insert(K::record_identity(record).0, i).is_some();
    }
    // Read only for a manifest whose id the server lacks: built then, once.
    let by_name = std::sync::OnceLock::new();
    let one = |spec: &K::Spec| -> Result<(ObjectDiff, Vec<Diagnostic>, Option<usize>), DiffError> {
        let (id, name) = K::identity(spec);
        let found = by_id.get(id.as_str()).copied();
        let record = found.map(|i| &records[i]);
        let namesakes: &[&str] = match record {
            None => by_name
                .get_or_init(|| names::<K>(records))
                .get(name)
                .map_or(&[], Vec::as_slice),
            Some(_) => &[],
        };
        let run = || K::compare(spec, record, namesakes, context);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            Ok((entry, diagnostics)) => Ok((entry, diagnostics, found)),
            Err(panic) => Err(DiffError {
                kind: K::KIND,
                id: id.clone(),
                name: name.to_string(),
                reason: panic_message(panic.as_ref()),
            }),
        }
    };
    let results = in_parallel(specs, one);
    let mut out = Diff::default();
    out.objects.reserve_exact(results.len());
    // Whether some manifest declares the record's id (by its index in `by_id`).
    let mut declared = vec![false; records.len()];
    for result in results {
        let (entry, diagnostics, found) = result?;
        if let Some(i) = found {
            declared[i] = true;
        }
        out.objects.push(entry);
        out.diagnostics.extend(diagnostics);
    }
    // A server object some manifest conflicts with is reported by that conflict, not
    // counted a second time as unmanaged.
    for conflicting in out
        .objects
        .iter()
        .filter_map(|o| o.conflicting_id.as_deref())
    {
        if let Some(&i) = by_id.get(conflicting) {
            declared[i] = true;
        }
    }
    for (i, record) in records.iter().enumerate() {
        let (id, name) = K::record_identity(record);
        // Records of one id share the mark of the last of them.
        let at = if duplicated { by_id[id] } else { i };
        if !declared[at] {
            out.unmanaged.push(Unmanaged {
                kind: K::KIND,
                id: id.to_string(),
                name: name.map(str::to_string),
                system: K::system(record, context),
            });
        }
    }
    // The server lists in no particular order; reports must be stable.
    out.unmanaged.sort_by(|a, b| {
        (a.system.is_some(), &a.name, &a.id).cmp(&(b.system.is_some(), &b.name, &b.id))
    });
    Ok(out)
}

/// The ids of the records of each name, in the server's order.
fn names<K: Kind>(records: &[K::Record]) -> HashMap<&str, Vec<&str>> {
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for record in records {
        if let (id, Some(name)) = K::record_identity(record) {
            by_name.entry(name).or_default().push(id);
        }
    }
    by_name
}

/// `one` of every item, in order, on up to 8 threads when there are many.
fn in_parallel<T: Sync, R: Send>(items: &[T], one: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = if items.len() < 512 {
        items.len().max(1)
    } else {
        items.len().div_ceil(threads)
    };
    if items.len() <= chunk {
        // A small set (apply verifies one record at a time): no thread to start.
        return items.iter().map(one).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&one).collect::<Vec<_>>()))
            .collect();
        // Each comparison catches its own panic, so a worker never panics itself.
        let mut all = Vec::with_capacity(items.len());
        for worker in workers {
            all.extend(worker.join().unwrap_or_default());
        }
        all
    })
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind whose comparison of the object named `boom` panics.
    struct Fragile;

    impl Kind for Fragile {
        const KIND: ObjectKind = ObjectKind::Client;
        type Spec = (String, String);
        type Record = (String, String);
        type Context<'a> = ();

        fn identity(spec: &(String, String)) -> (String, &str) {
            (spec.0.clone(), &spec.1)
        }

        fn record_identity(record: &(String, String)) -> (&str, Option<&str>) {
            (&record.0, Some(&record.1))
        }

        fn compare(
            spec: &(String, String),
            record: Option<&(String, String)>,
            _: &[&str],
            _: &(),
        ) -> (ObjectDiff, Vec<Diagnostic>) {
            if spec.1 == "boom" {
                panic!("a comparison bug");
            }
            let action = if record.is_some() {
                Action::InSync
            } else {
                Action::Create
            };
            let location = Location::file_start(&std::sync::Arc::from("m.yaml"));
            let mut entry =
                ObjectDiff::new(ObjectKind::Client, spec.0.clone(), spec.1.clone(), location);
            entry.action = action;
            (entry, Vec::new())
        }

        fn system(_: &(String, String), _: &()) -> Option<SystemKind> {
            None
        }
    }

    fn spec(i: usize, name: &str) -> (String, String) {
        (format!("{i:08}"), name.to_string())
    }

    #[test]
    fn results_keep_manifest_order_on_every_core_and_a_panic_names_the_object() {
        let specs: Vec<_> = (0..2000).map(|i| spec(i, &format!("c{i}"))).collect();
        let records = vec![spec(7, "c7"), spec(99_999, "stray")];
        let diff = compare::<Fragile>(&specs, &records, &()).unwrap();
        let ids: Vec<&str> = diff.objects.iter().map(|o| o.id.as_str()).collect();
        let expected: Vec<String> = (0..2000).map(|i| format!("{i:08}")).collect();
        assert_eq!(ids, expected);
        assert_eq!(diff.objects[7].action, Action::InSync);
        assert_eq!(diff.unmanaged.len(), 1);
        let mut specs = specs;
        specs[1500] = spec(1500, "boom");
        let error = compare::<Fragile>(&specs, &records, &()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "comparing client `boom` (00001500) with the server failed: a comparison bug (this is a bug in boruta-gitops: please report it)"
        );
    }
}
