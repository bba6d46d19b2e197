//! Health follows the database; migrations tolerate concurrent starts.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{Backend, TestDatabase, eventually, postgres_admin_url, spawn_app};

async fn status(app: &crate::helpers::TestApp, service: &str) -> i32 {
    HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest { service: service.into() })
        .await
        .map(|response| response.into_inner().status)
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_database_going_away_and_coming_back() {
    let app = spawn_app(Backend::Postgres).await;
    assert_eq!(status(&app, "").await, ServingStatus::Serving as i32);
    assert_eq!(status(&app, "tasktracker.v1.TaskService").await, ServingStatus::Serving as i32);

    let name = app.database.url.rsplit('/').next().unwrap().to_owned();
    let admin = Database::connect(postgres_admin_url()).await.unwrap();
    admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    eventually(Duration::from_secs(15), async || status(&app, "").await == ServingStatus::NotServing as i32).await;
    assert_eq!(status(&app, "tasktracker.v1.TaskService").await, ServingStatus::NotServing as i32);

    // No restart needed once the database is back.
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    admin.close().await.unwrap();
    eventually(Duration::from_secs(15), async || status(&app, "").await == ServingStatus::Serving as i32).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_migrating_at_once_take_turns() {
    // Empty: the three must really migrate it.
    let database = TestDatabase::create_empty(Backend::Postgres).await;
    let url: secrecy::SecretString = database.url.clone().into();
    let (first, second, third) = tokio::join!(
        tasktracker_server::storage::migrate(&url),
        tasktracker_server::storage::migrate(&url),
        tasktracker_server::storage::migrate(&url),
    );
    first.unwrap();
    second.unwrap();
    third.unwrap();
    let db = Database::connect(database.url.clone()).await.unwrap();
    let applied = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    use tasktracker_migrations::MigratorTrait as _;
    let expected = tasktracker_migrations::Migrator::migrations().len() as i64;
    assert_eq!(applied, expected, "each migration applied once");
    db.close().await.unwrap();
}
