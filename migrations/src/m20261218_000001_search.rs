//! Indexed full-text search over tasks: their title, description and live
//! comments, kept current by the database in the transaction of each write.
//!
//! PostgreSQL:
//!
//! - `task_search (task_id, document)`: one `tsvector` per task, the title
//!   weighted `A`, the description `B`, the live comments' bodies `C`
//!   (their first 100,000 characters, well under the `tsvector` size
//!   limit), with a GIN index. Its text search configuration is the one
//!   function `task_search_config()` returns, `english` (Snowball stemming:
//!   "running" finds "run"; English stop words are dropped). An operator
//!   who wants another language replaces that function and rebuilds the
//!   documents (`docs/operations.md`); the server reads it in every query,
//!   so the two never disagree.
//! - GIN trigram indexes (`pg_trgm`) on `lower(title)` and
//!   `lower(description)`: typo-tolerant title matching for `SearchTasks`,
//!   and the index for `ListTasks`' free-text term, whose
//!   `lower(…) LIKE '%…%'` they serve as written.
//!
//! SQLite: `task_search`, an FTS5 table (`porter` stemming over
//! `unicode61`) of title, description and comments, and `task_trigrams`, an
//! FTS5 `trigram` table of title and description (substrings and typo
//! candidates), both keyed by `task_search_keys.key`, an `INTEGER PRIMARY
//! KEY` per task (a table's implicit rowid may change on `VACUUM`; an
//! explicit integer key does not).
//!
//! Both are kept by triggers, so every writer keeps them current, the
//! previous release included (expand only: it never names the new tables):
//! a task's insert, a change of its title or description, a comment's
//! insert, edit, delete or soft delete. On PostgreSQL the refresh first
//! locks the task's document row, then reads the task and its comments
//! afresh: two writers of one task (a comment and an edit) queue, and the
//! second sees the first's change, so neither overwrites the other's
//! document with a stale one. The characters U+E000 and U+E001, which mark
//! highlights in snippets, are left out of the indexed text.
//!
//! Contract step: none needed; a later release may move the refresh into
//! the repositories and drop the triggers.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261218_000001_search"
    }
}

/// Most characters of a task's comments that are indexed.
const MAX_COMMENT_CHARS: usize = 100_000;

fn postgres_up() -> Vec<String> {
    vec![
        "CREATE EXTENSION IF NOT EXISTS pg_trgm".into(),
        r#"CREATE FUNCTION "task_search_config"() RETURNS regconfig LANGUAGE sql IMMUTABLE PARALLEL SAFE
           AS $$ SELECT 'english'::regconfig $$"#
            .into(),
        r#"CREATE TABLE "task_search" (
             "task_id" varchar(36) PRIMARY KEY REFERENCES "tasks" ("id") ON DELETE CASCADE,
             "document" tsvector NOT NULL
           )"#
        .into(),
        r#"CREATE INDEX "task_search_document" ON "task_search" USING gin ("document")"#.into(),
        r#"CREATE INDEX "tasks_title_trgm" ON "tasks" USING gin (lower("title") gin_trgm_ops)"#.into(),
        r#"CREATE INDEX "tasks_description_trgm" ON "tasks" USING gin (lower("description") gin_trgm_ops)"#.into(),
        format!(
            r#"CREATE FUNCTION "task_search_document"("task" varchar) RETURNS tsvector LANGUAGE sql STABLE AS $$
                 SELECT setweight(to_tsvector("task_search_config"(), translate("t"."title", U&'\E000\E001', '')), 'A')
                     || setweight(to_tsvector("task_search_config"(), translate("t"."description", U&'\E000\E001', '')), 'B')
                     || setweight(to_tsvector("task_search_config"(), translate(left(COALESCE(
                          (SELECT string_agg("c"."body", ' ' ORDER BY "c"."id") FROM "comments" AS "c"
                           WHERE "c"."task_id" = "t"."id" AND "c"."delete_time" IS NULL), ''), {MAX_COMMENT_CHARS}),
                          U&'\E000\E001', '')), 'C')
                 FROM "tasks" AS "t" WHERE "t"."id" = "task"
               $$"#
        ),
        r#"CREATE FUNCTION "task_search_refresh"("task" varchar) RETURNS void LANGUAGE plpgsql AS $$
           BEGIN
             PERFORM 1 FROM "task_search" WHERE "task_id" = "task" FOR UPDATE;
             INSERT INTO "task_search" ("task_id", "document")
               SELECT "t"."id", "task_search_document"("t"."id") FROM "tasks" AS "t" WHERE "t"."id" = "task"
             ON CONFLICT ("task_id") DO UPDATE SET "document" = EXCLUDED."document";
           END $$"#
            .into(),
        r#"CREATE FUNCTION "task_search_on_task"() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             PERFORM "task_search_refresh"(NEW."id");
             RETURN NULL;
           END $$"#
            .into(),
        r#"CREATE FUNCTION "task_search_on_comment"() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               PERFORM "task_search_refresh"(OLD."task_id");
             ELSE
               PERFORM "task_search_refresh"(NEW."task_id");
             END IF;
             RETURN NULL;
           END $$"#
            .into(),
        r#"CREATE TRIGGER "task_search_insert" AFTER INSERT ON "tasks"
           FOR EACH ROW EXECUTE FUNCTION "task_search_on_task"()"#
            .into(),
        r#"CREATE TRIGGER "task_search_update" AFTER UPDATE OF "title", "description" ON "tasks"
           FOR EACH ROW WHEN (OLD."title" IS DISTINCT FROM NEW."title" OR OLD."description" IS DISTINCT FROM NEW."description")
           EXECUTE FUNCTION "task_search_on_task"()"#
            .into(),
        r#"CREATE TRIGGER "task_search_comment_insert" AFTER INSERT ON "comments"
           FOR EACH ROW EXECUTE FUNCTION "task_search_on_comment"()"#
            .into(),
        r#"CREATE TRIGGER "task_search_comment_update" AFTER UPDATE OF "body", "delete_time" ON "comments"
           FOR EACH ROW WHEN (OLD."body" IS DISTINCT FROM NEW."body" OR OLD."delete_time" IS DISTINCT FROM NEW."delete_time")
           EXECUTE FUNCTION "task_search_on_comment"()"#
            .into(),
        r#"CREATE TRIGGER "task_search_comment_delete" AFTER DELETE ON "comments"
           FOR EACH ROW EXECUTE FUNCTION "task_search_on_comment"()"#
            .into(),
        // The tasks written before the triggers (the triggers exist first, in
        // this transaction, and block the tables' writers until it commits).
        r#"INSERT INTO "task_search" ("task_id", "document")
           SELECT "id", "task_search_document"("id") FROM "tasks"
           ON CONFLICT ("task_id") DO NOTHING"#
            .into(),
    ]
}

fn postgres_down() -> Vec<String> {
    [
        r#"DROP TRIGGER "task_search_comment_delete" ON "comments""#,
        r#"DROP TRIGGER "task_search_comment_update" ON "comments""#,
        r#"DROP TRIGGER "task_search_comment_insert" ON "comments""#,
        r#"DROP TRIGGER "task_search_update" ON "tasks""#,
        r#"DROP TRIGGER "task_search_insert" ON "tasks""#,
        r#"DROP FUNCTION "task_search_on_comment"()"#,
        r#"DROP FUNCTION "task_search_on_task"()"#,
        r#"DROP FUNCTION "task_search_refresh"(varchar)"#,
        r#"DROP FUNCTION "task_search_document"(varchar)"#,
        r#"DROP INDEX "tasks_description_trgm""#,
        r#"DROP INDEX "tasks_title_trgm""#,
        r#"DROP TABLE "task_search""#,
        r#"DROP FUNCTION "task_search_config"()"#,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// SQLite: `text` without the highlight markers.
fn clean(text: &str) -> String {
    format!("replace(replace({text}, char(57344), ''), char(57345), '')")
}

/// SQLite: the live comments of the task `task`, as indexed.
fn comments_of(task: &str) -> String {
    clean(&format!(
        r#"substr(COALESCE((SELECT group_concat("c"."body", ' ') FROM "comments" AS "c"
             WHERE "c"."task_id" = {task} AND "c"."delete_time" IS NULL), ''), 1, {MAX_COMMENT_CHARS})"#
    ))
}

/// SQLite: the key of the task `task`.
fn key_of(task: &str) -> String {
    format!(r#"(SELECT "key" FROM "task_search_keys" WHERE "task_id" = {task})"#)
}

fn sqlite_up() -> Vec<String> {
    let refresh_comments = |task: &str| {
        format!(r#"UPDATE "task_search" SET "comments" = {} WHERE "rowid" = {};"#, comments_of(task), key_of(task))
    };
    vec![
        r#"CREATE TABLE "task_search_keys" ("key" INTEGER PRIMARY KEY, "task_id" TEXT NOT NULL UNIQUE)"#.into(),
        r#"CREATE VIRTUAL TABLE "task_search" USING fts5("title", "description", "comments", tokenize = 'porter unicode61 remove_diacritics 2')"#.into(),
        r#"CREATE VIRTUAL TABLE "task_trigrams" USING fts5("title", "description", tokenize = 'trigram')"#.into(),
        format!(
            r#"CREATE TRIGGER "task_search_insert" AFTER INSERT ON "tasks" BEGIN
                 INSERT INTO "task_search_keys" ("task_id") VALUES (NEW."id");
                 INSERT INTO "task_search" ("rowid", "title", "description", "comments")
                   VALUES ({key}, {title}, {description}, {comments});
                 INSERT INTO "task_trigrams" ("rowid", "title", "description")
                   VALUES ({key}, NEW."title", NEW."description");
               END"#,
            key = key_of(r#"NEW."id""#),
            title = clean(r#"NEW."title""#),
            description = clean(r#"NEW."description""#),
            comments = comments_of(r#"NEW."id""#),
        ),
        format!(
            r#"CREATE TRIGGER "task_search_update" AFTER UPDATE OF "title", "description" ON "tasks"
               WHEN OLD."title" IS NOT NEW."title" OR OLD."description" IS NOT NEW."description" BEGIN
                 UPDATE "task_search" SET "title" = {title}, "description" = {description} WHERE "rowid" = {key};
                 UPDATE "task_trigrams" SET "title" = NEW."title", "description" = NEW."description" WHERE "rowid" = {key};
               END"#,
            key = key_of(r#"NEW."id""#),
            title = clean(r#"NEW."title""#),
            description = clean(r#"NEW."description""#),
        ),
        format!(
            r#"CREATE TRIGGER "task_search_delete" AFTER DELETE ON "tasks" BEGIN
                 DELETE FROM "task_search" WHERE "rowid" = {key};
                 DELETE FROM "task_trigrams" WHERE "rowid" = {key};
                 DELETE FROM "task_search_keys" WHERE "task_id" = OLD."id";
               END"#,
            key = key_of(r#"OLD."id""#),
        ),
        format!(
            r#"CREATE TRIGGER "task_search_comment_insert" AFTER INSERT ON "comments" BEGIN {} END"#,
            refresh_comments(r#"NEW."task_id""#)
        ),
        format!(
            r#"CREATE TRIGGER "task_search_comment_update" AFTER UPDATE OF "body", "delete_time" ON "comments"
               WHEN OLD."body" IS NOT NEW."body" OR OLD."delete_time" IS NOT NEW."delete_time" BEGIN {} END"#,
            refresh_comments(r#"NEW."task_id""#)
        ),
        format!(
            r#"CREATE TRIGGER "task_search_comment_delete" AFTER DELETE ON "comments" BEGIN {} END"#,
            refresh_comments(r#"OLD."task_id""#)
        ),
        // The tasks written before the triggers (SQLite migrates with one
        // writer: none slips in between).
        r#"INSERT INTO "task_search_keys" ("task_id") SELECT "id" FROM "tasks" ORDER BY "id""#.into(),
        format!(
            r#"INSERT INTO "task_search" ("rowid", "title", "description", "comments")
               SELECT "k"."key", {title}, {description}, {comments}
               FROM "tasks" AS "t" JOIN "task_search_keys" AS "k" ON "k"."task_id" = "t"."id""#,
            title = clean(r#""t"."title""#),
            description = clean(r#""t"."description""#),
            comments = comments_of(r#""t"."id""#),
        ),
        r#"INSERT INTO "task_trigrams" ("rowid", "title", "description")
           SELECT "k"."key", "t"."title", "t"."description"
           FROM "tasks" AS "t" JOIN "task_search_keys" AS "k" ON "k"."task_id" = "t"."id""#
            .into(),
    ]
}

fn sqlite_down() -> Vec<String> {
    [
        r#"DROP TRIGGER "task_search_comment_delete""#,
        r#"DROP TRIGGER "task_search_comment_update""#,
        r#"DROP TRIGGER "task_search_comment_insert""#,
        r#"DROP TRIGGER "task_search_delete""#,
        r#"DROP TRIGGER "task_search_update""#,
        r#"DROP TRIGGER "task_search_insert""#,
        r#"DROP TABLE "task_trigrams""#,
        r#"DROP TABLE "task_search""#,
        r#"DROP TABLE "task_search_keys""#,
    ]
    .map(str::to_owned)
    .to_vec()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_up(),
            _ => sqlite_up(),
        };
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_down(),
            _ => sqlite_down(),
        };
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
