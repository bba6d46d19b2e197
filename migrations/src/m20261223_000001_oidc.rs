//! OpenID Connect sign-in.
//!
//! - `oidc_logins`: one row per sign-in started with an identity provider,
//!   keyed by the SHA-256 digest of its `state` (the state travels in URLs;
//!   the digest alone cannot complete a sign-in). It keeps what completing
//!   needs: the provider, the nonce, the PKCE verifier and the redirect URI.
//!   `use_time` is set by the one `UPDATE` that completes it, so a state is
//!   accepted once (replay); rows lapse at `expire_time` and are pruned.
//! - `user_identities`: which user a provider's subject (`sub`) is, so later
//!   sign-ins find the user by subject and never by email again.
//!
//! New tables only: the previous release keeps working and ignores them.
//! Identities go with their user (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261223_000001_oidc"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OidcLogins::Table)
                    .col(ColumnDef::new(OidcLogins::StateHash).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(OidcLogins::Provider).string_len(32).not_null())
                    .col(ColumnDef::new(OidcLogins::Nonce).string_len(128).not_null())
                    .col(ColumnDef::new(OidcLogins::PkceVerifier).string_len(128).not_null())
                    .col(ColumnDef::new(OidcLogins::RedirectUri).string_len(2048).not_null())
                    .col(ColumnDef::new(OidcLogins::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(OidcLogins::ExpireTime).big_integer().not_null())
                    .col(ColumnDef::new(OidcLogins::UseTime).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("oidc_logins_expire_time")
                    .table(OidcLogins::Table)
                    .col(OidcLogins::ExpireTime)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserIdentities::Table)
                    .col(ColumnDef::new(UserIdentities::Provider).string_len(32).not_null())
                    .col(ColumnDef::new(UserIdentities::Subject).string_len(255).not_null())
                    .col(ColumnDef::new(UserIdentities::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(UserIdentities::Email).string_len(320).not_null())
                    .col(ColumnDef::new(UserIdentities::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(UserIdentities::LastSignInTime).big_integer().not_null())
                    .primary_key(Index::create().col(UserIdentities::Provider).col(UserIdentities::Subject))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserIdentities::Table, UserIdentities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_identities_user_id")
                    .table(UserIdentities::Table)
                    .col(UserIdentities::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UserIdentities::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OidcLogins::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum OidcLogins {
    Table,
    StateHash,
    Provider,
    Nonce,
    PkceVerifier,
    RedirectUri,
    CreateTime,
    ExpireTime,
    UseTime,
}

#[derive(DeriveIden)]
enum UserIdentities {
    Table,
    Provider,
    Subject,
    UserId,
    Email,
    CreateTime,
    LastSignInTime,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
