//! Idempotent creates remember what they were asked: `request_hash`, the
//! SHA-256 of the create request (without its `request_id`), next to the
//! `request_id` of tasks and projects. A retry with the same key and a
//! different request is then refused instead of answered with the first
//! request's object.
//!
//! Expand only, so the previous release keeps working on the new schema:
//! nullable columns it never names. Rows it (or any earlier release) made
//! have none, and a retry of those is answered as before.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261215_000001_request_fingerprints"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Fingerprinted::Tasks, Fingerprinted::Projects] {
            let column = ColumnDef::new(Fingerprinted::RequestHash).string_len(64).null().to_owned();
            manager.alter_table(Table::alter().table(table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Fingerprinted::Tasks, Fingerprinted::Projects] {
            manager.alter_table(Table::alter().table(table).drop_column(Fingerprinted::RequestHash).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Fingerprinted {
    Tasks,
    Projects,
    RequestHash,
}
