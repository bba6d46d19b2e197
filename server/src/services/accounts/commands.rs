//! `AccountService` requests, parsed: each names every invalid field at once.

use tasktracker_proto::v1;

use crate::{
    auth::Scope,
    domain::{
        DisplayName, Email, FieldViolation, Invalid, NewPassword, ProjectId, TimeZoneName, Violations,
        names::{ApiTokenName, SessionName},
        page::PageRequest,
        time::{self, from_timestamp},
    },
    storage::accounts::ProfileChange,
};

/// Default and maximum lifetime of an API token.
const API_TOKEN_DEFAULT_LIFETIME: i64 = time::seconds(90 * time::DAY);
const API_TOKEN_MAX_LIFETIME: i64 = time::seconds(366 * time::DAY);

/// Default and maximum `page_size` of `ListApiTokens` and `ListSessions`.
const API_TOKEN_PAGE: (u64, u64) = (50, 200);

/// `SignUp`.
pub struct SignUp {
    pub email: Email,
    pub password: NewPassword,
    pub display_name: DisplayName,
}

impl TryFrom<v1::SignUpRequest> for SignUp {
    type Error = Invalid;

    fn try_from(request: v1::SignUpRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let email = violations.check(Email::parse("email", &request.email));
        let password = violations.check(NewPassword::parse("password", &request.password));
        let display_name = violations.check(DisplayName::parse("display_name", &request.display_name));
        violations.finish()?;
        let (Some(email), Some(password), Some(display_name)) = (email, password, display_name) else {
            unreachable!("violations.finish() returned early");
        };
        Ok(Self { email, password, display_name })
    }
}

/// `SignIn`.
pub struct SignIn {
    pub email: Email,
    pub password: String,
}

impl TryFrom<v1::SignInRequest> for SignIn {
    type Error = Invalid;

    fn try_from(request: v1::SignInRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let email = violations.check(Email::parse("email", &request.email));
        if request.password.is_empty() {
            violations.add("password", "is required");
        }
        violations.finish()?;
        let Some(email) = email else { unreachable!("violations.finish() returned early") };
        Ok(Self { email, password: request.password })
    }
}

/// `RefreshSession`.
pub struct RefreshSession {
    pub refresh_token: String,
}

impl TryFrom<v1::RefreshSessionRequest> for RefreshSession {
    type Error = Invalid;

    fn try_from(request: v1::RefreshSessionRequest) -> Result<Self, Invalid> {
        if request.refresh_token.is_empty() {
            return Err(FieldViolation::new("refresh_token", "is required").into());
        }
        Ok(Self { refresh_token: request.refresh_token })
    }
}

/// `CreateApiToken`.
pub struct CreateApiToken {
    pub display_name: DisplayName,
    pub scope: Scope,
    /// The one project the token may act on, if restricted.
    pub project: Option<ProjectId>,
    /// When the request was parsed: the token's create time.
    pub create_time: i64,
    pub expire_time: i64,
}

impl TryFrom<v1::CreateApiTokenRequest> for CreateApiToken {
    type Error = Invalid;

    fn try_from(request: v1::CreateApiTokenRequest) -> Result<Self, Invalid> {
        let token = request.api_token.ok_or_else(|| FieldViolation::new("api_token", "is required"))?;
        let now = time::now();
        let mut violations = Violations::default();
        let display_name = violations.check(DisplayName::parse("api_token.display_name", &token.display_name));
        let scope = violations.check(Scope::from_proto("api_token.scope", token.scope));
        let project = if token.project.is_empty() {
            None
        } else {
            let project = ProjectId::parse_name("api_token.project", &token.project)
                .map_err(|_| FieldViolation::new("api_token.project", "must be `projects/{project}` or empty"));
            violations.check(project)
        };
        let expire_time = match &token.expire_time {
            None => Some(now + API_TOKEN_DEFAULT_LIFETIME),
            Some(timestamp) => match from_timestamp("api_token.expire_time", timestamp) {
                Ok(expire) if expire > now && expire <= now + API_TOKEN_MAX_LIFETIME => Some(expire),
                _ => {
                    violations.add("api_token.expire_time", "must be in the future and at most a year ahead");
                    None
                }
            },
        };
        violations.finish()?;
        let (Some(display_name), Some(scope), Some(expire_time)) = (display_name, scope, expire_time) else {
            unreachable!("violations.finish() returned early");
        };
        Ok(Self { display_name, scope, project, create_time: now, expire_time })
    }
}

/// `ListApiTokens`.
pub struct ListApiTokens {
    pub page: PageRequest,
}

impl TryFrom<v1::ListApiTokensRequest> for ListApiTokens {
    type Error = Invalid;

    fn try_from(request: v1::ListApiTokensRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let page =
            PageRequest::parse(&mut violations, request.page_size, &request.page_token, API_TOKEN_PAGE, "api_tokens");
        violations.finish()?;
        let Some(page) = page else { unreachable!("violations.finish() returned early") };
        Ok(Self { page })
    }
}

/// `RevokeApiToken`.
pub struct RevokeApiToken {
    pub name: ApiTokenName,
}

impl TryFrom<v1::RevokeApiTokenRequest> for RevokeApiToken {
    type Error = Invalid;

    fn try_from(request: v1::RevokeApiTokenRequest) -> Result<Self, Invalid> {
        Ok(Self { name: ApiTokenName::parse("name", &request.name)? })
    }
}

/// `ListSessions`.
pub struct ListSessions {
    pub page: PageRequest,
}

impl TryFrom<v1::ListSessionsRequest> for ListSessions {
    type Error = Invalid;

    fn try_from(request: v1::ListSessionsRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let page =
            PageRequest::parse(&mut violations, request.page_size, &request.page_token, API_TOKEN_PAGE, "sessions");
        violations.complete(|| Some(Self { page: page? }))
    }
}

/// `RevokeSession`.
pub struct RevokeSession {
    pub name: SessionName,
}

impl TryFrom<v1::RevokeSessionRequest> for RevokeSession {
    type Error = Invalid;

    fn try_from(request: v1::RevokeSessionRequest) -> Result<Self, Invalid> {
        Ok(Self { name: SessionName::parse("name", &request.name)? })
    }
}

/// `UpdateCurrentUser`.
pub struct UpdateCurrentUser {
    pub change: ProfileChange,
}

impl TryFrom<v1::UpdateCurrentUserRequest> for UpdateCurrentUser {
    type Error = Invalid;

    fn try_from(request: v1::UpdateCurrentUserRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let user = violations.required("user", &request.user);
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        let mut change = ProfileChange::default();
        for path in violations.update_mask(&paths, &["display_name", "time_zone"]) {
            let Some(user) = user else { continue };
            match path {
                "display_name" => {
                    change.display_name = violations
                        .check(DisplayName::parse("user.display_name", &user.display_name))
                        .map(DisplayName::into_inner);
                }
                _ => {
                    change.time_zone = violations
                        .check(TimeZoneName::parse("user.time_zone", &user.time_zone))
                        .map(TimeZoneName::into_inner);
                }
            }
        }
        violations.finish()?;
        Ok(Self { change })
    }
}
