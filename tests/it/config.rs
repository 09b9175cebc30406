//! ConfigMaps and Secrets end to end with real kubectl: created as users create them,
//! given to guests as environment variables and read-only files, waited for when missing
//! (`CreateContainerConfigError`, `FailedMount`), and a Secret's value never shown.

use crate::kubectl::{Cluster, needs_kubectl};

fn job(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n{spec}"
    )
}

const SECRET_VALUE: &str = "s3cr3t-value";

#[test]
fn a_guest_sees_config_maps_and_secrets_as_env_and_read_only_files() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let conf = c.write("app.conf", "level=3\n");
    c.ok(&[
        "create",
        "configmap",
        "cfg",
        "--from-literal=mode=fast",
        &format!("--from-file={conf}"),
    ]);
    c.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        &format!("--from-literal=password={SECRET_VALUE}"),
    ]);
    assert!(c.ok(&["get", "configmap", "cfg"]).contains("cfg    2 "));
    let secrets = c.ok(&["get", "secrets"]);
    assert!(secrets.contains("creds   Opaque   1 "), "{secrets}");
    let spec = "      volumes:
      - name: conf
        configMap:
          name: cfg
          items: [{key: app.conf, path: etc/app.conf}]
      - name: creds
        secret: {secretName: creds}
      containers:
      - name: main
        image: exerciser.wasm
        envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}]
        env:
        - {name: MODE, valueFrom: {configMapKeyRef: {name: cfg, key: mode}}}
        - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
        - {name: ABSENT, valueFrom: {configMapKeyRef: {name: nothing, key: x, optional: true}}}
        volumeMounts:
        - {name: conf, mountPath: /conf}
        - {name: creds, mountPath: /creds}
        args: [env=MODE, env=PASSWORD, env=CFG_mode, env=ABSENT, read=/conf/etc/app.conf, ls=/conf, read=/creds/password, try-open=/creds/../../etc, write=/conf/new:x]
";
    let f = c.write("job.yaml", &job("reader", spec));
    c.ok(&["create", "-f", &f]);
    c.eventually("the job ends", || {
        let out = c.ok(&[
            "get",
            "job",
            "reader",
            "-o",
            "jsonpath={.status.succeeded}{.status.failed}",
        ]);
        !out.is_empty()
    });
    let logs = c.ok(&["logs", "job/reader"]);
    let expected_start = format!(
        "MODE=fast\nPASSWORD={SECRET_VALUE}\nCFG_mode=fast\nABSENT is not set\nlevel=3\netc\n{SECRET_VALUE}"
    );
    assert!(logs.starts_with(&expected_start), "{logs}");
    // `..` does not climb out of the volume's preopen.
    assert!(logs.contains("open /creds/../../etc: denied"), "{logs}");
    // The volume is read-only: the guest's write fails (the exerciser exits 3).
    assert!(logs.contains("/conf/new"), "{logs}");
    assert_eq!(
        c.ok(&[
            "get",
            "pods",
            "-l",
            "job-name=reader",
            "-o",
            "jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode}"
        ]),
        "3"
    );
    // Nothing but the guest's own output says the value.
    let events = c.ok(&["get", "events", "-o", "yaml"]);
    assert!(!events.contains(SECRET_VALUE), "{events}");
    let described = c.ok(&["describe", "secret", "creds"]);
    assert!(!described.contains(SECRET_VALUE), "{described}");
    assert!(described.contains("password:  12 bytes"), "{described}");
}

#[test]
fn a_missing_config_map_or_secret_keeps_the_pod_waiting_until_it_is_created() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let env_job = job(
        "env-later",
        "      containers:
      - name: main
        image: exerciser.wasm
        env: [{name: MODE, valueFrom: {configMapKeyRef: {name: later, key: mode}}}]
        args: [env=MODE]
",
    );
    let volume_job = job(
        "vol-later",
        "      volumes: [{name: s, secret: {secretName: later-secret}}]
      containers:
      - name: main
        image: exerciser.wasm
        volumeMounts: [{name: s, mountPath: /s}]
        args: [read=/s/token]
",
    );
    let f = c.write("jobs.yaml", &format!("{env_job}---\n{volume_job}"));
    c.ok(&["create", "-f", &f]);
    c.eventually("CreateContainerConfigError", || {
        c.ok(&["get", "pods", "-l", "job-name=env-later", "--no-headers"])
            .contains("CreateContainerConfigError")
    });
    c.eventually("FailedMount", || {
        c.ok(&[
            "get",
            "events",
            "--field-selector",
            "reason=FailedMount",
            "--no-headers",
        ])
        .contains("MountVolume.SetUp failed for volume \"s\" : secret \"later-secret\" not found")
    });
    let described = c.ok(&["describe", "pods", "-l", "job-name=env-later"]);
    assert!(
        described.contains("Error: configmap \"later\" not found"),
        "{described}"
    );
    assert!(
        c.ok(&["get", "pods", "-l", "job-name=vol-later", "--no-headers"])
            .contains("ContainerCreating"),
    );
    assert_eq!(
        c.ok(&["get", "job", "env-later", "-o", "jsonpath={.status.failed}"]),
        "",
        "waiting uses up no retry"
    );
    c.ok(&["create", "configmap", "later", "--from-literal=mode=slow"]);
    c.ok(&[
        "create",
        "secret",
        "generic",
        "later-secret",
        "--from-literal=token=t0k",
    ]);
    for job in ["env-later", "vol-later"] {
        c.ok(&[
            "wait",
            "--for=condition=complete",
            &format!("job/{job}"),
            "--timeout=60s",
        ]);
    }
    assert_eq!(c.ok(&["logs", "job/env-later"]), "MODE=slow\n");
    assert_eq!(c.ok(&["logs", "job/vol-later"]), "t0k");
}

#[test]
fn config_maps_and_secrets_behave_as_objects() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write(
        "objs.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata: {name: frozen}
immutable: true
data: {a: '1'}
---
apiVersion: v1
kind: Secret
metadata: {name: typed}
type: kubernetes.io/basic-auth
stringData: {username: alice, password: pw}
",
    );
    c.ok(&["apply", "-f", &f]);
    assert_eq!(
        c.ok(&["get", "secret", "typed", "-o", "jsonpath={.data.username}"]),
        "YWxpY2U="
    );
    assert_eq!(
        c.ok(&["get", "secret", "typed", "-o", "jsonpath={.stringData}"]),
        "",
        "stringData is write-only"
    );
    let err = c.err(&[
        "patch",
        "configmap",
        "frozen",
        "-p",
        "{\"data\":{\"a\":\"2\"}}",
    ]);
    assert!(
        err.contains("The ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set"),
        "{err}"
    );
    let err = c.err(&["patch", "secret", "typed", "-p", "{\"type\":\"Opaque\"}"]);
    assert!(
        err.contains("type: Invalid value: \"Opaque\": field is immutable"),
        "{err}"
    );
    let bad = c.write("bad.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\ntype: kubernetes.io/tls\ndata: {tls.crt: MQ==}\n");
    let err = c.err(&["create", "-f", &bad]);
    assert!(err.contains("data[tls.key]: Required value"), "{err}");
    c.ok(&["delete", "configmap", "frozen"]);
    c.ok(&["delete", "secret", "--all"]);
    assert_eq!(
        c.ok(&["get", "cm,secrets", "--no-headers", "--ignore-not-found"]),
        ""
    );
    // A namespace takes its ConfigMaps and Secrets with it.
    c.ok(&["create", "namespace", "gone"]);
    c.ok(&[
        "create",
        "configmap",
        "x",
        "-n",
        "gone",
        "--from-literal=a=b",
    ]);
    c.ok(&[
        "delete",
        "namespace",
        "gone",
        "--wait=true",
        "--timeout=30s",
    ]);
    c.ok(&["create", "namespace", "gone"]);
    assert_eq!(
        c.ok(&[
            "get",
            "cm",
            "-n",
            "gone",
            "--no-headers",
            "--ignore-not-found"
        ]),
        ""
    );
}
