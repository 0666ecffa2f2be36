//! The sandbox's scope writes (issue #20; contract §1.3, §7.1): create, update and delete
//! with boruta's statuses and exact bodies, the `scopes:manage:all` requirement, the
//! protected management scopes, and a delete's side effects on clients and users' grants.
//! Every answer is checked against the OpenAPI document by `Api::call`.

use crate::sandbox::{errors, Api, Reply};
use boruta_gitops::sandbox::state::seed_id;
use serde_json::{json, Value};

const WRITE: &str = "clients:manage:all identity-providers:manage:all scopes:manage:all";
const DEFAULT_IDP: &str = "Default identity provider";
const PROTECTED: [&str; 6] = [
    "users:manage:all",
    "clients:manage:all",
    "identity-providers:manage:all",
    "scopes:manage:all",
    "roles:manage:all",
    "upstreams:manage:all",
];

async fn create(api: &Api, token: &str, scope: Value) -> Reply {
    api.call(
        "POST",
        "/api/scopes",
        Some(token),
        Some(json!({ "scope": scope })),
    )
    .await
}

async fn update(api: &Api, token: &str, method: &str, id: &str, scope: Value) -> Reply {
    let path = format!("/api/scopes/{id}");
    api.call(method, &path, Some(token), Some(json!({ "scope": scope })))
        .await
}

/// The body of a 403 "write protected" (contract §1.5).
fn write_protected() -> Value {
    json!({"code": "FORBIDDEN", "message": "The resource is write protected.", "errors": {"resource": ["is write protected."]}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scope_is_created_updated_and_deleted() {
    let api = Api::new();
    let token = api.token(WRITE).await;
    let created = create(
        &api,
        &token,
        json!({"name": "billing:read", "label": "Read invoices"}),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.body,
        json!({"data": {"id": id, "name": "billing:read", "label": "Read invoices", "public": false}})
    );
    assert_eq!(
        created.headers["location"],
        format!("/api/scopes/{id}").as_str()
    );
    let patched = update(&api, &token, "PATCH", &id, json!({"public": true})).await;
    assert_eq!(
        (patched.status, &patched.body),
        (
            200,
            &json!({"data": {"id": id, "name": "billing:read", "label": "Read invoices", "public": true}})
        )
    );
    let put = update(
        &api,
        &token,
        "PUT",
        &id,
        json!({"name": "billing:list", "label": null}),
    )
    .await;
    assert_eq!(
        (put.status, &put.body),
        (
            200,
            &json!({"data": {"id": id, "name": "billing:list", "label": null, "public": true}})
        )
    );
    let path = format!("/api/scopes/{id}");
    let shown = api.call("GET", &path, Some(&token), None).await;
    assert_eq!(shown.body, put.body);
    let deleted = api.call("DELETE", &path, Some(&token), None).await;
    assert_eq!((deleted.status, &deleted.body), (204, &Value::Null));
    let gone = api.call("GET", &path, Some(&token), None).await;
    assert_eq!(
        (gone.status, gone.body["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert!(gone.body.get("errors").is_none());
    let again = api.call("DELETE", &path, Some(&token), None).await;
    assert_eq!(again.status, 404);
    // A given id is kept (lower-cased).
    let pinned = "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C61";
    let created = create(&api, &token, json!({"id": pinned, "name": "pinned"})).await;
    assert_eq!(created.body["data"]["id"], pinned.to_ascii_lowercase());
}

/// One request per validation message of contract §7.1 (and Ecto's casting, §4.5).
#[tokio::test(flavor = "multi_thread")]
async fn scope_validation_messages() {
    let api = Api::new();
    let token = api.token(WRITE).await;
    let taken = create(&api, &token, json!({"name": "taken"})).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rows: Vec<(&str, Value, Value)> = vec![
        ("no name", json!({}), json!({"name": ["can't be blank"]})),
        (
            "empty name",
            json!({"name": ""}),
            json!({"name": ["can't be blank"]}),
        ),
        (
            "blank name",
            json!({"name": "   "}),
            json!({"name": ["can't be blank"]}),
        ),
        (
            "null name",
            json!({"name": null}),
            json!({"name": ["can't be blank"]}),
        ),
        (
            "space",
            json!({"name": "a b"}),
            json!({"name": ["must not contain whitespace"]}),
        ),
        (
            "tab",
            json!({"name": "a\tb"}),
            json!({"name": ["must not contain whitespace"]}),
        ),
        (
            "number name",
            json!({"name": 7}),
            json!({"name": ["is invalid"]}),
        ),
        (
            "null public",
            json!({"name": "p", "public": null}),
            json!({"public": ["must not be null"]}),
        ),
        (
            "bad public",
            json!({"name": "p", "public": "yes"}),
            json!({"public": ["is invalid"]}),
        ),
        (
            "bad label",
            json!({"name": "p", "label": 3}),
            json!({"label": ["is invalid"]}),
        ),
        (
            "bad id",
            json!({"name": "p", "id": "x"}),
            json!({"id": ["is invalid"]}),
        ),
        (
            "all at once",
            json!({"name": "a b", "public": null, "id": 1}),
            json!({"name": ["must not contain whitespace"], "public": ["must not be null"], "id": ["is invalid"]}),
        ),
        (
            "duplicate name",
            json!({"name": "taken"}),
            json!({"name": ["has already been taken"]}),
        ),
        (
            "duplicate id",
            json!({"name": "fresh", "id": taken}),
            json!({"id": ["has already been taken"]}),
        ),
        (
            "duplicate id and name: the primary key first",
            json!({"name": "taken", "id": taken}),
            json!({"id": ["has already been taken"]}),
        ),
    ];
    for (what, scope, expected) in rows {
        let reply = create(&api, &token, scope).await;
        assert_eq!(errors(&reply), expected, "{what}");
    }
    // Ecto's casting: blank label -> null, "1"/"false" booleans, blank public -> false.
    let cast = create(
        &api,
        &token,
        json!({"name": "cast", "label": " ", "public": "1"}),
    )
    .await;
    assert_eq!(
        (
            cast.body["data"]["label"].clone(),
            cast.body["data"]["public"].clone()
        ),
        (Value::Null, json!(true))
    );
    let id = cast.body["data"]["id"].as_str().unwrap().to_string();
    let reply = update(&api, &token, "PATCH", &id, json!({"public": ""})).await;
    assert_eq!(reply.body["data"]["public"], false);
    // Updates run the same checks against the stored scope.
    let rows: Vec<(&str, Value, Value)> = vec![
        (
            "rename to a taken name",
            json!({"name": "taken"}),
            json!({"name": ["has already been taken"]}),
        ),
        (
            "empty name",
            json!({"name": ""}),
            json!({"name": ["can't be blank"]}),
        ),
        (
            "space",
            json!({"name": "c d"}),
            json!({"name": ["must not contain whitespace"]}),
        ),
        (
            "null public",
            json!({"public": null}),
            json!({"public": ["must not be null"]}),
        ),
        (
            "taken id",
            json!({"id": taken}),
            json!({"id": ["has already been taken"]}),
        ),
    ];
    for (what, scope, expected) in rows {
        let reply = update(&api, &token, "PATCH", &id, scope).await;
        assert_eq!(errors(&reply), expected, "{what}");
    }
    let kept = api
        .call("GET", &format!("/api/scopes/{id}"), Some(&token), None)
        .await;
    assert_eq!(
        kept.body["data"],
        json!({"id": id, "name": "cast", "label": null, "public": false}),
        "a refused update changes nothing"
    );
    // Its own name is no conflict.
    let reply = update(
        &api,
        &token,
        "PATCH",
        &id,
        json!({"name": "cast", "label": "Cast"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// Scope writes need `scopes:manage:all` (authorize); reads need any of four scopes.
#[tokio::test(flavor = "multi_thread")]
async fn scope_writes_need_the_scope_write_scope() {
    let api = Api::new();
    let forbidden = json!({"code": "FORBIDDEN", "message": "You are forbidden to access this resource.", "errors": {"resource": ["you are forbidden to access this resource."]}});
    let unauthorized = json!({"code": "UNAUTHORIZED", "message": "You are unauthorized to access this resource.", "errors": {"resource": ["you are unauthorized to access this resource."]}});
    let readers = api
        .token("clients:manage:all identity-providers:manage:all")
        .await;
    let openid = seed_id("openid");
    let path = format!("/api/scopes/{openid}");
    let body = Some(json!({"scope": {"label": "x"}}));
    for (method, path, body) in [
        ("POST", "/api/scopes", Some(json!({"scope": {"name": "x"}}))),
        ("PATCH", path.as_str(), body.clone()),
        ("PUT", path.as_str(), body.clone()),
        ("DELETE", path.as_str(), None),
    ] {
        let reply = api.call(method, path, Some(&readers), body.clone()).await;
        assert_eq!((reply.status, &reply.body), (403, &forbidden), "{method}");
        let reply = api.call(method, path, None, body).await;
        assert_eq!(
            (reply.status, &reply.body),
            (401, &unauthorized),
            "{method}"
        );
    }
    assert_eq!(
        api.call("GET", &path, Some(&readers), None).await.status,
        200
    );
    // Nothing changed.
    let shown = api.call("GET", &path, Some(&readers), None).await;
    assert_eq!(shown.body["data"]["label"], "OpenID Connect capabilities");
    let writer = api.token("scopes:manage:all").await;
    let reply = update(&api, &writer, "PATCH", &openid, json!({"label": "OpenID"})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// Contract §1.3: the six management scopes are write protected (checked on the stored
/// name, after the lookup); `configuration:manage:all` and `logs:read:all` are not.
#[tokio::test(flavor = "multi_thread")]
async fn the_management_scopes_are_write_protected() {
    let api = Api::new();
    let token = api.token(WRITE).await;
    for name in PROTECTED {
        let id = seed_id(name);
        for method in ["PATCH", "PUT"] {
            let reply = update(&api, &token, method, &id, json!({"label": "x"})).await;
            assert_eq!(
                (reply.status, &reply.body),
                (403, &write_protected()),
                "{method} {name}"
            );
        }
        let reply = api
            .call("DELETE", &format!("/api/scopes/{id}"), Some(&token), None)
            .await;
        assert_eq!(
            (reply.status, &reply.body),
            (403, &write_protected()),
            "DELETE {name}"
        );
        let shown = api
            .call("GET", &format!("/api/scopes/{id}"), Some(&token), None)
            .await;
        assert_eq!(shown.body["data"]["name"], name);
    }
    for name in ["configuration:manage:all", "logs:read:all"] {
        let reply = update(
            &api,
            &token,
            "PATCH",
            &seed_id(name),
            json!({"public": true}),
        )
        .await;
        assert_eq!(
            (reply.status, &reply.body["data"]["public"]),
            (200, &json!(true)),
            "{name}"
        );
    }
    // A scope renamed to a protected name is refused by the name index, not the guard.
    let other = create(&api, &token, json!({"name": "other"})).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = update(
        &api,
        &token,
        "PATCH",
        &other,
        json!({"name": "clients:manage:all"}),
    )
    .await;
    assert_eq!(errors(&reply), json!({"name": ["has already been taken"]}));
}

/// The seeded scopes carry boruta's seed labels (boruta.seeds.exs).
#[tokio::test(flavor = "multi_thread")]
async fn the_seeded_scopes_have_their_labels() {
    let api = Api::new();
    let token = api.token("scopes:manage:all").await;
    let listed = api.call("GET", "/api/scopes", Some(&token), None).await;
    let mut labels: Vec<(String, String, bool)> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["label"].as_str().unwrap().to_string(),
                s["public"].as_bool().unwrap(),
            )
        })
        .collect();
    labels.sort();
    let mut expected: Vec<(String, String, bool)> = [
        ("openid", "OpenID Connect capabilities", true),
        ("email", "Email", true),
        ("profile", "Profile", true),
        ("scopes:manage:all", "Manage all scopes", false),
        ("roles:manage:all", "Manage all roles", false),
        ("clients:manage:all", "Manage all clients", false),
        ("upstreams:manage:all", "Manage all upstreams", false),
        ("users:manage:all", "Manage all users", false),
        (
            "identity-providers:manage:all",
            "Manage all identity providers",
            false,
        ),
        (
            "configuration:manage:all",
            "Manage all configuration",
            false,
        ),
        ("logs:read:all", "Read all logs", false),
    ]
    .iter()
    .map(|(n, l, p)| (n.to_string(), l.to_string(), *p))
    .collect();
    expected.sort();
    assert_eq!(labels, expected);
}

/// A delete takes the scope out of every client's `authorized_scopes` (the join table
/// cascades) and out of every user's grants; a rename shows in the clients at once.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_scope_unlinks_it_from_clients_and_users() {
    let api = Api::new();
    let token = api.token(WRITE).await;
    let idp = json!({"id": api.idp(DEFAULT_IDP)});
    let billing = create(&api, &token, json!({"name": "billing:read"}))
        .await
        .body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut clients = Vec::new();
    for name in ["one", "two"] {
        let reply = api
            .create(&token, json!({"name": name, "identity_provider": idp, "authorized_scopes": [{"name": "billing:read"}, {"name": "openid"}]}))
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        clients.push(reply.body["data"]["id"].as_str().unwrap().to_string());
    }
    let scope_names = |body: &Value, id: &str| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["authorized_scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    // The list is rendered (and cached) before the rename: the rename must still show.
    let listed = api.call("GET", "/api/clients", Some(&token), None).await;
    assert_eq!(
        scope_names(&listed.body, &clients[0]),
        ["billing:read", "openid"]
    );
    let renamed = update(
        &api,
        &token,
        "PATCH",
        &billing,
        json!({"name": "billing:list", "public": true}),
    )
    .await;
    assert_eq!(renamed.status, 200);
    let listed = api.call("GET", "/api/clients", Some(&token), None).await;
    for id in &clients {
        assert_eq!(scope_names(&listed.body, id), ["billing:list", "openid"]);
        let scope = &listed.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap()["authorized_scopes"][0];
        assert_eq!(
            scope,
            &json!({"id": billing, "name": "billing:list", "public": true})
        );
    }
    let deleted = api
        .call(
            "DELETE",
            &format!("/api/scopes/{billing}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let listed = api.call("GET", "/api/clients", Some(&token), None).await;
    for id in &clients {
        assert_eq!(scope_names(&listed.body, id), ["openid"]);
        let shown = api
            .call("GET", &format!("/api/clients/{id}"), Some(&token), None)
            .await;
        assert_eq!(
            shown.body["data"]["authorized_scopes"],
            json!([{"id": seed_id("openid"), "name": "openid", "public": true}])
        );
    }
    // The seeded administrator holds the management scopes; deleting one drops the grant.
    let logs = seed_id("logs:read:all");
    let admin = seed_id("Boruta administrator");
    let holds_logs = |api: &Api| {
        api.sandbox
            .with_state(|s| s.user_grants[&admin].contains(&logs))
    };
    assert!(holds_logs(&api));
    let deleted = api
        .call("DELETE", &format!("/api/scopes/{logs}"), Some(&token), None)
        .await;
    assert_eq!(deleted.status, 204);
    assert!(!holds_logs(&api));
    let grants = api.sandbox.with_state(|s| s.user_grants[&admin].len());
    assert_eq!(grants, 7);
}

/// The `scope` envelope is checked before the lookup; ids are cast like clients'.
#[tokio::test(flavor = "multi_thread")]
async fn scope_envelopes_and_ids() {
    let api = Api::new();
    let token = api.token(WRITE).await;
    let unknown = "00000000-0000-4000-8000-0000000000ee";
    let clause = |reply: &Reply, action: &str| {
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{action}: {:?}",
            reply.body
        );
        let prefix =
            format!("could not find a matching BorutaAdminWeb.ScopeController.{action} clause");
        assert!(
            reply.body["message"].as_str().unwrap().starts_with(&prefix),
            "{:?}",
            reply.body
        );
        assert!(reply.body.get("errors").is_none());
    };
    let reply = api
        .call(
            "POST",
            "/api/scopes",
            Some(&token),
            Some(json!({"name": "x"})),
        )
        .await;
    clause(&reply, "create");
    for target in [unknown, "not-a-uuid", &seed_id("clients:manage:all")] {
        let reply = api
            .call(
                "PATCH",
                &format!("/api/scopes/{target}"),
                Some(&token),
                Some(json!({"label": "x"})),
            )
            .await;
        clause(&reply, "update");
    }
    let reply = update(&api, &token, "PATCH", unknown, json!({"label": "x"})).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    for method in ["PATCH", "DELETE"] {
        let body = (method == "PATCH").then(|| json!({"scope": {}}));
        let reply = api
            .call(method, "/api/scopes/not-a-uuid", Some(&token), body)
            .await;
        assert_eq!(reply.status, 400, "{method}");
        assert!(reply.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot be cast to type Ecto.UUID"));
    }
    let reply = api
        .call(
            "POST",
            "/api/scopes",
            Some(&token),
            Some(json!({"scope": "x"})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
}

/// Scope writes are in the request record as client writes are: method, path, body and
/// the status answered, in order.
#[tokio::test(flavor = "multi_thread")]
async fn scope_writes_are_recorded() {
    let api = Api::new();
    let token = api.token(WRITE).await;
    api.sandbox.clear_requests();
    let id = create(&api, &token, json!({"name": "recorded"})).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    update(&api, &token, "PATCH", &id, json!({"label": "Recorded"})).await;
    update(
        &api,
        &token,
        "PATCH",
        &seed_id("scopes:manage:all"),
        json!({"label": "x"}),
    )
    .await;
    api.call("DELETE", &format!("/api/scopes/{id}"), Some(&token), None)
        .await;
    let record: Vec<(String, String, Value, u16, Option<String>)> = api
        .sandbox
        .requests()
        .into_iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path.clone(),
                r.json(),
                r.status,
                r.auth_scheme.clone(),
            )
        })
        .collect();
    let bearer = Some("Bearer".to_string());
    assert_eq!(
        record,
        [
            (
                "POST".into(),
                "/api/scopes".into(),
                json!({"scope": {"name": "recorded"}}),
                201,
                bearer.clone()
            ),
            (
                "PATCH".into(),
                format!("/api/scopes/{id}"),
                json!({"scope": {"label": "Recorded"}}),
                200,
                bearer.clone()
            ),
            (
                "PATCH".into(),
                format!("/api/scopes/{}", seed_id("scopes:manage:all")),
                json!({"scope": {"label": "x"}}),
                403,
                bearer.clone()
            ),
            (
                "DELETE".into(),
                format!("/api/scopes/{id}"),
                Value::Null,
                204,
                bearer
            ),
        ]
    );
}
