//! Traces and logs from a real server process: a call carrying a W3C
//! `traceparent` produces a server span in that trace, with database child
//! spans, exported over OTLP to a receiver in this test; the JSON log line
//! for the call carries the trace id and no secret.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use tasktracker_proto::v1::{
    self, account_service_client::AccountServiceClient, project_service_client::ProjectServiceClient,
    task_service_client::TaskServiceClient,
};
use tonic::{Request, Response, Status};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PASSWORD: &str = "a password nobody may log";

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn traced<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01").parse().unwrap());
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_call_exports_a_server_span_with_database_children_and_logs_its_trace_id() {
    // The OTLP receiver.
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let data = std::env::temp_dir().join(format!("tasktracker-telemetry-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tasktracker-server"))
        .env_clear()
        .env("TASKTRACKER_DATA_DIR", &data)
        .env("TASKTRACKER_LISTEN_ADDR", "127.0.0.1:0")
        .env("TASKTRACKER_METRICS_ADDR", "127.0.0.1:0")
        .env("TASKTRACKER_LOG_FORMAT", "json")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::piped())
        .spawn()
        .expect("server starts");
    let (lines_sender, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_sender.send(line);
        }
    });
    let mut log = Vec::new();
    let address: SocketAddr = loop {
        let line = lines.recv_timeout(Duration::from_secs(30)).expect("the server logs its address");
        let json: serde_json::Value = serde_json::from_str(&line).expect("every log line is JSON");
        log.push(line);
        if let Some(address) = json.get("address").and_then(|a| a.as_str()) {
            break address.parse().unwrap();
        }
    };

    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    let signed_up = AccountServiceClient::new(channel.clone())
        .sign_up(traced(
            v1::SignUpRequest {
                email: "traced@example.com".into(),
                password: PASSWORD.into(),
                display_name: "T".into(),
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    let token = signed_up.session.unwrap().access_token;
    let project = ProjectServiceClient::new(channel.clone())
        .create_project(traced(
            v1::CreateProjectRequest {
                project: Some(v1::Project { title: "Traced".into(), ..Default::default() }),
                request_id: String::new(),
            },
            Some(&token),
        ))
        .await
        .unwrap()
        .into_inner();
    TaskServiceClient::new(channel)
        .create_task(traced(
            v1::CreateTaskRequest {
                parent: project.name,
                task: Some(v1::Task { title: "traced".into(), ..Default::default() }),
                request_id: String::new(),
            },
            Some(&token),
        ))
        .await
        .unwrap();

    // SIGTERM flushes the remaining spans on the way out.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        log.push(line);
    }
    let _ = std::fs::remove_dir_all(&data);

    let spans: Vec<_> = receiver
        .0
        .lock()
        .unwrap()
        .iter()
        .flat_map(|export| export.resource_spans.iter())
        .flat_map(|resource| resource.scope_spans.iter())
        .flat_map(|scope| scope.spans.iter())
        .filter(|span| hex(&span.trace_id) == TRACE_ID)
        .cloned()
        .collect();
    let server = spans
        .iter()
        .find(|span| span.name == "tasktracker.v1.TaskService/CreateTask")
        .unwrap_or_else(|| panic!("no CreateTask span in {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>()));
    assert_eq!(server.kind, opentelemetry_proto::tonic::trace::v1::span::SpanKind::Server as i32);
    assert_eq!(hex(&server.parent_span_id), "00f067aa0ba902b7", "the caller's span is the parent");
    let children: Vec<&str> =
        spans.iter().filter(|span| span.parent_span_id == server.span_id).map(|span| span.name.as_str()).collect();
    assert!(children.contains(&"db.authorize"), "{children:?}");
    assert!(children.contains(&"db.tasks.record_change"), "{children:?}");

    // One JSON line per RPC, with the trace id and the caller, never a secret.
    let finished: Vec<serde_json::Value> = log
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|json| json["message"] == "rpc finished")
        .collect();
    assert_eq!(finished.len(), 3, "{log:#?}");
    for line in &finished {
        assert_eq!(line["span"]["trace_id"], TRACE_ID, "{line}");
        assert_eq!(line["code"], "OK");
        assert!(line["duration_ms"].as_f64().is_some());
    }
    assert!(
        finished[2]["span"]["caller"].as_str().is_some_and(|caller| signed_up
            .user
            .as_ref()
            .unwrap()
            .name
            .ends_with(caller))
    );
    let everything = log.join("\n");
    assert!(!everything.contains(PASSWORD), "a password was logged");
    assert!(!everything.contains(&token), "an access token was logged");
    assert!(!everything.contains(&token[token.len() - 20..]), "part of an access token was logged");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
