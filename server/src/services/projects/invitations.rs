//! Invitations: the owners' side (`AddMember`, `CreateInvitation`,
//! `ListInvitations`, `RevokeInvitation`) and the invitee's
//! (`ListMyInvitations`, `AcceptInvitation`, `DeclineInvitation`).
//!
//! Inviting never reads `users`: the answer is the same whether or not an
//! account has the address, so it cannot be used to find accounts. Only the
//! invitee (the signed-in user whose account email, or user id, the
//! invitation names) may see, accept or decline it; anyone else gets
//! PERMISSION_DENIED, as for an invitation that does not exist.

use tasktracker_proto::v1;

use super::{Projects, commands::NamedInvitation, member_to_proto};
use crate::{
    auth::{Caller, Permission, Role},
    domain::{
        InvitationId, InvitationName, ProjectId, UserId,
        page::PageRequest,
        time::{self, Micros, to_optional_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    storage::{
        entities::{invitations, users},
        invitations::{InvitationStoreError, Invitee, NewInvitation, addressed_to, keys_of, state},
        projects::Member,
    },
};

impl From<InvitationStoreError> for ServiceError {
    fn from(error: InvitationStoreError) -> Self {
        match error {
            InvitationStoreError::Database(error) => error.into(),
            InvitationStoreError::NotFound => Self::NotFound("invitation"),
            InvitationStoreError::NotPending(row) => Self::FailedPrecondition(
                match stored_state(&row, time::now()) {
                    state::ACCEPTED => "the invitation was already accepted",
                    state::DECLINED => "the invitation was declined",
                    state::REVOKED => "the invitation was withdrawn",
                    _ => "the invitation has expired; ask an owner of the project for a new one",
                }
                .into(),
            ),
        }
    }
}

/// The state to report: a pending invitation past its expiry is EXPIRED.
fn stored_state(row: &invitations::Model, now: Micros) -> i16 {
    if row.state == state::PENDING && row.expire_time <= now { state::EXPIRED } else { row.state }
}

fn invitation_name(row: &invitations::Model) -> InvitationName {
    InvitationName { project: ProjectId::from_stored(&row.project_id), invitation: InvitationId::from_stored(&row.id) }
}

/// An invitation as its project's owners see it.
pub(super) fn invitation_to_proto(row: invitations::Model, now: Micros) -> v1::Invitation {
    v1::Invitation {
        name: invitation_name(&row).to_string(),
        state: i32::from(stored_state(&row, now)),
        email: row.email,
        user: row.invitee_id.as_deref().map(|id| UserId::from_stored(id).name()).unwrap_or_default(),
        role: Role::from_stored(row.role).to_proto() as i32,
        inviter: UserId::from_stored(&row.inviter_id).name(),
        create_time: Some(to_timestamp(row.create_time)),
        expire_time: Some(to_timestamp(row.expire_time)),
        resolve_time: to_optional_timestamp(row.resolve_time),
        project_title: String::new(),
        inviter_display_name: String::new(),
    }
}

impl Projects {
    /// Makes (or renews) an invitation for `invitee` in a project the
    /// caller owns.
    async fn invite(
        &self,
        caller: &Caller,
        project: ProjectId,
        invitee: Invitee,
        role: Role,
    ) -> ServiceResult<invitations::Model> {
        self.shared.authorizer.require(caller, project, Permission::Manage).await?;
        let mail = self.shared.mailer.is_some();
        let new = NewInvitation { project, invitee, role, inviter: caller.user, mail };
        let row = self.shared.invitations.invite(new, time::now()).await?;
        tracing::info!(%project, invitation = %row.id, "invitation made");
        Ok(row)
    }

    /// `AddMember`: an invitation, answered as a Member in state INVITED
    /// that carries only what the caller sent (the invitee, the role), the
    /// invitation's name and its create time.
    pub(super) async fn add_member_by_invitation(
        &self,
        caller: &Caller,
        project: ProjectId,
        invitee: Invitee,
        role: Role,
    ) -> ServiceResult<v1::Member> {
        let (user, email) = match &invitee {
            Invitee::User(user) => (user.name(), String::new()),
            Invitee::Email(email) => (String::new(), email.as_str().to_owned()),
        };
        let row = self.invite(caller, project, invitee, role).await?;
        Ok(v1::Member {
            name: String::new(),
            user,
            email,
            display_name: String::new(),
            role: role.to_proto() as i32,
            create_time: Some(to_timestamp(row.create_time)),
            state: v1::MemberState::Invited as i32,
            invitation: invitation_name(&row).to_string(),
        })
    }

    pub(super) async fn create_invitation_for(
        &self,
        caller: &Caller,
        project: ProjectId,
        invitee: Invitee,
        role: Role,
    ) -> ServiceResult<v1::Invitation> {
        let row = self.invite(caller, project, invitee, role).await?;
        Ok(invitation_to_proto(row, time::now()))
    }

    pub(super) async fn list_invitations_of(
        &self,
        caller: &Caller,
        project: ProjectId,
        page: PageRequest,
    ) -> ServiceResult<v1::ListInvitationsResponse> {
        self.shared.authorizer.require(caller, project, Permission::Manage).await?;
        let now = time::now();
        let mut rows = self.shared.invitations.list_pending(project, &page, now).await?;
        let next_page_token = page.finish(&mut rows, |row| (None, row.id.clone()));
        let invitations = rows.into_iter().map(|row| invitation_to_proto(row, now)).collect();
        Ok(v1::ListInvitationsResponse { invitations, next_page_token })
    }

    pub(super) async fn revoke_invitation_named(
        &self,
        caller: &Caller,
        NamedInvitation { name }: NamedInvitation,
    ) -> ServiceResult<v1::Invitation> {
        self.shared.authorizer.require(caller, name.project, Permission::Manage).await?;
        let now = time::now();
        let row = self.shared.invitations.resolve(name.project, name.invitation, state::REVOKED, now).await?;
        Ok(invitation_to_proto(row, now))
    }

    /// The signed-in caller's account (invitations are answered by people,
    /// not API tokens).
    async fn invitee(&self, caller: &Caller) -> ServiceResult<users::Model> {
        self.shared.authorizer.account(caller)?;
        self.shared
            .accounts
            .user(caller.user)
            .await?
            .ok_or(ServiceError::Unauthenticated("the account no longer exists"))
    }

    /// Invitation `name`, if it is addressed to `user`; PERMISSION_DENIED
    /// otherwise, as for one that does not exist.
    async fn addressed(&self, user: &users::Model, name: InvitationName) -> ServiceResult<invitations::Model> {
        let row = self.shared.invitations.get(name.project, name.invitation).await?;
        row.filter(|row| addressed_to(row, user)).ok_or(ServiceError::PermissionDenied)
    }

    pub(super) async fn list_my_invitations_of(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> ServiceResult<v1::ListMyInvitationsResponse> {
        let user = self.invitee(caller).await?;
        let now = time::now();
        let mut rows = self.shared.invitations.list_received(&keys_of(&user), &page, now).await?;
        let next_page_token = page.finish(&mut rows, |row| (None, row.invitation.id.clone()));
        let invitations = rows
            .into_iter()
            .map(|received| v1::Invitation {
                project_title: received.project_title,
                inviter_display_name: received.inviter_display_name,
                ..invitation_to_proto(received.invitation, now)
            })
            .collect();
        Ok(v1::ListMyInvitationsResponse { invitations, next_page_token })
    }

    pub(super) async fn accept_invitation_named(
        &self,
        caller: &Caller,
        NamedInvitation { name }: NamedInvitation,
    ) -> ServiceResult<v1::AcceptInvitationResponse> {
        let user = self.invitee(caller).await?;
        self.addressed(&user, name).await?;
        let now = time::now();
        let (invitation, membership) =
            self.shared.invitations.accept(name.project, name.invitation, caller.user, now).await?;
        tracing::info!(project = %name.project, invitation = %name.invitation, "invitation accepted");
        Ok(v1::AcceptInvitationResponse {
            invitation: Some(invitation_to_proto(invitation, now)),
            member: Some(member_to_proto(Member { membership, user: Some(user) })),
        })
    }

    pub(super) async fn decline_invitation_named(
        &self,
        caller: &Caller,
        NamedInvitation { name }: NamedInvitation,
    ) -> ServiceResult<v1::Invitation> {
        let user = self.invitee(caller).await?;
        self.addressed(&user, name).await?;
        let now = time::now();
        let row = self.shared.invitations.resolve(name.project, name.invitation, state::DECLINED, now).await?;
        Ok(invitation_to_proto(row, now))
    }
}
