//! Editable comments: when a comment was last edited, when it was deleted,
//! and a version for its etag.
//!
//! Expand only, so the previous release keeps working on the new schema:
//! three columns it never names, each with a default that suits the rows it
//! inserts (`edit_time` and `delete_time` NULL: never edited, not deleted;
//! `version` 0). During a rolling deploy the previous release still lists a
//! comment the new one has deleted (it knows no `delete_time`); its text is
//! kept, so nothing is lost either way, and the window ends with the deploy.
//!
//! Listing a task's comments stays on the primary key order it uses today
//! (`task_id` filter, `id` order): deleted comments are few, so they are
//! filtered out of the page rather than indexed away.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261212_000001_comment_edits"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            ColumnDef::new(Comments::EditTime).big_integer().null().to_owned(),
            ColumnDef::new(Comments::DeleteTime).big_integer().null().to_owned(),
            ColumnDef::new(Comments::Version).big_integer().not_null().default(0).to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Comments::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Comments::Version, Comments::DeleteTime, Comments::EditTime] {
            manager.alter_table(Table::alter().table(Comments::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    EditTime,
    DeleteTime,
    Version,
}
