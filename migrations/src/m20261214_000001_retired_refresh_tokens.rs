//! Refresh token reuse detection: the digests of refresh tokens a session
//! has rotated away from. Presenting one again means the token was copied
//! (by an attacker, or the user's copy was): the whole session is revoked
//! (the OAuth 2.0 Security BCP's refresh token rotation).
//!
//! A new table only, so the previous release keeps working: it rotates
//! without recording the old digest, so reuse of a token it rotated is
//! refused (as it always was) but not detected. Rows go with their session
//! (`ON DELETE CASCADE`) and lookups are by digest (the primary key).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261214_000001_retired_refresh_tokens"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RetiredRefreshTokens::Table)
                    .col(ColumnDef::new(RetiredRefreshTokens::RefreshHash).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(RetiredRefreshTokens::SessionId).string_len(36).not_null())
                    .col(ColumnDef::new(RetiredRefreshTokens::RetireTime).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(RetiredRefreshTokens::Table, RetiredRefreshTokens::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The cascade from a deleted session finds its rows through it.
        manager
            .create_index(
                Index::create()
                    .name("retired_refresh_tokens_by_session")
                    .table(RetiredRefreshTokens::Table)
                    .col(RetiredRefreshTokens::SessionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RetiredRefreshTokens::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum RetiredRefreshTokens {
    Table,
    RefreshHash,
    SessionId,
    RetireTime,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}
