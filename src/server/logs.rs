//! `GET …/pods/{name}/log`: a container's log as plain text, with kubectl's options
//! (`container`, `follow`, `previous`, `tailLines`, `timestamps`, `sinceSeconds`,
//! `sinceTime`, `limitBytes`), following shared/reference/kubectl-api.md §9.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::HeaderValue;
use axum::response::Response;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::ApiState;
use super::error::ApiError;
use super::handlers::Query;
use crate::api::pod as podutil;
use crate::kubelet::logs::{ContainerLog, LogLine};
use crate::store::Resource;

struct Options {
    tail: Option<usize>,
    timestamps: bool,
    since: Option<Timestamp>,
    limit: Option<usize>,
}

fn render(lines: &[LogLine], o: &Options) -> Vec<u8> {
    let lines: Vec<&LogLine> = lines
        .iter()
        .filter(|l| o.since.is_none_or(|s| l.time >= s))
        .collect();
    let start = o.tail.map_or(0, |t| lines.len().saturating_sub(t));
    let mut out = Vec::new();
    for l in &lines[start..] {
        if o.timestamps {
            out.extend_from_slice(format!("{} ", l.time).as_bytes());
        }
        out.extend_from_slice(&l.bytes);
    }
    if let Some(limit) = o.limit {
        out.truncate(limit);
    }
    out
}

/// The log handler.
pub async fn pod_log(
    state: Arc<ApiState>,
    ns: String,
    name: String,
    q: Query,
) -> Result<Response, ApiError> {
    let key = format!("{ns}/{name}");
    let pod: Pod = state
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(Resource::Pods, &name))?;
    let spec = pod.spec.clone().unwrap_or_default();
    let container = match q.get("container").filter(|c| !c.is_empty()) {
        Some(c) => c.clone(),
        None if spec.containers.len() == 1 => spec.containers[0].name.clone(),
        None => {
            let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    let known = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| c.name == container);
    if !known {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    let flag = |k: &str| q.get(k).is_some_and(|v| v == "true" || v == "1");
    let previous = flag("previous");
    let follow = flag("follow") && !previous;
    let since = match (q.get("sinceSeconds"), q.get("sinceTime")) {
        (Some(s), _) => s.parse::<i64>().ok().and_then(|s| {
            state
                .clock
                .now()
                .checked_sub(jiff::SignedDuration::from_secs(s))
                .ok()
        }),
        (None, Some(t)) => t.parse::<Timestamp>().ok(),
        _ => None,
    };
    // PodLogOptions validation, with the API server's messages.
    let int = |k: &str| -> Result<Option<i64>, ApiError> {
        q.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid value for {k}: {v:?}")))
            })
            .transpose()
    };
    if let Some(t) = int("tailLines")?
        && t < 0
    {
        return Err(ApiError::invalid_message(format!(
            "PodLogOptions \"{name}\" is invalid: tailLines: Invalid value: {t}: must be greater than or equal to 0"
        )));
    }
    if let Some(l) = int("limitBytes")?
        && l < 1
    {
        return Err(ApiError::invalid_message(format!(
            "PodLogOptions \"{name}\" is invalid: limitBytes: Invalid value: {l}: must be greater than 0"
        )));
    }
    if let Some(t) = q.get("sinceTime")
        && t.parse::<Timestamp>().is_err()
    {
        return Err(ApiError::bad_request(format!(
            "parsing time {t:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {t:?} as \"2006\""
        )));
    }
    let options = Options {
        tail: q.get("tailLines").and_then(|t| t.parse().ok()),
        timestamps: flag("timestamps"),
        since,
        limit: q.get("limitBytes").and_then(|t| t.parse().ok()),
    };

    let attempt = state.logs.attempt(&key, &container, previous);
    let log = match attempt {
        Some(l) => l,
        // A container that ran without writing anything leaves no log file: after a
        // restart its log is empty, as the kubelet's would be.
        None if ran_silently(&pod, &container, previous) => {
            return Ok(text(Body::empty()));
        }
        None if previous => {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        None if follow => wait_for_start(&state, &key, &container).await?,
        None => {
            let reason =
                waiting_reason(&pod, &container).unwrap_or_else(|| "ContainerCreating".into());
            return Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
            )));
        }
    };
    if !follow || log.is_finished() {
        return Ok(text(Body::from(render(&log.lines(), &options))));
    }
    Ok(text(Body::from_stream(ReceiverStream::new(follow_log(
        log, options,
    )))))
}

fn text(body: Body) -> Response {
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    resp
}

/// Whether the status shows the container (`previous`: its previous attempt) having run.
fn ran_silently(pod: &Pod, container: &str, previous: bool) -> bool {
    let Some(status) = pod.status.as_ref() else {
        return false;
    };
    let Some(c) = status
        .container_statuses
        .iter()
        .chain(status.init_container_statuses.iter())
        .flatten()
        .find(|c| c.name == container)
    else {
        return false;
    };
    if previous {
        c.restart_count > 0
    } else {
        c.state
            .as_ref()
            .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
    }
}

fn waiting_reason(pod: &Pod, container: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .iter()
        .chain(pod.status.as_ref()?.init_container_statuses.iter())
        .flatten()
        .find(|c| c.name == container)?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

/// A kubelet answers 400 while a container has not started; for `follow` we hold the
/// request instead (kubectl accepts the wait), until it starts or the pod is gone.
async fn wait_for_start(
    state: &ApiState,
    key: &str,
    container: &str,
) -> Result<Arc<ContainerLog>, ApiError> {
    let mut changes = state.store.subscribe();
    loop {
        if let Some(l) = state.logs.attempt(key, container, false) {
            return Ok(l);
        }
        let pod: Option<Pod> = state.store.get(key);
        match pod {
            None => {
                let name = key.rsplit('/').next().unwrap_or(key);
                return Err(ApiError::not_found(Resource::Pods, name));
            }
            Some(p) if podutil::is_terminal(&p) => {
                return Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{}\" is terminated",
                    p.metadata.name.unwrap_or_default()
                )));
            }
            Some(_) => {}
        }
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

fn follow_log(
    log: Arc<ContainerLog>,
    mut options: Options,
) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut changes = log.subscribe();
        let mut sent = 0usize;
        let mut sent_bytes = 0usize;
        loop {
            changes.borrow_and_update();
            let lines = log.lines();
            let finished = log.is_finished();
            // Only complete lines are sent while the container runs.
            let complete = if finished {
                lines.len()
            } else {
                lines
                    .iter()
                    .take_while(|l| l.bytes.ends_with(b"\n"))
                    .count()
            };
            if complete > sent {
                let mut chunk = render(&lines[sent..complete], &options);
                options.tail = None;
                if let Some(limit) = options.limit {
                    chunk.truncate(limit.saturating_sub(sent_bytes));
                }
                sent_bytes += chunk.len();
                sent = complete;
                if !chunk.is_empty() && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                    return;
                }
                if options.limit.is_some_and(|l| sent_bytes >= l) {
                    return;
                }
            }
            if finished {
                return;
            }
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = tx.closed() => return,
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: i64, s: &str) -> LogLine {
        LogLine {
            time: Timestamp::from_second(t).unwrap(),
            bytes: s.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tail_timestamps_since_and_limit_apply_in_order() {
        let lines = [line(10, "a\n"), line(20, "b\n"), line(30, "c\n")];
        let o = |tail, ts, since: Option<i64>, limit| Options {
            tail,
            timestamps: ts,
            since: since.map(|s| Timestamp::from_second(s).unwrap()),
            limit,
        };
        assert_eq!(render(&lines, &o(Some(2), false, None, None)), b"b\nc\n");
        assert_eq!(render(&lines, &o(None, false, Some(20), None)), b"b\nc\n");
        assert_eq!(render(&lines, &o(None, false, None, Some(3))), b"a\nb");
        assert_eq!(
            render(&lines[2..], &o(None, true, None, None)),
            b"1970-01-01T00:00:30Z c\n"
        );
    }
}
