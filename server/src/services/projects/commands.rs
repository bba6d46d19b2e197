//! `ProjectService` requests parsed into commands: every field is checked
//! and one INVALID_ARGUMENT names every violation.

use tasktracker_proto::v1;

use crate::{
    auth::Role,
    domain::{
        Email, Invalid, InvitationName, MemberName, ProjectDescription, ProjectId, ProjectTitle, RequestId, UserId,
        Violations, page::PageRequest,
    },
    storage::{
        invitations::Invitee,
        projects::{NewProject, ProjectChange},
    },
};

/// Default and maximum page size of both lists.
const PAGE_SIZES: (u64, u64) = (50, 200);

impl TryFrom<v1::CreateProjectRequest> for NewProject {
    type Error = Invalid;

    fn try_from(request: v1::CreateProjectRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.required("project", &request.project);
        let title = project.and_then(|project| violations.check(ProjectTitle::parse("project.title", &project.title)));
        let description = project.and_then(|project| {
            violations.check(ProjectDescription::parse("project.description", &project.description))
        });
        let request_id = violations.check(RequestId::parse("request_id", &request.request_id, || {
            use prost::Message as _;
            v1::CreateProjectRequest { request_id: String::new(), ..request.clone() }.encode_to_vec()
        }));
        violations.complete(|| Some(Self { title: title?, description: description?, request_id: request_id? }))
    }
}

/// `GetProject`.
pub struct GetProject {
    pub project: ProjectId,
}

impl TryFrom<v1::GetProjectRequest> for GetProject {
    type Error = Invalid;

    fn try_from(request: v1::GetProjectRequest) -> Result<Self, Invalid> {
        Ok(Self { project: ProjectId::parse_name("name", &request.name)? })
    }
}

/// `ListProjects`.
pub struct ListProjects {
    pub page: PageRequest,
    pub show_archived: bool,
}

impl TryFrom<v1::ListProjectsRequest> for ListProjects {
    type Error = Invalid;

    fn try_from(request: v1::ListProjectsRequest) -> Result<Self, Invalid> {
        let v1::ListProjectsRequest { page_size, page_token, show_archived } = request;
        let mut violations = Violations::default();
        let fingerprint = format!("projects archived={show_archived}");
        let page = PageRequest::parse(&mut violations, page_size, &page_token, PAGE_SIZES, fingerprint);
        violations.complete(|| Some(Self { page: page?, show_archived }))
    }
}

/// `UpdateProject`: the fields the mask names.
pub struct UpdateProject {
    pub project: ProjectId,
    pub etag: String,
    pub change: ProjectChange,
}

impl TryFrom<v1::UpdateProjectRequest> for UpdateProject {
    type Error = Invalid;

    fn try_from(request: v1::UpdateProjectRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.required("project", &request.project);
        let id = project.and_then(|project| violations.check(ProjectId::parse_name("project.name", &project.name)));
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths.is_empty() {
            violations.add(
                "update_mask",
                "name at least one field: title, description, enforce_wip_limits, require_blockers_done, \
                 require_two_factor",
            );
        }
        let mut change = ProjectChange::default();
        for path in &paths {
            match path.as_str() {
                "title" => {
                    change.title = project
                        .and_then(|project| violations.check(ProjectTitle::parse("project.title", &project.title)))
                }
                "description" => {
                    change.description = project.and_then(|project| {
                        violations.check(ProjectDescription::parse("project.description", &project.description))
                    })
                }
                "enforce_wip_limits" => change.enforce_wip_limits = project.map(|project| project.enforce_wip_limits),
                "require_blockers_done" => {
                    change.require_blockers_done = project.map(|project| project.require_blockers_done)
                }
                "require_two_factor" => change.require_two_factor = project.map(|project| project.require_two_factor),
                other => violations.add(
                    "update_mask",
                    format!(
                        "`{other}` cannot be updated; use title, description, enforce_wip_limits, \
                         require_blockers_done, require_two_factor"
                    ),
                ),
            }
        }
        violations.complete(|| Some(Self { project: id?, etag: project?.etag.clone(), change }))
    }
}

/// `ArchiveProject` and `UnarchiveProject`.
pub struct SetArchived {
    pub project: ProjectId,
    pub etag: String,
    pub archived: bool,
}

impl SetArchived {
    fn parse(name: &str, etag: String, archived: bool) -> Result<Self, Invalid> {
        Ok(Self { project: ProjectId::parse_name("name", name)?, etag, archived })
    }
}

impl TryFrom<v1::ArchiveProjectRequest> for SetArchived {
    type Error = Invalid;

    fn try_from(request: v1::ArchiveProjectRequest) -> Result<Self, Invalid> {
        Self::parse(&request.name, request.etag, true)
    }
}

impl TryFrom<v1::UnarchiveProjectRequest> for SetArchived {
    type Error = Invalid;

    fn try_from(request: v1::UnarchiveProjectRequest) -> Result<Self, Invalid> {
        Self::parse(&request.name, request.etag, false)
    }
}

/// `ListMembers`.
pub struct ListMembers {
    pub project: ProjectId,
    pub page: PageRequest,
}

impl TryFrom<v1::ListMembersRequest> for ListMembers {
    type Error = Invalid;

    fn try_from(request: v1::ListMembersRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let page = PageRequest::parse(&mut violations, request.page_size, &request.page_token, PAGE_SIZES, "members");
        violations.complete(|| Some(Self { project: project?, page: page? }))
    }
}

/// `AddMember`: an invitation, to a user named by email or id, with a role.
pub struct AddMember {
    pub project: ProjectId,
    pub invitee: Invitee,
    pub role: Role,
}

/// The invitee a request names: `{prefix}.user` if set, else
/// `{prefix}.email`.
fn invitee(violations: &mut Violations, prefix: &str, user: &str, email: &str) -> Option<Invitee> {
    match (user.is_empty(), email.is_empty()) {
        (false, _) => match UserId::parse_name(&format!("{prefix}.user"), user) {
            Ok(user) => Some(Invitee::User(user)),
            Err(_) => {
                violations.add(format!("{prefix}.user"), "must be `users/{user}`");
                None
            }
        },
        (true, false) => violations.check(Email::parse(&format!("{prefix}.email"), email)).map(Invitee::Email),
        (true, true) => {
            violations.add(format!("{prefix}.email"), format!("set `{prefix}.email` (or `{prefix}.user`)"));
            None
        }
    }
}

impl TryFrom<v1::AddMemberRequest> for AddMember {
    type Error = Invalid;

    fn try_from(request: v1::AddMemberRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let member = violations.required("member", &request.member);
        let role = member.and_then(|member| violations.check(Role::from_proto("member.role", member.role)));
        let invitee = member.and_then(|member| invitee(&mut violations, "member", &member.user, &member.email));
        violations.complete(|| Some(Self { project: project?, invitee: invitee?, role: role? }))
    }
}

/// `CreateInvitation`.
pub struct CreateInvitation {
    pub project: ProjectId,
    pub invitee: Invitee,
    pub role: Role,
}

impl TryFrom<v1::CreateInvitationRequest> for CreateInvitation {
    type Error = Invalid;

    fn try_from(request: v1::CreateInvitationRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let invitation = violations.required("invitation", &request.invitation);
        let role =
            invitation.and_then(|invitation| violations.check(Role::from_proto("invitation.role", invitation.role)));
        let invitee = invitation
            .and_then(|invitation| invitee(&mut violations, "invitation", &invitation.user, &invitation.email));
        violations.complete(|| Some(Self { project: project?, invitee: invitee?, role: role? }))
    }
}

/// `ListInvitations`.
pub struct ListInvitations {
    pub project: ProjectId,
    pub page: PageRequest,
}

impl TryFrom<v1::ListInvitationsRequest> for ListInvitations {
    type Error = Invalid;

    fn try_from(request: v1::ListInvitationsRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let page =
            PageRequest::parse(&mut violations, request.page_size, &request.page_token, PAGE_SIZES, "invitations");
        violations.complete(|| Some(Self { project: project?, page: page? }))
    }
}

/// `ListMyInvitations`.
pub struct ListMyInvitations {
    pub page: PageRequest,
}

impl TryFrom<v1::ListMyInvitationsRequest> for ListMyInvitations {
    type Error = Invalid;

    fn try_from(request: v1::ListMyInvitationsRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let page =
            PageRequest::parse(&mut violations, request.page_size, &request.page_token, PAGE_SIZES, "my invitations");
        violations.complete(|| Some(Self { page: page? }))
    }
}

/// `RevokeInvitation`, `AcceptInvitation`, `DeclineInvitation`: one
/// invitation by name.
pub struct NamedInvitation {
    pub name: InvitationName,
}

macro_rules! named_invitation {
    ($($request:ty),*) => {$(
        impl TryFrom<$request> for NamedInvitation {
            type Error = Invalid;

            fn try_from(request: $request) -> Result<Self, Invalid> {
                Ok(Self { name: InvitationName::parse("name", &request.name)? })
            }
        }
    )*};
}

named_invitation!(v1::RevokeInvitationRequest, v1::AcceptInvitationRequest, v1::DeclineInvitationRequest);

/// `UpdateMember`: only the role changes.
pub struct UpdateMember {
    pub name: MemberName,
    pub role: Role,
}

impl TryFrom<v1::UpdateMemberRequest> for UpdateMember {
    type Error = Invalid;

    fn try_from(request: v1::UpdateMemberRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let member = violations.required("member", &request.member);
        let name = member.and_then(|member| violations.check(MemberName::parse("member.name", &member.name)));
        if request.update_mask.map(|mask| mask.paths).unwrap_or_default() != ["role"] {
            violations.add("update_mask", "only `role` can be updated");
        }
        let role = member.and_then(|member| violations.check(Role::from_proto("member.role", member.role)));
        violations.complete(|| Some(Self { name: name?, role: role? }))
    }
}

/// `RemoveMember`.
pub struct RemoveMember {
    pub name: MemberName,
}

impl TryFrom<v1::RemoveMemberRequest> for RemoveMember {
    type Error = Invalid;

    fn try_from(request: v1::RemoveMemberRequest) -> Result<Self, Invalid> {
        Ok(Self { name: MemberName::parse("name", &request.name)? })
    }
}
