//! TOTP two-factor authentication (RFC 6238).
//!
//! - `totp_credentials`: one row per user who began enrolling. `secret` is
//!   the shared secret (base32); `confirm_time` is NULL until the user
//!   proves their authenticator works, and only a confirmed row asks for a
//!   second factor. `last_step` is the last time step (Unix time / 30 s)
//!   whose code was accepted: a code of that step or an earlier one is a
//!   replay and is refused, decided by one compare-and-swap `UPDATE`.
//! - `recovery_codes`: ten one-time codes per confirmed user, stored as
//!   SHA-256 digests (they carry 50 random bits each, and a slow hash would
//!   add nothing against an online guesser that the rate limit does not
//!   already stop); `use_time` marks one spent, again by one `UPDATE`.
//! - `projects.require_two_factor`, NOT NULL with a default (false), so the
//!   previous release's inserts (which do not name it) still work, and it
//!   simply does not enforce the setting.
//!
//! New tables and a defaulted column only: the previous release keeps
//! working, and signs users in with their password alone (it knows nothing
//! of the second factor) until it is gone. Rows go with their user
//! (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261222_000001_totp"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TotpCredentials::Table)
                    .col(ColumnDef::new(TotpCredentials::UserId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(TotpCredentials::Secret).string_len(64).not_null())
                    .col(ColumnDef::new(TotpCredentials::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(TotpCredentials::ConfirmTime).big_integer().null())
                    .col(ColumnDef::new(TotpCredentials::LastStep).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(TotpCredentials::Table, TotpCredentials::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(ColumnDef::new(RecoveryCodes::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(RecoveryCodes::CodeHash).string_len(64).not_null())
                    .col(ColumnDef::new(RecoveryCodes::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(RecoveryCodes::UseTime).big_integer().null())
                    .primary_key(Index::create().col(RecoveryCodes::UserId).col(RecoveryCodes::CodeHash))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecoveryCodes::Table, RecoveryCodes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Projects::Table)
                    .add_column(ColumnDef::new(Projects::RequireTwoFactor).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Projects::Table).drop_column(Projects::RequireTwoFactor).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(RecoveryCodes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TotpCredentials::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TotpCredentials {
    Table,
    UserId,
    Secret,
    CreateTime,
    ConfirmTime,
    LastStep,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    UserId,
    CodeHash,
    CreateTime,
    UseTime,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    RequireTwoFactor,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
