//! The router: every gRPC service on one port, the middleware stacked around
//! them, and the web app's static files as the fallback.

use std::{sync::Arc, time::Duration};

use ipnet::IpNet;

use axum::{
    extract::Request,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
};
use http::{HeaderName, HeaderValue, Method};
use tasktracker_proto::google::longrunning::operations_server::OperationsServer;
use tasktracker_proto::v1::{
    account_service_server::AccountServiceServer, attachment_service_server::AttachmentServiceServer,
    custom_field_service_server::CustomFieldServiceServer, import_service_server::ImportServiceServer,
    notification_service_server::NotificationServiceServer, project_service_server::ProjectServiceServer,
    saved_view_service_server::SavedViewServiceServer, task_relation_service_server::TaskRelationServiceServer,
    task_service_server::TaskServiceServer, webhook_service_server::WebhookServiceServer,
    workflow_state_service_server::WorkflowStateServiceServer,
};
use tonic::service::Routes;
use tonic_health::pb::health_server::{Health, HealthServer};
use tower::ServiceExt;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    services::{ServeDir, ServeFile},
};

use crate::{
    attachments::local::{self, LocalStore},
    auth::layer::{Authenticator, authenticate},
    config::Settings,
    observe::observe,
    overload::{CallLimit, DefaultDeadline, enforce_deadline, fail_fast_while_database_down, shed_load},
    services::{
        SharedState, accounts::Accounts, attachments::Attachments, fields::Fields, notifications::Notifications,
        projects::Projects, relations::Relations, states::States, tasks::Tasks, views::Views, webhooks::Webhooks,
    },
    services::{imports::Imports, operations::OperationsService},
    transport::{client::resolve_client, framing::check_framing},
};

/// Largest request message accepted (and response sent).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Builds the router for `shared`'s services.
///
/// Layer order, outermost (first to see a request) to innermost; each
/// `.layer` call below wraps everything above it:
/// 1. CORS: answers browser preflights before anything else runs.
/// 2. gRPC-web: translates gRPC-web (binary and text) into gRPC, so every
///    layer below sees one protocol.
/// 3. Framing: checks how the request body is cut into messages, so a
///    malformed body is INVALID_ARGUMENT, never INTERNAL.
/// 4. Observe: span, log line and RED metrics for every call, including
///    those refused below.
/// 5. Shed load: refuses calls beyond the concurrency limit at once.
/// 6. Deadline: the server's default deadline for calls that bring none.
/// 7. Fail fast while the database is down: UNAVAILABLE without queueing.
/// 8. Authenticate: turns the bearer token into a `Caller` (health and
///    reflection need none); handlers then authorize through `Authorizer`.
///
/// With the embedded object store (`local_files`), its signed upload and
/// download route sits beside the gRPC services, behind CORS only: its
/// URLs carry their own authorization.
pub fn build(
    settings: &Settings,
    shared: &SharedState,
    authenticator: Authenticator,
    health: HealthServer<impl Health>,
    local_files: Option<Arc<LocalStore>>,
) -> anyhow::Result<axum::Router> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tasktracker_proto::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // So reflection clients can decode google.rpc.BadRequest details.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let mut builder = Routes::builder();
    builder
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(
            AccountServiceServer::new(Accounts::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            ProjectServiceServer::new(Projects::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            TaskServiceServer::new(Tasks::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            WorkflowStateServiceServer::new(States::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            CustomFieldServiceServer::new(Fields::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            TaskRelationServiceServer::new(Relations::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            SavedViewServiceServer::new(Views::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            NotificationServiceServer::new(Notifications::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            WebhookServiceServer::new(Webhooks::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            // The file comes in the request: the import limit, and room for
            // the rest of the message.
            ImportServiceServer::new(Imports::new(shared.clone()))
                .max_decoding_message_size(shared.import_max_bytes.saturating_add(MAX_MESSAGE_BYTES))
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            OperationsServer::new(OperationsService::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            AttachmentServiceServer::new(Attachments::new(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        );
    let mut router = builder
        .routes()
        .into_axum_router()
        .layer(from_fn_with_state(authenticator, authenticate))
        .layer(from_fn_with_state(shared.database.clone(), fail_fast_while_database_down))
        .layer(from_fn_with_state(DefaultDeadline(settings.request_timeout), enforce_deadline))
        .layer(from_fn_with_state(CallLimit::new(settings.max_concurrent_calls), shed_load))
        .layer(from_fn_with_state(shared.metrics.clone(), observe))
        .layer(from_fn(check_framing))
        .layer(from_fn_with_state(Arc::<[IpNet]>::from(settings.trusted_proxies.clone()), resolve_client))
        .layer(tonic_web::GrpcWebLayer::new());
    if let Some(files) = local_files {
        router = router.merge(local::router(files));
    }
    if let Some(cors) = cors(&settings.cors_origins)? {
        router = router.layer(cors);
    }
    if let Some(web_dir) = &settings.web_dir {
        let files = ServeDir::new(web_dir).fallback(ServeFile::new(web_dir.join("index.html")));
        router = router.fallback(move |request: Request| async move {
            let grpc = request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
            if grpc {
                return tonic::Status::unimplemented("no such method").into_http::<axum::body::Body>().into_response();
            }
            match files.oneshot(request).await {
                Ok(response) => response.into_response(),
                Err(never) => match never {},
            }
        });
    }
    Ok(router)
}

fn cors(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins.iter().map(|origin| HeaderValue::from_str(origin.trim())).collect::<Result<Vec<_>, _>>()?;
    let headers =
        ["content-type", "authorization", "x-grpc-web", "x-user-agent", "grpc-timeout"].map(HeaderName::from_static);
    // `content-disposition`: the embedded object store's downloads.
    let exposed =
        ["grpc-status", "grpc-message", "grpc-status-details-bin", "content-disposition"].map(HeaderName::from_static);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            // PUT and GET: the embedded object store's signed uploads and downloads.
            .allow_methods([Method::POST, Method::PUT, Method::GET, Method::OPTIONS])
            .allow_headers(headers)
            .expose_headers(exposed)
            .max_age(Duration::from_secs(3_600)),
    ))
}
