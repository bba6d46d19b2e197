//! Template databases: made once, copied migrated, dropped afterwards.

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;
use tasktracker_testkit::{PostgresDatabase, admin_url, ensure_template, sqlite_database, template_name};

async fn migrations_applied(url: &str) -> i64 {
    let db = Database::connect(url).await.expect("connects");
    let count = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT count(*) AS n FROM seaql_migrations"))
        .await
        .expect("seaql_migrations exists")
        .expect("a row")
        .try_get::<i64>("", "n")
        .expect("a count");
    db.close().await.ok();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_migrated_and_concurrent_creations_take_turns() {
    let admin = admin_url();
    let (a, b, c) = tokio::join!(
        PostgresDatabase::create(&admin, "tasktracker_kit"),
        PostgresDatabase::create(&admin, "tasktracker_kit"),
        PostgresDatabase::create(&admin, "tasktracker_kit"),
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let expected = tasktracker_migrations::Migrator::migrations().len() as i64;
    for database in [&a, &b, &c] {
        assert_eq!(migrations_applied(&database.url).await, expected);
    }
    assert_eq!(ensure_template(&admin).await.unwrap(), template_name());

    let name = a.name().to_owned();
    drop(a);
    let db = Database::connect(admin.clone()).await.unwrap();
    let left = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(left, 0, "a dropped PostgresDatabase leaves no database behind");
    db.close().await.ok();
}

#[tokio::test]
async fn empty_databases_have_no_migrations() {
    let database = PostgresDatabase::create_empty(&admin_url(), "tasktracker_kit").await.unwrap();
    let db = Database::connect(database.url.clone()).await.unwrap();
    let tables = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(tables, 0);
    db.close().await.ok();
}

#[tokio::test]
async fn sqlite_copies_are_migrated() {
    let directory = std::env::temp_dir().join(format!("tasktracker-kit-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("test.sqlite3");
    sqlite_database(&path).await.unwrap();
    let expected = tasktracker_migrations::Migrator::migrations().len() as i64;
    assert_eq!(migrations_applied(&format!("sqlite://{}", path.display())).await, expected);
    std::fs::remove_dir_all(&directory).ok();
}
