//! `SearchTasks`: ranked full-text search over the tasks of the projects a
//! user is a member of, on the indexes of migration
//! `m20261218_000001_search` (see `domain::search` for what matches and
//! how it scores).
//!
//! Typo matches rank below every full-text match, so a page reads them only
//! once the full-text matches run out: first the full-text page (ordered by
//! score and id after the page token's), then, if it is short, the typo
//! matches (titles similar to the query that are not full-text matches) to
//! fill it. A common word fills its pages without looking for typos.
//!
//! PostgreSQL: the full-text page is one statement (the `task_search` GIN
//! index, or for a word in many tasks a walk of the newest tasks that stops
//! at [`RANKED_MATCHES`]), with `ts_headline` for the page's rows only; the
//! typo matches are two: the words of titles similar to the query's
//! (`search_words`, migration `m20261230_000002_search_words`), then up to
//! [`TYPO_CANDIDATES`] of the newest tasks whose title holds one of them.
//! Both are filtered to live tasks of visible projects. SQLite: the FTS5 table (`bm25`, `snippet()`), then up
//! to [`TYPO_CANDIDATES`] candidates from the trigram table (titles sharing
//! a trigram with the query, best first). On both, typo candidates are
//! scored with [`SearchText::title_similarity`].

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, TransactionTrait};

use super::{TaskRecord, TaskStore, TaskStoreError, fetch};
use crate::{
    domain::{
        ProjectId, UserId,
        search::{HIGHLIGHT_END, HIGHLIGHT_START, SearchText, TYPO_THRESHOLD},
    },
    storage::entities::tasks,
};

/// Full-text matches ranked at most, on PostgreSQL: the newest this many
/// (task ids are time-ordered). A word in more tasks than this ranks only
/// its newest matches, so the cost of a search stays bounded however common
/// the word (docs/performance.md: 92 ms to 2.7 ms for a word in 70% of
/// 100,000 tasks); a query with fewer matches ranks them all.
pub const RANKED_MATCHES: u64 = 1_000;
/// Most typo candidates scored per page: the newest titles holding a word
/// similar to a query word (PostgreSQL), or the best trigram matches
/// (SQLite).
const TYPO_CANDIDATES: u64 = 200;
/// Words of titles similar to a query word looked up at most, per query word
/// (PostgreSQL).
const SIMILAR_WORDS: u64 = 5;
/// Lowest trigram similarity of a title's word to a query word for it to be
/// looked up (PostgreSQL): below [`TYPO_THRESHOLD`], since a title's score is
/// its words' mean and a query of several words may have one exact.
const SIMILAR_WORD: f64 = 0.3;
/// Highest score of a typo match: below every full-text match's.
const MAX_TYPO_SCORE: f64 = 0.99;

/// One page of a search.
pub struct SearchQuery<'a> {
    pub caller: UserId,
    pub text: &'a SearchText,
    /// Only this project's tasks.
    pub project: Option<ProjectId>,
    /// Archived projects' tasks too.
    pub include_archived: bool,
    /// The score and id of the previous page's last result.
    pub after: Option<(f64, &'a str)>,
    /// Rows to fetch.
    pub limit: u64,
}

/// A task found, best first.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub record: TaskRecord,
    pub project_title: String,
    pub score: f64,
    /// Text around the match, highlights between
    /// `domain::search::HIGHLIGHT_START` and `HIGHLIGHT_END`.
    pub snippet: String,
}

/// A hit before its task is read.
struct Found {
    task_id: String,
    score: f64,
    project_title: String,
    snippet: String,
}

impl TaskStore {
    /// A page of the tasks matching `query.text` that `query.caller` may
    /// read: live tasks of projects they are a member of (not archived
    /// unless `include_archived`), best first.
    #[tracing::instrument(name = "db.tasks.search", skip_all, fields(otel.kind = "client"))]
    pub async fn search(&self, query: SearchQuery<'_>) -> Result<Vec<SearchHit>, TaskStoreError> {
        let txn = self.db.begin().await?;
        let found = match txn.get_database_backend() {
            DbBackend::Postgres => search_postgres(&txn, &query).await?,
            _ => search_sqlite(&txn, &query).await?,
        };
        let ids: Vec<String> = found.iter().map(|found| found.task_id.clone()).collect();
        let mut records: HashMap<String, TaskRecord> =
            fetch(&txn, tasks::Entity::find().filter(tasks::Column::Id.is_in(ids)))
                .await?
                .into_iter()
                .map(|record| (record.task.id.clone(), record))
                .collect();
        txn.commit().await?;
        Ok(found
            .into_iter()
            .filter_map(|found| {
                let record = records.remove(&found.task_id)?;
                Some(SearchHit {
                    record,
                    project_title: found.project_title,
                    score: found.score,
                    snippet: found.snippet,
                })
            })
            .collect())
    }
}

/// Statement values, numbered as PostgreSQL wants them.
struct Values {
    values: Vec<sea_orm::Value>,
    postgres: bool,
}

impl Values {
    fn push(&mut self, value: impl Into<sea_orm::Value>) -> String {
        self.values.push(value.into());
        if self.postgres { format!("${}", self.values.len()) } else { "?".to_owned() }
    }
}

/// The ids of the projects `query.caller` may search, as a subquery.
fn visible(query: &SearchQuery<'_>, values: &mut Values) -> String {
    let mut sql = format!(
        r#"SELECT "m"."project_id" FROM "memberships" AS "m" JOIN "projects" AS "vp" ON "vp"."id" = "m"."project_id"
           WHERE "m"."user_id" = {}"#,
        values.push(query.caller.to_string())
    );
    if !query.include_archived {
        sql.push_str(r#" AND "vp"."archive_time" IS NULL"#);
    }
    // A project that requires two-factor authentication is searched only by
    // members who have it (as `Authorizer::require` decides for one).
    sql.push_str(
        r#" AND (NOT "vp"."require_two_factor" OR EXISTS (SELECT 1 FROM "totp_credentials" AS "tc"
             WHERE "tc"."user_id" = "m"."user_id" AND "tc"."confirm_time" IS NOT NULL))"#,
    );
    if let Some(project) = query.project {
        sql.push_str(&format!(r#" AND "vp"."id" = {}"#, values.push(project.to_string())));
    }
    sql
}

/// Rows after the previous page's last (`score`, `id`), in the order of
/// score descending, then id.
fn after(score: &str, id: &str, after: Option<(f64, &str)>, values: &mut Values) -> String {
    match after {
        None => String::new(),
        Some((last_score, last_id)) => {
            let (below, equal, id_after) = (values.push(last_score), values.push(last_score), values.push(last_id));
            format!(" AND ({score} < {below} OR ({score} = {equal} AND {id} > {id_after}))")
        }
    }
}

/// The score and id of the previous page's last result.
type After<'a> = (f64, &'a str);

/// Where a page starts: `Some(after)` among the full-text matches (an
/// `after` of score 1 or more, or none), and whether the typo matches, all
/// ranked below them, are reached (and after which).
fn split_after(after: Option<After<'_>>) -> (Option<Option<After<'_>>>, Option<After<'_>>) {
    match after {
        None => (Some(None), None),
        Some(after) if after.0 >= 1.0 => (Some(Some(after)), None),
        Some(after) => (None, Some(after)),
    }
}

fn found_rows(rows: &[sea_orm::QueryResult]) -> Result<Vec<Found>, sea_orm::DbErr> {
    rows.iter()
        .map(|row| {
            Ok(Found {
                task_id: row.try_get("", "task_id")?,
                score: row.try_get("", "score")?,
                project_title: row.try_get("", "project_title")?,
                snippet: row.try_get("", "snippet")?,
            })
        })
        .collect()
}

/// The full-text page, then, if it is short, the typo matches after it.
async fn search_postgres(txn: &impl ConnectionTrait, query: &SearchQuery<'_>) -> Result<Vec<Found>, TaskStoreError> {
    let (text_after, typo_after) = split_after(query.after);
    let mut results = Vec::new();
    if let Some(text_after) = text_after {
        let mut values = Values { values: Vec::new(), postgres: true };
        let text = values.push(query.text.as_str());
        let tsquery = format!(r#"plainto_tsquery("task_search_config"(), {text})"#);
        let visible = visible(query, &mut values);
        let after = after(r#""score""#, r#""task_id""#, text_after, &mut values);
        let limit = query.limit;
        let sql = format!(
            r#"WITH "candidates" AS MATERIALIZED (
                 SELECT "s"."task_id", "s"."document"
                 FROM "task_search" AS "s" JOIN "tasks" AS "t" ON "t"."id" = "s"."task_id"
                 WHERE "s"."document" @@ {tsquery} AND "t"."delete_time" IS NULL AND "t"."project_id" IN ({visible})
                 ORDER BY "s"."task_id" DESC LIMIT {RANKED_MATCHES}
               ),
               "page" AS (
                 SELECT * FROM (
                   SELECT "task_id", CAST(1 + ts_rank("document", {tsquery}, 32) AS double precision) AS "score"
                   FROM "candidates"
                 ) AS "ranked" WHERE TRUE{after}
                 ORDER BY "score" DESC, "task_id" LIMIT {limit}
               )
               SELECT "page"."task_id", "page"."score", "p"."title" AS "project_title",
                 ts_headline("task_search_config"(), translate(CASE
                     WHEN to_tsvector("task_search_config"(), "t"."description") @@ {tsquery} THEN "t"."description"
                     WHEN to_tsvector("task_search_config"(), "t"."title") @@ {tsquery} THEN "t"."title"
                     ELSE COALESCE((SELECT string_agg("c"."body", ' ' ORDER BY "c"."id") FROM "comments" AS "c"
                                    WHERE "c"."task_id" = "t"."id" AND "c"."delete_time" IS NULL), "t"."title")
                   END, U&'\E000\E001', ''), {tsquery},
                   U&'StartSel=\E000, StopSel=\E001, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "') AS "snippet"
               FROM "page" JOIN "tasks" AS "t" ON "t"."id" = "page"."task_id"
                 JOIN "projects" AS "p" ON "p"."id" = "t"."project_id"
               ORDER BY "page"."score" DESC, "page"."task_id""#
        );
        let rows = txn.query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values.values)).await?;
        results = found_rows(&rows)?;
    }
    let rest = query.limit.saturating_sub(results.len() as u64);
    if rest == 0 {
        return Ok(results);
    }
    // The words of titles similar to each query word (`search_words`, a few
    // thousand rows, by its trigram index), then the newest tasks whose
    // title holds one of them (the full-text index, weight A: the title),
    // scored here as on SQLite.
    txn.execute_raw(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT set_config('pg_trgm.similarity_threshold', '{SIMILAR_WORD}', true)"),
    ))
    .await?;
    let sql = format!(
        r#"SELECT DISTINCT "w"."word" FROM unnest(string_to_array($1, ' ')) AS "q"("word")
           CROSS JOIN LATERAL (SELECT "word" FROM "search_words" WHERE "word" % "q"."word"
             ORDER BY similarity("word", "q"."word") DESC, "word" LIMIT {SIMILAR_WORDS}) AS "w""#
    );
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, [query.text.words().join(" ").into()]);
    let similar: Vec<String> =
        txn.query_all_raw(statement).await?.iter().map(|row| row.try_get("", "word")).collect::<Result<_, _>>()?;
    // Letters and digits only (as the table keeps them), so that no word is
    // read as `to_tsquery` syntax.
    let any_word: Vec<String> = similar
        .iter()
        .filter(|word| !word.is_empty() && word.chars().all(char::is_alphanumeric))
        .map(|word| format!("{word}:A"))
        .collect();
    if any_word.is_empty() {
        return Ok(results);
    }
    let mut values = Values { values: Vec::new(), postgres: true };
    let any_word = values.push(any_word.join(" | "));
    let text = values.push(query.text.as_str());
    let visible = visible(query, &mut values);
    let sql = format!(
        r#"SELECT "t"."id" AS "task_id", "t"."title" AS "title", "p"."title" AS "project_title"
           FROM "task_search" AS "s" JOIN "tasks" AS "t" ON "t"."id" = "s"."task_id"
             JOIN "projects" AS "p" ON "p"."id" = "t"."project_id"
           WHERE "s"."document" @@ to_tsquery("task_search_config"(), {any_word})
             AND NOT "s"."document" @@ plainto_tsquery("task_search_config"(), {text})
             AND "t"."delete_time" IS NULL AND "t"."project_id" IN ({visible})
           ORDER BY "s"."task_id" DESC LIMIT {TYPO_CANDIDATES}"#
    );
    let rows = txn.query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values.values)).await?;
    results.extend(typo_page(query, &rows, typo_after, rest)?);
    Ok(results)
}

/// The typo matches among `candidates` (`task_id`, `title`,
/// `project_title`): titles at least [`TYPO_THRESHOLD`] similar to the
/// query, after `typo_after`, best first, at most `rest`.
fn typo_page(
    query: &SearchQuery<'_>,
    candidates: &[sea_orm::QueryResult],
    typo_after: Option<After<'_>>,
    rest: u64,
) -> Result<Vec<Found>, sea_orm::DbErr> {
    let mut typos = Vec::new();
    for row in candidates {
        let task_id: String = row.try_get("", "task_id")?;
        let title: String = row.try_get("", "title")?;
        let score = query.text.title_similarity(&title).min(MAX_TYPO_SCORE);
        let later = match typo_after {
            None => true,
            Some((last_score, last_id)) => score < last_score || (score == last_score && task_id.as_str() > last_id),
        };
        if score >= TYPO_THRESHOLD && later {
            let snippet = title.replace([HIGHLIGHT_START, HIGHLIGHT_END], "");
            typos.push(Found { task_id, score, project_title: row.try_get("", "project_title")?, snippet });
        }
    }
    typos.sort_by(|left, right| right.score.total_cmp(&left.score).then_with(|| left.task_id.cmp(&right.task_id)));
    typos.truncate(usize::try_from(rest).unwrap_or(usize::MAX));
    Ok(typos)
}

/// The full-text page, then, if it is short, the typo matches after it:
/// up to [`TYPO_CANDIDATES`] titles sharing a trigram with the query, best
/// first by `bm25`, scored here.
async fn search_sqlite(txn: &impl ConnectionTrait, query: &SearchQuery<'_>) -> Result<Vec<Found>, TaskStoreError> {
    let (text_after, typo_after) = split_after(query.after);
    let all_words = query.text.fts5_all_words();
    let mut results = Vec::new();
    if let Some(text_after) = text_after {
        let mut values = Values { values: Vec::new(), postgres: false };
        let matched = values.push(all_words.clone());
        let visible_projects = visible(query, &mut values);
        let after_page = after(r#""score""#, r#""task_id""#, text_after, &mut values);
        let limit = query.limit;
        let sql = format!(
            r#"SELECT * FROM (
                 SELECT "k"."task_id" AS "task_id",
                   1.0 + (-bm25("task_search", 10.0, 4.0, 1.0)) / (1.0 - bm25("task_search", 10.0, 4.0, 1.0)) AS "score",
                   snippet("task_search", -1, char(57344), char(57345), '…', 16) AS "snippet",
                   "p"."title" AS "project_title"
                 FROM "task_search" JOIN "task_search_keys" AS "k" ON "k"."key" = "task_search"."rowid"
                   JOIN "tasks" AS "t" ON "t"."id" = "k"."task_id" JOIN "projects" AS "p" ON "p"."id" = "t"."project_id"
                 WHERE "task_search" MATCH {matched} AND "t"."delete_time" IS NULL
                   AND "t"."project_id" IN ({visible_projects})
               ) WHERE 1 = 1{after_page}
               ORDER BY "score" DESC, "task_id" LIMIT {limit}"#
        );
        let rows = txn.query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values.values)).await?;
        results = found_rows(&rows)?;
    }
    let rest = usize::try_from(query.limit).unwrap_or(usize::MAX).saturating_sub(results.len());
    let Some(any_trigram) = query.text.fts5_any_trigram().filter(|_| rest > 0) else {
        return Ok(results);
    };
    let mut values = Values { values: Vec::new(), postgres: false };
    let candidates = values.push(any_trigram);
    let matched = values.push(all_words);
    let visible_projects = visible(query, &mut values);
    let sql = format!(
        r#"SELECT "k"."task_id" AS "task_id", "t"."title" AS "title", "p"."title" AS "project_title"
           FROM "task_trigrams" JOIN "task_search_keys" AS "k" ON "k"."key" = "task_trigrams"."rowid"
             JOIN "tasks" AS "t" ON "t"."id" = "k"."task_id" JOIN "projects" AS "p" ON "p"."id" = "t"."project_id"
           WHERE "task_trigrams" MATCH {candidates}
             AND "task_trigrams"."rowid" NOT IN (SELECT "rowid" FROM "task_search" WHERE "task_search" MATCH {matched})
             AND "t"."delete_time" IS NULL AND "t"."project_id" IN ({visible_projects})
           ORDER BY "task_trigrams"."rank" LIMIT {TYPO_CANDIDATES}"#
    );
    let rows = txn.query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values.values)).await?;
    results.extend(typo_page(query, &rows, typo_after, rest as u64)?);
    Ok(results)
}
