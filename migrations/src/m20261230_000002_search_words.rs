//! The words of task titles, for typo-tolerant search on PostgreSQL.
//!
//! `search_words (word)` holds every distinct word (a run of letters and
//! digits, lowercase, 2 to 64 characters, not a number: a typo of a number
//! is another number) that a task's title has held,
//! with a GIN trigram index (`pg_trgm`). A typo in a query ("dashbaord")
//! is matched against these few thousand words instead of against every
//! title: the similar words are then looked up in the full-text index,
//! whose cost is bounded like any other search (`SearchTasks`,
//! `server/src/storage/tasks/search.rs`). Scanning the titles themselves
//! costs a trigram comparison per title sharing a trigram with the query,
//! 0.7 s for a common word in 100,000 tasks.
//!
//! A trigger adds the words of each inserted title and each new title, so
//! every writer keeps it current, the previous release included (expand
//! only: it never names the table). The table has no unique constraint: a
//! word is added unless present, without a lock, so writers never wait on
//! each other here; two writers adding the same new word at once may both
//! add it, which readers ignore. Words of deleted tasks stay: a word found
//! this way that no live task holds matches nothing. SQLite needs none of
//! this (its typo candidates come from an FTS5 trigram table).
//!
//! The full-text index `task_search_document` (and the new trigram index)
//! stop using GIN's pending list (`fastupdate = off`): with it, a write
//! appends to an unsorted list that every search scans until vacuum or a
//! 4 MB limit merges it, so search latency grew with recent writes (seconds
//! right after a bulk load of 100,000 tasks; `docs/performance.md`). Without
//! it each write of a task's document updates the index in place, a few
//! dozen entries; the list left over is merged here.
//!
//! Contract step: none needed.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261230_000002_search_words"
    }
}

/// The words of `title` (an SQL expression), as the table keeps them.
fn words_of(title: &str) -> String {
    format!(
        r#"SELECT DISTINCT "w" FROM regexp_split_to_table(lower({title}), '[^[:alnum:]]+') AS "w"
           WHERE length("w") BETWEEN 2 AND 64 AND "w" !~ '^[0-9]+$'"#
    )
}

fn postgres_up() -> Vec<String> {
    vec![
        "CREATE EXTENSION IF NOT EXISTS pg_trgm".into(),
        r#"CREATE TABLE "search_words" ("word" text NOT NULL)"#.into(),
        r#"CREATE INDEX "search_words_word" ON "search_words" ("word")"#.into(),
        r#"CREATE INDEX "search_words_trigrams" ON "search_words" USING gin ("word" gin_trgm_ops)
           WITH (fastupdate = off)"#
            .into(),
        // Searches read the documents' index directly: no pending list of
        // recent writes to scan first (see the module's notes).
        r#"ALTER INDEX "task_search_document" SET (fastupdate = off)"#.into(),
        r#"SELECT gin_clean_pending_list('"task_search_document"'::regclass)"#.into(),
        format!(
            r#"CREATE FUNCTION "search_words_learn"() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 INSERT INTO "search_words" ("word")
                   SELECT "w" FROM ({words}) AS "added"
                   WHERE NOT EXISTS (SELECT 1 FROM "search_words" AS "known" WHERE "known"."word" = "added"."w");
                 RETURN NULL;
               END $$"#,
            words = words_of(r#"NEW."title""#)
        ),
        r#"CREATE TRIGGER "tasks_search_words" AFTER INSERT OR UPDATE OF "title" ON "tasks"
           FOR EACH ROW EXECUTE FUNCTION "search_words_learn"()"#
            .into(),
        format!(
            r#"INSERT INTO "search_words" ("word")
               SELECT DISTINCT "w" FROM "tasks" CROSS JOIN LATERAL ({words}) AS "title_words""#,
            words = words_of(r#""tasks"."title""#)
        ),
    ]
}

fn postgres_down() -> Vec<String> {
    vec![
        r#"DROP TRIGGER IF EXISTS "tasks_search_words" ON "tasks""#.into(),
        r#"DROP FUNCTION IF EXISTS "search_words_learn"()"#.into(),
        r#"DROP TABLE IF EXISTS "search_words""#.into(),
        r#"ALTER INDEX "task_search_document" RESET (fastupdate)"#.into(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in postgres_up() {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in postgres_down() {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
