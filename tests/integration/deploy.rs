//! deploy/ (issue #23): every YAML file parses, and the Kubernetes manifests have what
//! running `serve` safely beside boruta needs: probes on /healthz and /readyz, a git-sync
//! sidecar, credentials from a Secret, resources, a restrictive securityContext on every
//! container, a Service, and a CronJob running `drift`. The Dockerfile is multi-stage and
//! runs as a non-root user. (The rules file is checked by promtool in `serve.rs`.)

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn deploy() -> PathBuf {
    crate::runner::repo().join("deploy")
}

/// A YAML node as JSON (tags dropped), for pointer lookups.
fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => json!(b),
        Yaml::Value(Scalar::Integer(i)) => json!(i),
        Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => json!(s),
        Yaml::Representation(text, _, _) => json!(text),
        Yaml::Tagged(_, inner) => to_json(inner),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = k.as_str().expect("string keys").to_string();
                    (key, to_json(v))
                })
                .collect(),
        ),
        other => panic!("unexpected YAML node {other:?}"),
    }
}

/// Every YAML file under deploy/, each as its documents.
fn documents() -> Vec<(PathBuf, Vec<Value>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&deploy(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let docs = Yaml::load_from_str(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            assert!(!docs.is_empty(), "{} is empty", path.display());
            (path, docs.iter().map(to_json).collect())
        })
        .collect()
}

fn kind<'a>(docs: &'a [(PathBuf, Vec<Value>)], kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .flat_map(|(_, d)| d)
        .filter(|d| d["kind"] == kind)
        .collect()
}

fn texts(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// Every container of a pod spec, init containers included.
fn containers(pod: &Value) -> Vec<&Value> {
    let all = ["initContainers", "containers"].map(|k| pod[k].as_array());
    all.into_iter().flatten().flatten().collect()
}

/// What every pod and container here must have.
fn assert_restricted(pod: &Value) {
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{pod}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(pod["automountServiceAccountToken"], false);
    for c in containers(pod) {
        let name = &c["name"];
        let security = &c["securityContext"];
        assert_eq!(security["runAsNonRoot"], true, "{name}");
        assert!(security["runAsUser"].as_i64() > Some(0), "{name}");
        assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(texts(&security["capabilities"]["drop"]), ["ALL"], "{name}");
        for (part, key) in [
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "memory"),
        ] {
            assert!(
                c["resources"][part][key].is_string(),
                "{name}: resources.{part}.{key}"
            );
        }
        // Credentials only from Secrets: no literal value for a secret-looking variable.
        for env in c["env"].as_array().into_iter().flatten() {
            let variable = env["name"].as_str().unwrap();
            if ["_SECRET", "_TOKEN", "_PASSWORD"]
                .iter()
                .any(|w| variable.ends_with(w))
            {
                assert!(env.get("value").is_none(), "{variable} has a literal value");
                assert!(
                    env["valueFrom"]["secretKeyRef"]["name"].is_string(),
                    "{variable}"
                );
            }
        }
    }
}

fn git_sync(pod: &Value) -> &Value {
    containers(pod)
        .into_iter()
        .find(|c| {
            c["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("registry.k8s.io/git-sync/git-sync:v4"))
        })
        .expect("a git-sync container")
}

fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn every_deploy_yaml_parses_and_the_deployment_runs_serve_safely() {
    let docs = documents();
    let names: Vec<String> = docs
        .iter()
        .map(|(p, _)| p.strip_prefix(deploy()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "kubernetes/drift-cronjob.yaml",
            "kubernetes/kustomization.yaml",
            "kubernetes/serve.yaml",
            "prometheus/rules.test.yaml",
            "prometheus/rules.yaml",
        ]
    );
    let [deployment] = kind(&docs, "Deployment")[..] else {
        panic!("one Deployment")
    };
    assert_eq!(deployment["spec"]["replicas"], 1);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_restricted(pod);
    let sync = git_sync(pod);
    let sync_args = texts(&sync["args"]);
    assert!(sync_args.contains(&"--link=current"), "{sync_args:?}");
    let serve = containers(pod)
        .into_iter()
        .find(|c| c["name"] == "boruta-gitops")
        .unwrap();
    let args = texts(&serve["args"]);
    assert_eq!(args[..2], ["serve", "/git/current/manifests"]);
    assert!(args.contains(&"--listen=0.0.0.0:9464"), "{args:?}");
    assert_eq!(
        serve["ports"][0],
        json!({"name": "http", "containerPort": 9464})
    );
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(
            serve[probe]["httpGet"],
            json!({"path": path, "port": "http"}),
            "{probe}"
        );
    }
    for variable in [
        "BORUTA_CLIENT_ID",
        "BORUTA_CLIENT_SECRET",
        "BORUTA_GITOPS_TRIGGER_TOKEN",
    ] {
        let secret = &env(serve, variable)["valueFrom"]["secretKeyRef"];
        assert_eq!(secret["name"], "boruta-gitops", "{variable}");
    }
    // The checkout is git-sync's to write and serve's to read.
    let mounts = |c: &Value| c["volumeMounts"].as_array().unwrap().clone();
    assert!(mounts(serve).contains(&json!({"name": "git", "mountPath": "/git", "readOnly": true})));
    assert!(mounts(sync).contains(&json!({"name": "git", "mountPath": "/git"})));
    let [service] = kind(&docs, "Service")[..] else {
        panic!("one Service")
    };
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
}

#[test]
fn the_cronjob_runs_drift_on_a_fresh_checkout() {
    let docs = documents();
    let [cronjob] = kind(&docs, "CronJob")[..] else {
        panic!("one CronJob")
    };
    assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
    let pod = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_restricted(pod);
    assert_eq!(pod["restartPolicy"], "Never");
    let sync = git_sync(pod);
    assert!(texts(&sync["args"]).contains(&"--one-time"));
    assert_eq!(pod["initContainers"][0], *sync);
    let drift = &pod["containers"][0];
    assert_eq!(texts(&drift["args"]), ["drift", "/git/current/manifests"]);
}

#[test]
fn the_dockerfile_builds_in_two_stages_and_runs_as_non_root() {
    let text = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    let froms: Vec<&&str> = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].ends_with(" AS build"), "{}", froms[0]);
    assert!(
        froms[1].starts_with("FROM gcr.io/distroless/"),
        "{}",
        froms[1]
    );
    let users: Vec<&&str> = instructions
        .iter()
        .filter(|l| l.starts_with("USER "))
        .collect();
    assert_eq!(users, [&"USER 65532:65532"]);
    assert!(instructions.contains(
        &"COPY --from=build /src/target/release/boruta-gitops /usr/local/bin/boruta-gitops"
    ));
    assert!(instructions.contains(&"ENTRYPOINT [\"/usr/local/bin/boruta-gitops\"]"));
}
