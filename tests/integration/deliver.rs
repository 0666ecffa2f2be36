//! Secret delivery, the store side (issue #21): the KV version 2 client against a real
//! OpenBao dev server over loopback HTTP. What the token may write, a write read back,
//! check-and-set, a store that is down, a token without write capability, a mount that
//! is not KV version 2, a private CA, a namespace, delivery states (a deleted delivery
//! included), and no secret or token in any text, log line included.

use crate::fakes::{HttpServer, Request, Response};
use crate::openbao::{free_port, runtime, OpenBao, Vars};
use boruta_gitops::deliver::{
    compare, new_client_secret, Delivery, Expected, KvClient, Location, Mismatch, SecretData,
    SecretDigest, StoreError, StoreSettings, Write,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};

/// A delivery policy: write under `rw/`, read only under `ro/`, nothing elsewhere.
const POLICY: &str = r#"
path "secret/data/rw/*" { capabilities = ["create", "read", "update"] }
path "secret/data/ro/*" { capabilities = ["read"] }
"#;

fn at(path: &str) -> Location {
    Location::new("secret", path).unwrap()
}

fn data(client_id: &str, secret: &str) -> SecretData {
    SecretData {
        client_id: client_id.into(),
        client_secret: SecretString::from(secret),
        token_endpoint: Some("https://id.example.com/oauth/token".into()),
    }
}

#[test]
fn capabilities_tell_writable_from_read_only_paths() {
    let bao = OpenBao::start();
    let token = bao.token_with_policy("delivery", POLICY);
    let store = bao.client(&token);
    let rt = runtime();
    let paths = [at("rw/a"), at("ro/a"), at("other/a")];
    let found = rt.block_on(store.capabilities(&paths)).unwrap();
    let shown: Vec<String> = paths.iter().map(|p| found[p].to_string()).collect();
    assert_eq!(shown, ["create, read, update", "read", "deny"]);

    let writes = [
        Write {
            location: at("rw/a"),
            exists: false,
        },
        Write {
            location: at("ro/a"),
            exists: true,
        },
        Write {
            location: at("other/a"),
            exists: false,
        },
    ];
    let refusals = rt.block_on(store.check_writable(&writes)).unwrap();
    let refusals: Vec<String> = refusals.iter().map(ToString::to_string).collect();
    assert_eq!(
        refusals,
        [
            "VAULT_TOKEN may not write secret/ro/a: grant `update` on `secret/data/ro/a` in the token's policy (it has: read)",
            "VAULT_TOKEN may not write secret/other/a: grant `create` on `secret/data/other/a` in the token's policy (it has: deny)",
        ]
    );
    // The root token may write anywhere.
    let root = bao.client(&bao.root_token);
    assert!(rt
        .block_on(root.check_writable(&writes))
        .unwrap()
        .is_empty());
}

#[test]
fn a_written_secret_reads_back_as_the_latest_version() {
    let bao = OpenBao::start();
    let token = bao.token_with_policy("delivery", POLICY);
    let store = bao.client(&token);
    let rt = runtime();
    let location = at("rw/billing");
    assert!(rt.block_on(store.read(&location)).unwrap().is_none());

    let first = data("c-1", "first-secret");
    assert_eq!(rt.block_on(store.write_cas(&location, &first, 0)), Ok(1));
    let current = rt.block_on(store.read(&location)).unwrap().unwrap();
    assert_eq!(current.version, 1);
    assert!(current.data.unwrap().holds(&first));

    let second = data("c-1", "second-secret");
    assert_eq!(rt.block_on(store.write_cas(&location, &second, 1)), Ok(2));
    let current = rt.block_on(store.read(&location)).unwrap().unwrap();
    assert_eq!(current.version, 2);
    let stored = current.data.unwrap();
    assert!(stored.holds(&second));
    assert_eq!(stored.client_id.as_deref(), Some("c-1"));
    assert_eq!(
        stored.token_endpoint.as_deref(),
        Some("https://id.example.com/oauth/token")
    );
    // What an application reading the path with Vault's own tools gets.
    let field = |name: &str| {
        bao.bao(
            &[
                "kv",
                "get",
                "-mount=secret",
                &format!("-field={name}"),
                "rw/billing",
            ],
            None,
        )
    };
    assert_eq!(field("client_secret"), "second-secret");
    assert_eq!(field("client_id"), "c-1");
}

#[test]
fn check_and_set_refuses_a_stale_version() {
    let bao = OpenBao::start();
    let store = bao.client(&bao.root_token);
    let rt = runtime();
    let location = at("apps/billing");
    let first = data("c-1", "first-secret");
    assert_eq!(rt.block_on(store.write_cas(&location, &first, 0)), Ok(1));

    // A second apply that read the path before the first one wrote.
    let late = data("c-1", "late-secret");
    let error = rt
        .block_on(store.write_cas(&location, &late, 0))
        .unwrap_err();
    assert_eq!(
        error,
        StoreError::CasMismatch {
            address: bao.address.clone(),
            location: "secret/apps/billing".into(),
            expected: 0,
        }
    );
    assert_eq!(
        error.to_string(),
        format!("writing secret/apps/billing to the secret store at {}: refused by check-and-set: its latest version is no longer 0 (0: none), another writer got there first. Run again: the newer version is read and compared first", bao.address)
    );
    let error = rt
        .block_on(store.write_cas(&location, &late, 7))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::CasMismatch { expected: 7, .. }),
        "{error}"
    );
    // The newer version stays.
    let current = rt.block_on(store.read(&location)).unwrap().unwrap();
    assert_eq!(current.version, 1);
    assert!(current.data.unwrap().holds(&first));
}

/// A loopback proxy to `bao` that forwards every request, but answers the first write of
/// a secret with 502 after the store has carried it out (a gateway losing the answer).
fn losing_the_first_write_answer(bao: &OpenBao) -> HttpServer {
    let target = bao.address.clone();
    let lost = Arc::new(Mutex::new(false));
    HttpServer::start(Arc::new(move |request: &Request| {
        let answer = forward(&target, request);
        let write = request.method == "POST" && request.path().starts_with("/v1/secret/data/");
        let mut lost = lost.lock().unwrap();
        if write && !*lost {
            *lost = true;
            return Response::json(502, serde_json::json!({"errors": ["bad gateway"]}));
        }
        answer
    }))
}

fn forward(target: &str, request: &Request) -> Response {
    runtime().block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
        let mut outgoing = client
            .request(method, format!("{target}{}", request.target))
            .body(request.body.clone());
        for (name, value) in &request.headers {
            if name.to_ascii_lowercase().starts_with("x-vault-") {
                outgoing = outgoing.header(name, value);
            }
        }
        let answer = outgoing.send().await.unwrap();
        let status = answer.status().as_u16();
        Response {
            status,
            body: answer.bytes().await.unwrap().to_vec(),
        }
    })
}

#[test]
fn a_write_whose_answer_was_lost_is_recognised_on_retry() {
    let bao = OpenBao::start();
    let proxy = losing_the_first_write_answer(&bao);
    let env = Vars::new(&[
        ("VAULT_ADDR", proxy.url.clone()),
        ("VAULT_TOKEN", bao.root_token.clone()),
    ]);
    let store = KvClient::new(&StoreSettings::from_env(&env).unwrap()).unwrap();
    let rt = runtime();
    let location = at("apps/billing");
    let sent = data("c-1", "a-secret-value");
    // The retry meets check-and-set (version 1 exists), reads the path back, finds its
    // own write: success, not a conflict.
    assert_eq!(rt.block_on(store.write_cas(&location, &sent, 0)), Ok(1));
    let calls: Vec<(String, String)> = proxy
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path().to_string()))
        .collect();
    let call = |method: &str, path: &str| (method.to_string(), path.to_string());
    assert_eq!(
        calls,
        [
            call("GET", "/v1/sys/internal/ui/mounts/secret"),
            call("POST", "/v1/secret/data/apps/billing"),
            call("POST", "/v1/secret/data/apps/billing"),
            call("GET", "/v1/secret/data/apps/billing"),
        ]
    );
    // Another writer's version at the same place stays a conflict.
    let other = data("c-1", "another-secret");
    let error = rt
        .block_on(store.write_cas(&location, &other, 0))
        .unwrap_err();
    assert!(matches!(error, StoreError::CasMismatch { .. }), "{error}");
}

#[test]
fn a_store_that_is_down_is_named_in_the_error() {
    // A port nothing listens on: the connection is refused.
    let address = format!("http://127.0.0.1:{}", free_port());
    let env = Vars::new(&[
        ("VAULT_ADDR", address.clone()),
        ("VAULT_TOKEN", "token-of-a-store-that-is-down".into()),
    ]);
    let store = KvClient::new(&StoreSettings::from_env(&env).unwrap()).unwrap();
    let rt = runtime();
    let error = rt.block_on(store.read(&at("apps/billing"))).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("checking the mount `secret` (GET /v1/sys/internal/ui/mounts/secret): the secret store at {address} did not answer: could not connect (after 3 attempt(s)). Is the store running, and is VAULT_ADDR its address?")
    );
    let error = rt
        .block_on(store.capabilities(&[at("apps/billing")]))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("asking what VAULT_TOKEN may do on 1 path(s) (POST /v1/sys/capabilities-self): the secret store at {address} did not answer: could not connect (after 3 attempt(s)). Is the store running, and is VAULT_ADDR its address?")
    );
}

#[test]
fn a_token_without_write_capability_is_refused_naming_the_path() {
    let bao = OpenBao::start();
    let token = bao.token_with_policy("delivery", POLICY);
    let store = bao.client(&token);
    let rt = runtime();
    let location = at("ro/billing");
    let error = rt
        .block_on(store.write_cas(&location, &data("c-1", "a-secret-value"), 0))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::PermissionDenied { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("writing secret/ro/billing (POST /v1/secret/data/ro/billing): the secret store at {} answered 403: \"1 error occurred: * permission denied\". VAULT_TOKEN is unknown or expired, or its policies do not grant `create` on `secret/data/ro/billing`", bao.address)
    );
    // Nothing was written.
    let root = bao.client(&bao.root_token);
    assert!(rt.block_on(root.read(&location)).unwrap().is_none());

    // A path the token may not even read: the delivery is unreadable, and says why.
    let read = rt.block_on(store.read(&at("other/billing")));
    let expected = Expected {
        client_id: "c-1",
        secret: SecretDigest::of_text("a-secret-value"),
        token_endpoint: None,
    };
    assert_eq!(
        compare(&read, &expected),
        Delivery::Unreadable(format!("reading secret/other/billing (GET /v1/secret/data/other/billing): the secret store at {} answered 403: \"1 error occurred: * permission denied\". VAULT_TOKEN is unknown or expired, or its policies do not grant `read` on `secret/data/other/billing`", bao.address))
    );

    // An unknown token.
    let stranger = bao.client("not-a-token-of-this-store");
    let error = rt
        .block_on(stranger.capabilities(&[at("rw/billing")]))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("asking what VAULT_TOKEN may do on 1 path(s) (POST /v1/sys/capabilities-self): the secret store at {} answered 403: \"permission denied\". VAULT_TOKEN is unknown or expired (any valid token may ask sys/capabilities-self): issue a new one", bao.address)
    );
}

#[test]
fn a_mount_that_is_not_kv_version_2_is_refused_before_any_write() {
    let bao = OpenBao::start();
    bao.bao(
        &["secrets", "enable", "-path=kv1", "-version=1", "kv"],
        None,
    );
    let store = bao.client(&bao.root_token);
    let rt = runtime();
    let kv1 = Location::new("kv1", "apps/billing").unwrap();
    let error = rt
        .block_on(store.write_cas(&kv1, &data("c-1", "a-secret-value"), 0))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("the secret store at {}: `kv1` is a KV version 1 mount; deliveries need version 2 (versions, check-and-set): `vault kv enable-versioning kv1`", bao.address)
    );
    // A version 1 mount would have stored the body as a secret named `data/apps/billing`.
    let (found, _, _) = bao.try_bao(&["read", "kv1/data/apps/billing"], None);
    assert!(!found, "nothing may be written to a KV version 1 mount");

    let nested = Location::new("secret/apps", "billing").unwrap();
    let error = rt.block_on(store.read(&nested)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("the secret store at {}: `secret/apps` is not a mount: the mount there is `secret`. Set `mount:` to the mount alone and `path:` to the rest", bao.address)
    );

    let unknown = Location::new("nomount", "billing").unwrap();
    let error = rt.block_on(store.read(&unknown)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("checking the mount `nomount` (GET /v1/sys/internal/ui/mounts/nomount): the secret store at {} answered 403: \"preflight capability check returned 403, please ensure client's policies grant access to path \"nomount/\"\". is `nomount` the store's KV version 2 mount (`mount:` under secret_delivery.vault), and may VAULT_TOKEN use paths under `nomount/`?", bao.address)
    );
}

#[test]
fn delivery_states_follow_the_store() {
    let bao = OpenBao::start();
    let store = bao.client(&bao.root_token);
    let rt = runtime();
    let location = at("apps/billing");
    let expected = Expected {
        client_id: "c-1",
        secret: SecretDigest::of_text("server-secret"),
        token_endpoint: Some("https://id.example.com/oauth/token"),
    };
    let state = || compare(&rt.block_on(store.read(&location)), &expected);
    let write = |client_id: &str, secret: &str, cas: u64| {
        rt.block_on(store.write_cas(&location, &data(client_id, secret), cas))
            .unwrap()
    };
    assert_eq!(state(), Delivery::Missing);
    assert_eq!(write("c-1", "server-secret", 0), 1);
    assert_eq!(state(), Delivery::InSync);
    assert_eq!(write("c-1", "another-secret", 1), 2);
    assert_eq!(state(), Delivery::Outdated(Mismatch::AnotherSecret));
    assert_eq!(write("c-2", "server-secret", 2), 3);
    assert_eq!(state(), Delivery::Outdated(Mismatch::AnotherClient));

    // Someone deletes the delivery (its latest version): missing, and re-delivered as
    // the next version.
    bao.bao(&["kv", "delete", "-mount=secret", "apps/billing"], None);
    assert_eq!(state(), Delivery::Missing);
    let current = rt.block_on(store.read(&location)).unwrap().unwrap();
    assert_eq!((current.version, current.data.is_none()), (3, true));
    assert_eq!(write("c-1", "server-secret", current.version), 4);
    assert_eq!(state(), Delivery::InSync);

    // Every version and the metadata deleted: the path starts over at version 1.
    bao.bao(
        &["kv", "metadata", "delete", "-mount=secret", "apps/billing"],
        None,
    );
    assert!(rt.block_on(store.read(&location)).unwrap().is_none());
    assert_eq!(state(), Delivery::Missing);
    assert_eq!(write("c-1", "server-secret", 0), 1);
    assert_eq!(state(), Delivery::InSync);
}

#[test]
fn a_private_ca_is_trusted_through_vault_cacert() {
    let bao = OpenBao::start_tls();
    assert!(bao.address.starts_with("https://127.0.0.1:"));
    let rt = runtime();
    let env = Vars::new(&[
        ("VAULT_ADDR", bao.address.clone()),
        ("VAULT_TOKEN", bao.root_token.clone()),
    ]);
    let untrusting = KvClient::new(&StoreSettings::from_env(&env).unwrap()).unwrap();
    let error = rt
        .block_on(untrusting.read(&at("apps/billing")))
        .unwrap_err();
    // Refused at once (a certificate does not verify better on a retry), saying why.
    assert_eq!(
        error.to_string(),
        format!("checking the mount `secret` (GET /v1/sys/internal/ui/mounts/secret): the secret store at {} did not answer: TLS: invalid peer certificate: UnknownIssuer. If the server uses a private CA, pass it with VAULT_CACERT", bao.address)
    );

    let store = bao.client(&bao.root_token);
    let location = at("apps/billing");
    let sent = data("c-1", "a-secret-value");
    assert_eq!(rt.block_on(store.write_cas(&location, &sent, 0)), Ok(1));
    let current = rt.block_on(store.read(&location)).unwrap().unwrap();
    assert!(current.data.unwrap().holds(&sent));
}

#[test]
fn a_namespace_is_sent_with_every_request() {
    let bao = OpenBao::start();
    bao.bao(&["namespace", "create", "team-a"], None);
    bao.bao(
        &["secrets", "enable", "-ns=team-a", "-path=secret", "kv-v2"],
        None,
    );
    let rt = runtime();
    let env = Vars::new(&[
        ("VAULT_ADDR", bao.address.clone()),
        ("VAULT_TOKEN", bao.root_token.clone()),
        ("VAULT_NAMESPACE", "team-a".into()),
    ]);
    let store = KvClient::new(&StoreSettings::from_env(&env).unwrap()).unwrap();
    let location = at("apps/billing");
    assert_eq!(
        rt.block_on(store.write_cas(&location, &data("c-1", "a-secret-value"), 0)),
        Ok(1)
    );
    let client_id = bao.bao(
        &[
            "kv",
            "get",
            "-ns=team-a",
            "-mount=secret",
            "-field=client_id",
            "apps/billing",
        ],
        None,
    );
    assert_eq!(client_id, "c-1");
    // Not in the root namespace's `secret/`.
    let root = bao.client(&bao.root_token);
    assert!(rt.block_on(root.read(&location)).unwrap().is_none());
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_secret_or_token_appears_in_any_text() {
    let bao = OpenBao::start();
    let token = bao.token_with_policy("delivery", POLICY);
    let secret = new_client_secret().unwrap();
    let settings = bao.settings(&token);
    let store = KvClient::new(&settings).unwrap();
    let rt = runtime();
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let mut texts = vec![format!("{settings:?}")];
    tracing::subscriber::with_default(subscriber, || {
        let sent = SecretData {
            client_id: "c-1".into(),
            client_secret: secret.clone(),
            token_endpoint: None,
        };
        texts.push(format!("{sent:?}"));
        let written = rt.block_on(store.write_cas(&at("rw/billing"), &sent, 0));
        texts.push(format!("{written:?}"));
        let read = rt.block_on(store.read(&at("rw/billing")));
        texts.push(format!("{read:?}"));
        let expected = Expected {
            client_id: "c-1",
            secret: SecretDigest::of(&secret),
            token_endpoint: None,
        };
        let state = compare(&read, &expected);
        assert_eq!(state, Delivery::InSync);
        texts.push(format!("{state:?} {} {expected:?}", state.describe()));
        // Failures: refused by policy, by check-and-set, and an unreadable path.
        for error in [
            rt.block_on(store.write_cas(&at("ro/billing"), &sent, 0)),
            rt.block_on(store.write_cas(&at("rw/billing"), &sent, 0)),
            rt.block_on(store.read(&at("other/billing"))).map(|_| 0),
        ] {
            let error = error.unwrap_err();
            texts.push(format!("{error} {error:?}"));
        }
        let unreadable = compare(&rt.block_on(store.read(&at("other/billing"))), &expected);
        texts.push(format!("{unreadable:?} {}", unreadable.describe()));
    });
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("secret store answered"),
        "the log was captured: {log}"
    );
    texts.push(log);
    for text in &texts {
        assert!(
            !text.contains(secret.expose_secret()),
            "a secret in: {text}"
        );
        assert!(!text.contains(&token), "the token in: {text}");
    }
}
